"""`workbench inspect` on real models made elsewhere, and on every kind of bad input.

Each runs the real entry point in a fresh interpreter, as a user's shell would: bad input
must give one stderr line, exit status 2, no traceback, and run nothing from the file.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from fixtures.cli import run_workbench
from onnx import TensorProto, helper, numpy_helper

TESTS = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH so that --arch fixtures.public_models:... imports
    return run_workbench(*args, cwd=cwd, env={"PYTHONPATH": str(TESTS)})


def inspect_json(*args: str) -> dict:
    result = run_cli("inspect", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_user_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("workbench: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert result.stdout == ""


# -- real models made elsewhere ---------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "fixture",
    ["resnet50_onnx", "densenet121_onnx", "shufflenet_onnx", "inception_onnx", "bert_onnx"],
)
def test_inspect_public_onnx_counts_what_onnx_counts(fixture: str, request) -> None:
    path: Path = request.getfixturevalue(fixture)
    summary = inspect_json(str(path))
    model = onnx.load(str(path))
    assert summary["format"] == "onnx" and summary["framework"] == "onnx"
    assert summary["node_count"] == len(model.graph.node)
    assert summary["parameters"] == sum(int(np.prod(init.dims)) for init in model.graph.initializer)
    assert sum(summary["op_histogram"].values()) == summary["node_count"]
    assert summary["file_size"] == path.stat().st_size
    assert summary["inputs"] and summary["outputs"] and summary["macs"] > 0
    assert summary["top_layers"][0]["params"] >= summary["top_layers"][-1]["params"]


@pytest.mark.slow
def test_inspect_resnet50_text_output(resnet50_onnx: Path) -> None:
    result = run_cli("inspect", str(resnet50_onnx))
    assert result.returncode == 0, result.stderr
    assert "resnet50.onnx  (onnx, opset 17" in result.stdout
    assert "nodes:" in result.stdout and "Conv" in result.stdout
    assert "MACs:       4.09 G (batch 1)" in result.stdout


def _torch_param_count() -> int:
    from fixtures.public_models import SmallCNN

    return sum(p.numel() for p in SmallCNN().parameters())


def test_inspect_torchscript_needs_trust_then_counts_like_torch(torchscript_file: Path) -> None:
    refused = run_cli("inspect", str(torchscript_file))
    assert_user_error(refused, "TorchScript archive", "--trust")
    summary = inspect_json(str(torchscript_file), "--trust")
    assert summary["format"] == "torchscript"
    assert summary["parameters"] == _torch_param_count()
    assert summary["node_count"] > 0 and summary["macs"] > 0


def test_inspect_pt2_with_trust(pt2_file: Path) -> None:
    refused = run_cli("inspect", str(pt2_file))
    assert_user_error(refused, ".pt2", "--trust")
    summary = inspect_json(str(pt2_file), "--trust")
    program = torch.export.load(str(pt2_file))
    assert summary["format"] == "exported-program"
    assert summary["node_count"] == sum(n.op == "call_function" for n in program.graph.nodes)
    assert summary["parameters"] == _torch_param_count()


def test_inspect_state_dict_with_its_factory(state_dict_file: Path) -> None:
    summary = inspect_json(str(state_dict_file), "--arch", "fixtures.public_models:SmallCNN")
    assert summary["format"] == "state-dict"
    assert summary["parameters"] == _torch_param_count()
    assert summary["inputs"][0]["shape"] == [1, 3, 32, 32]


def test_inspect_zoo_model() -> None:
    from workbench.core.catalogue import get_registry

    summary = inspect_json("zoo:digits_cnn")
    module = get_registry().model("digits_cnn").build()
    assert summary["parameters"] == sum(p.numel() for p in module.parameters())
    assert summary["buffers"] == sum(b.numel() for b in module.buffers())


# -- bad input ---------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    assert_user_error(run_cli("inspect", str(tmp_path / "nope.onnx")), "nope.onnx", "no such file")


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.onnx").write_bytes(b"")
    assert_user_error(run_cli("inspect", str(tmp_path / "empty.onnx")), "empty.onnx is empty")


def test_truncated_onnx(tmp_path: Path, resnet50_onnx: Path) -> None:
    data = resnet50_onnx.read_bytes()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 2])
    assert_user_error(
        run_cli("inspect", str(tmp_path / "cut.onnx")), "cut.onnx is not a valid ONNX"
    )


@pytest.mark.parametrize("name", ["random.onnx", "random.pt", "random.safetensors"])
def test_random_bytes_with_a_model_extension(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(np.random.default_rng(1).bytes(4096))
    assert_user_error(run_cli("inspect", str(tmp_path / name)), name)


class _Planted:
    """Unpickling this would create the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("form", ["torch-zip", "plain-pickle"])
def test_pickle_that_runs_code_is_refused_and_never_runs(tmp_path: Path, form: str) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pt"
    if form == "torch-zip":
        torch.save({"weights": torch.zeros(2), "payload": _Planted(marker)}, path)
    else:
        path.write_bytes(pickle.dumps(_Planted(marker), protocol=4))
    for extra in ([], ["--arch", "digits_cnn"]):
        result = run_cli("inspect", str(path), *extra)
        assert_user_error(result, "model.pt")
        assert "system" in result.stderr or "pickle" in result.stderr
        assert not marker.exists()


def _external_data_model(folder: Path, location: str) -> Path:
    weight = numpy_helper.from_array(np.ones((4, 4), np.float32), "W")
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "64")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    path = folder / "model.onnx"
    path.write_bytes(model.SerializeToString())
    return path


@pytest.mark.parametrize("how", ["absolute", "dotdot"])
def test_external_data_outside_the_models_folder(tmp_path: Path, how: str) -> None:
    outside = tmp_path / "secret.bin"
    outside.write_bytes(b"\0" * 64)
    folder = tmp_path / "model"
    folder.mkdir()
    location = str(outside) if how == "absolute" else "../secret.bin"
    result = run_cli("inspect", str(_external_data_model(folder, location)))
    assert_user_error(result, "model.onnx", "only files inside")


def test_unknown_architecture(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(3)}, path)
    assert_user_error(
        run_cli("inspect", str(path), "--arch", "no_such_net"),
        "no architecture named 'no_such_net'",
        "digits_cnn",
    )
    assert_user_error(run_cli("inspect", "zoo:no_such_net"), "no architecture named 'no_such_net'")


def test_state_dict_without_architecture(state_dict_file: Path) -> None:
    assert_user_error(run_cli("inspect", str(state_dict_file)), "is a state_dict", "--arch")


def test_npz_with_object_arrays_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "arrays.npz"
    np.savez(path, x=np.array([_Planted(marker)], dtype=object), y=np.zeros(1))
    result = run_cli("inspect", str(path))
    assert_user_error(result, "arrays.npz", "object arrays")
    assert not marker.exists()
