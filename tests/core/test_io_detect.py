"""Format detection from content, and a clear one-line error for every kind of bad path."""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import onnx
import pytest
import safetensors.torch
import torch

from workbench.core.errors import ModelLoadError, WorkbenchError
from workbench.core.io import ModelFormat, detect_format, load, parse_shape, parse_shapes


def test_onnx_is_detected_by_content_even_without_its_extension(onnx_file: Path) -> None:
    assert detect_format(onnx_file) is ModelFormat.ONNX
    renamed = onnx_file.with_name("weights.bin")
    renamed.write_bytes(onnx_file.read_bytes())
    assert detect_format(renamed) is ModelFormat.ONNX


def test_torch_formats_are_told_apart_by_archive_members(
    tmp_path: Path, make_sequential: Callable[..., torch.nn.Module]
) -> None:
    model = make_sequential()
    example = (torch.randn(1, 1, 8, 8),)
    files = {
        "state.pt": ModelFormat.STATE_DICT,
        "legacy.pth": ModelFormat.STATE_DICT,
        "whole.pt": ModelFormat.PICKLED_MODULE,
        "whole_legacy.pt": ModelFormat.PICKLED_MODULE,
        "scripted.pt": ModelFormat.TORCHSCRIPT,
        "program.pt2": ModelFormat.EXPORTED_PROGRAM,
        "weights.safetensors": ModelFormat.SAFETENSORS,
    }
    torch.save(model.state_dict(), tmp_path / "state.pt")
    torch.save(model.state_dict(), tmp_path / "legacy.pth", _use_new_zipfile_serialization=False)
    torch.save(model, tmp_path / "whole.pt")
    torch.save(model, tmp_path / "whole_legacy.pt", _use_new_zipfile_serialization=False)
    torch.jit.save(torch.jit.trace(model, example), tmp_path / "scripted.pt")
    torch.export.save(torch.export.export(model, example), tmp_path / "program.pt2")
    safetensors.torch.save_file(model.state_dict(), tmp_path / "weights.safetensors")
    for name, expected in files.items():
        # The extension plays no part: every file is also tried under a misleading name.
        assert detect_format(tmp_path / name) is expected, name
        disguised = tmp_path / f"disguised_{name}.onnx"
        disguised.write_bytes((tmp_path / name).read_bytes())
        assert detect_format(disguised) is expected, name


def test_zip_checkpoint_keeps_its_members_under_any_folder_name(tmp_path: Path) -> None:
    path = tmp_path / "a"
    torch.save({"w": torch.ones(2)}, path)
    assert detect_format(path) is ModelFormat.STATE_DICT
    with zipfile.ZipFile(path) as archive:
        assert all(name.startswith("a/") for name in archive.namelist())


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"nope\.onnx: no such file; check the path"):
        load(tmp_path / "nope.onnx")


def test_folder_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "model_dir").mkdir()
    with pytest.raises(ModelLoadError, match="model_dir is a folder, not a model file"):
        load(tmp_path / "model_dir")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "model.pt").touch()
    with pytest.raises(ModelLoadError, match=r"model\.pt is empty \(0 bytes\)"):
        detect_format(tmp_path / "model.pt")


def test_random_bytes_named_onnx_are_not_a_valid_onnx_model(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(ModelLoadError, match=r"model\.onnx is not a valid ONNX model"):
        load(path)


def test_random_bytes_named_pt_are_an_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(b"\x13" + os.urandom(4095))
    with pytest.raises(ModelLoadError) as info:
        load(path)
    message = info.value.message
    assert message.startswith("model.pt is not a model format workbench reads")
    assert "starts with bytes 13" in message and "safetensors" in message


def test_truncated_onnx_is_refused_as_corrupt(
    tmp_path: Path, linear_onnx: Callable[..., onnx.ModelProto]
) -> None:
    whole = linear_onnx().SerializeToString()
    (tmp_path / "half.onnx").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ModelLoadError, match=r"half\.onnx is not a valid ONNX model.*truncated"):
        load(tmp_path / "half.onnx")
    # A proto that parses but has no graph is refused too.
    empty = onnx.ModelProto(ir_version=8)
    (tmp_path / "nograph.onnx").write_bytes(empty.SerializeToString())
    with pytest.raises(ModelLoadError, match="no graph nodes"):
        load(tmp_path / "nograph.onnx")


def test_truncated_torch_archive_is_refused(tmp_path: Path) -> None:
    whole = tmp_path / "whole.pt"
    torch.save(torch.nn.Linear(64, 64).state_dict(), whole)
    data = whole.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match=r"cut\.pt looks like a zip archive but cannot be"):
        load(tmp_path / "cut.pt")


def test_zip_that_is_not_a_torch_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ModelLoadError, match=r"notes\.pt is a zip archive but not a PyTorch"):
        load(path)


def test_corrupt_safetensors_header(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    header = b'{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 99]}}'
    path.write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 16)
    with pytest.raises(ModelLoadError, match=r"w\.safetensors is not a valid safetensors file"):
        load(path, arch="x:y")
    (tmp_path / "bad.safetensors").write_bytes(b"\xff" * 8 + b"{}")
    with pytest.raises(ModelLoadError, match=r"bad\.safetensors is not a valid safetensors"):
        load(tmp_path / "bad.safetensors")


def test_plain_pickle_of_data_is_not_mistaken_for_a_model(tmp_path: Path) -> None:
    path = tmp_path / "numbers.pkl"
    path.write_bytes(pickle.dumps({"a": [1, 2, 3]}, protocol=2))
    with pytest.raises(
        ModelLoadError, match=r"numbers\.pkl is a plain Python pickle, not a file saved by torch"
    ):
        load(path)


def test_every_failure_is_a_workbench_error(
    tmp_path: Path, onnx_file: Path, make_sequential: Callable[..., torch.nn.Module]
) -> None:
    """Cut a real file at many places: whatever breaks, one clear error type comes out."""
    sources = [onnx_file]
    torch.save(make_sequential().state_dict(), tmp_path / "sd.pt")
    sources.append(tmp_path / "sd.pt")
    for source in sources:
        data = source.read_bytes()
        for cut in (1, 7, 9, 40, len(data) // 3, len(data) - 1):
            broken = tmp_path / f"cut{cut}{source.suffix}"
            broken.write_bytes(data[:cut])
            with pytest.raises(WorkbenchError):
                load(broken, arch="nope")


def test_parse_shapes_for_the_command_line() -> None:
    assert parse_shape("input=1x3x32x32") == ("input", (1, 3, 32, 32))
    assert parse_shapes(["a=1x8", "b=2,4"]) == {"a": (1, 8), "b": (2, 4)}
    for bad, expected in (
        ("1x3x32x32", "not of the form name=1x3x32x32"),
        ("x=1xax3", "whole numbers"),
        ("x=1x0", "at least 1"),
    ):
        with pytest.raises(WorkbenchError, match=expected):
            parse_shape(bad)
