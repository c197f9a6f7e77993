"""ONNX loading: external data only from inside the model's folder, sizes checked before reading."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from workbench.core.errors import ModelLoadError, UnsafeModelError
from workbench.core.io import InputSpec, ModelFormat, load

IR = 10  # onnxruntime 1.2x runs IR <= 13; onnx 1.23's helper would stamp 14


def _set_external(model: onnx.ModelProto, tensor: str, **entries: object) -> None:
    """Rewrite one initializer's external-data entries (location/offset/length)."""
    for init in model.graph.initializer:
        if init.name == tensor:
            current = {e.key: e.value for e in init.external_data}
            current.update({k: str(v) for k, v in entries.items() if v is not None})
            for key in [k for k, v in entries.items() if v is None]:
                current.pop(key, None)
            del init.external_data[:]
            for key, value in current.items():
                init.external_data.add(key=key, value=value)
            return
    raise AssertionError(f"no initializer {tensor}")


def _rewrite(path: Path, tensor: str, **entries: object) -> None:
    model = onnx.load_model(path, load_external_data=False)
    _set_external(model, tensor, **entries)
    path.write_bytes(model.SerializeToString())


def test_onnx_loads_with_input_spec_and_runs(onnx_file: Path) -> None:
    loaded = load(onnx_file)
    assert loaded.format is ModelFormat.ONNX and loaded.framework == "onnx"
    assert loaded.inputs == [InputSpec("x", (1, 16), "float32")]
    assert loaded.module is None and loaded.file_size == onnx_file.stat().st_size
    assert loaded.notes == []  # a symbolic batch alone needs no note
    session = ort.InferenceSession(loaded.onnx_model.SerializeToString())
    (y,) = session.run(None, {"x": np.ones((1, 16), np.float32)})
    assert y.shape == (1, 8)


def test_external_data_loads_and_equals_the_original(
    external_onnx: tuple[Path, onnx.ModelProto],
) -> None:
    path, original = external_onnx
    stored = onnx.load_model(path, load_external_data=False)
    assert all(t.data_location == TensorProto.EXTERNAL for t in stored.graph.initializer)
    loaded = load(path)
    for got, want in zip(
        loaded.onnx_model.graph.initializer, original.graph.initializer, strict=True
    ):
        assert got.name == want.name
        np.testing.assert_array_equal(numpy_helper.to_array(got), numpy_helper.to_array(want))


def test_external_data_at_an_absolute_path_is_refused(
    external_onnx: tuple[Path, onnx.ModelProto], tmp_path: Path
) -> None:
    path, _ = external_onnx
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"\0" * 512)
    _rewrite(path, "W", location=str(outside))
    with pytest.raises(UnsafeModelError) as info:
        load(path, trust=True)
    assert info.value.message == (
        f"model.onnx: tensor 'W' points to external data at an absolute path ({outside}); "
        "only files inside the model's folder are read"
    )


def test_external_data_climbing_out_with_dotdot_is_refused(
    external_onnx: tuple[Path, onnx.ModelProto], tmp_path: Path
) -> None:
    path, _ = external_onnx
    (tmp_path / "secret.bin").write_bytes(b"\0" * 512)
    _rewrite(path, "W", location="../secret.bin")
    with pytest.raises(UnsafeModelError, match=r"'\.\./secret\.bin', which leaves the model's"):
        load(path)
    _rewrite(path, "W", location="sub/../../secret.bin")
    with pytest.raises(UnsafeModelError, match="leaves the model's folder"):
        load(path)


def test_external_data_symlink_leading_out_is_refused(
    external_onnx: tuple[Path, onnx.ModelProto], tmp_path: Path
) -> None:
    path, _ = external_onnx
    outside = tmp_path / "elsewhere.bin"
    outside.write_bytes((path.parent / "weights.bin").read_bytes())
    (path.parent / "link.bin").symlink_to(outside)
    _rewrite(path, "W", location="link.bin")
    with pytest.raises(UnsafeModelError, match=r"'link\.bin' is a link leading outside the"):
        load(path)
    # ONNX follows no links at all; one that stays inside still gets a clear message.
    (path.parent / "inside.bin").symlink_to(path.parent / "weights.bin")
    _rewrite(path, "W", location="inside.bin")
    with pytest.raises(ModelLoadError, match=r"'inside\.bin' is a symbolic link, which ONNX"):
        load(path)


def test_missing_external_data_file(external_onnx: tuple[Path, onnx.ModelProto]) -> None:
    path, _ = external_onnx
    (path.parent / "weights.bin").unlink()
    with pytest.raises(
        ModelLoadError,
        match=r"model\.onnx: external data file 'weights\.bin' for tensor 'W' is missing",
    ):
        load(path)


def test_negative_offset_is_refused(external_onnx: tuple[Path, onnx.ModelProto]) -> None:
    path, _ = external_onnx
    _rewrite(path, "W", offset=-4)
    with pytest.raises(ModelLoadError, match=r"tensor 'W' has a negative external data offset"):
        load(path)
    _rewrite(path, "W", offset="lots")
    with pytest.raises(ModelLoadError, match="offset that is not a number"):
        load(path)


def test_length_beyond_the_file_is_refused(external_onnx: tuple[Path, onnx.ModelProto]) -> None:
    path, _ = external_onnx
    size = (path.parent / "weights.bin").stat().st_size
    _rewrite(path, "W", offset=0, length=size + 1)
    with pytest.raises(ModelLoadError) as info:
        load(path)
    assert info.value.message == (
        f"model.onnx: tensor 'W' external data (offset 0, length {size + 1}) runs past the end "
        f"of 'weights.bin' ({size} bytes); the data file is truncated or not this model's"
    )
    _rewrite(path, "W", offset=size + 10, length=None)
    with pytest.raises(ModelLoadError, match=r"\(offset \d+\) runs past the end"):
        load(path)


def test_declared_size_larger_than_the_bytes_present(
    external_onnx: tuple[Path, onnx.ModelProto],
) -> None:
    path, _ = external_onnx
    model = onnx.load_model(path, load_external_data=False)
    weight = model.graph.initializer[0]
    weight.dims[:] = [4096, 4096]  # 64 MiB declared, 512 bytes on disk
    path.write_bytes(model.SerializeToString())
    with pytest.raises(ModelLoadError) as info:
        load(path)
    assert info.value.message == (
        "model.onnx: tensor 'W' declares 4096x4096 float32 (67108864 bytes) but its external "
        "data in 'weights.bin' holds 512 bytes; the data file does not match the model"
    )


def test_no_length_means_the_rest_of_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    weight = np.arange(16 * 8, dtype=np.float32).reshape(16, 8)
    (folder / "w.bin").write_bytes(b"\0" * 12 + weight.tobytes())
    tensor = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[16, 8])
    tensor.data_location = TensorProto.EXTERNAL
    tensor.external_data.add(key="location", value="w.bin")
    tensor.external_data.add(key="offset", value="12")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])],
        initializer=[tensor],
    )
    path = folder / "m.onnx"
    path.write_bytes(helper.make_model(graph, ir_version=IR).SerializeToString())
    loaded = load(path)
    np.testing.assert_array_equal(
        numpy_helper.to_array(loaded.onnx_model.graph.initializer[0]), weight
    )
    (folder / "w.bin").write_bytes(b"\0" * 12 + weight.tobytes() + b"extra")
    with pytest.raises(ModelLoadError, match="holds 517 bytes"):
        load(path)


def test_inline_raw_data_must_match_its_dims(
    tmp_path: Path, linear_onnx: Callable[..., onnx.ModelProto]
) -> None:
    model = linear_onnx()
    model.graph.initializer[0].raw_data = model.graph.initializer[0].raw_data[:100]
    path = tmp_path / "short.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(ModelLoadError) as info:
        load(path)
    assert info.value.message == (
        "short.onnx: tensor 'W' declares 16x8 float32 (512 bytes) but holds 100 bytes; "
        "the file is corrupt"
    )


def test_external_data_in_a_subgraph_is_checked_too(tmp_path: Path) -> None:
    """An If node's branch holds the external tensor: the walk must reach it."""
    constant = TensorProto(name="c", data_type=TensorProto.FLOAT, dims=[4])
    constant.data_location = TensorProto.EXTERNAL
    constant.external_data.add(key="location", value="/etc/hostname")
    branch = helper.make_graph(
        [helper.make_node("Constant", [], ["out"], value=constant)],
        "branch",
        [],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [4])],
    )
    graph = helper.make_graph(
        [helper.make_node("If", ["cond"], ["y"], then_branch=branch, else_branch=branch)],
        "g",
        [helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
    )
    path = tmp_path / "if.onnx"
    path.write_bytes(helper.make_model(graph, ir_version=IR).SerializeToString())
    with pytest.raises(UnsafeModelError, match="absolute path"):
        load(path)


def _symbolic_model(tmp_path: Path) -> Path:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["image"], ["y"])],
        "g",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, "H", "W"])],
    )
    path = tmp_path / "sym.onnx"
    path.write_bytes(helper.make_model(graph, ir_version=IR).SerializeToString())
    return path


def test_symbolic_dims_get_a_best_effort_shape_and_a_note(tmp_path: Path) -> None:
    loaded = load(_symbolic_model(tmp_path))
    assert loaded.inputs == [InputSpec("image", (1, 3, 1, 1), "float32")]
    assert len(loaded.notes) == 1
    note = loaded.notes[0]
    assert "input 'image' has symbolic dimension(s) 2 (H), 3 (W)" in note
    assert "--shape image=" in note


def test_shapes_argument_resolves_symbolic_dims(tmp_path: Path) -> None:
    path = _symbolic_model(tmp_path)
    loaded = load(path, shapes={"image": (2, 3, 64, 48)})
    assert loaded.inputs == [InputSpec("image", (2, 3, 64, 48), "float32")]
    assert loaded.notes == []
    with pytest.raises(ModelLoadError, match="has 3 dimensions but input 'image' has 4"):
        load(path, shapes={"image": (3, 64, 48)})
    with pytest.raises(ModelLoadError, match="sets dimension 1 to 1, but the model fixes it at 3"):
        load(path, shapes={"image": (1, 1, 64, 48)})
    with pytest.raises(ModelLoadError, match="--shape names input 'img', but the model's inputs"):
        load(path, shapes={"img": (1, 3, 8, 8)})


def test_int64_inputs_and_initializers_are_not_inputs(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "tokens"], ["y"])],
        "g",
        [
            helper.make_tensor_value_info("tokens", TensorProto.INT64, [1, 32]),
            helper.make_tensor_value_info("table", TensorProto.FLOAT, [10, 4]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32, 4])],
        initializer=[numpy_helper.from_array(np.zeros((10, 4), np.float32), "table")],
    )
    path = tmp_path / "tokens.onnx"
    path.write_bytes(helper.make_model(graph, ir_version=IR).SerializeToString())
    assert load(path).inputs == [InputSpec("tokens", (1, 32), "int64")]


def test_arch_is_ignored_for_onnx_with_a_note(onnx_file: Path) -> None:
    loaded = load(onnx_file, arch="digits_cnn")
    assert loaded.notes == ["--arch digits_cnn was ignored: the file holds its own model"]
    assert loaded.arch is None


def test_nothing_is_read_outside_even_when_sizes_fit(
    external_onnx: tuple[Path, onnx.ModelProto], tmp_path: Path
) -> None:
    """The refusal happens before onnx opens the file: its bytes never reach the model."""
    path, _ = external_onnx
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.full(128, 7, np.float32).tobytes())
    _rewrite(path, "W", location=os.path.relpath(secret, path.parent), offset=0, length=512)
    with pytest.raises(UnsafeModelError):
        load(path)
