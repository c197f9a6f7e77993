"""Opening in a child process: a parser crash, a memory blow-up or a hang becomes an
error message, and the process that asked survives."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import torch
from fixtures.cli import run_command
from fixtures.impostors import imported_impostors, plant_impostors, user_environment

from workbench.core.context import Cancelled, CancelToken, RunContext
from workbench.core.errors import ArchitectureError, ModelLoadError
from workbench.core.io import load
from workbench.core.io.isolated import inspect_isolated

HOSTILE = "wb_hostile_factories"


@pytest.fixture
def weights_and_factories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real state_dict and factories that crash, hog memory or hang while building."""
    (tmp_path / f"{HOSTILE}.py").write_text(
        textwrap.dedent(
            """
            import ctypes, time
            import torch

            def segfault():
                ctypes.string_at(0)  # reads address 0: SIGSEGV

            def hog():
                return bytearray(64 << 30)  # 64 GiB: MemoryError under the cap

            def hang():
                time.sleep(600)

            def fine():
                return torch.nn.Linear(4, 2)
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # the child imports them too
    path = tmp_path / "weights.pt"
    torch.save(torch.nn.Linear(4, 2).state_dict(), path)
    return path


def test_a_crash_in_the_parser_becomes_an_error(weights_and_factories: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"weights.pt crashed the model parser \(SIGSEGV\)"):
        inspect_isolated(weights_and_factories, arch=f"{HOSTILE}:segfault")


def test_memory_is_capped(weights_and_factories: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"needed more than the 6\.0 GiB memory allowed"):
        inspect_isolated(weights_and_factories, arch=f"{HOSTILE}:hog", memory_limit=6 << 30)


def test_a_hang_is_stopped_at_the_time_limit(weights_and_factories: Path) -> None:
    with pytest.raises(ModelLoadError, match="took longer than 3 s"):
        inspect_isolated(weights_and_factories, arch=f"{HOSTILE}:hang", timeout_s=3)


def test_cancel_stops_the_child(weights_and_factories: Path) -> None:
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        inspect_isolated(
            weights_and_factories, arch=f"{HOSTILE}:hang", ctx=RunContext(cancel=token)
        )


def test_user_errors_come_back_as_raised(weights_and_factories: Path) -> None:
    with pytest.raises(ArchitectureError, match="no architecture named 'nope'"):
        inspect_isolated(weights_and_factories, arch="nope")


def test_a_good_file_opens_with_the_childs_graph(weights_and_factories: Path) -> None:
    inspection = inspect_isolated(weights_and_factories, arch=f"{HOSTILE}:fine")
    assert inspection.summary["parameters"] == 10
    assert inspection.loaded.module is not None
    assert [n.op_type for n in inspection.graph.nodes] == ["linear"]


@pytest.mark.parametrize("suffix", [".onnx", ".pt"])
def test_the_parser_child_skips_the_working_folder(tmp_path: Path, suffix: str) -> None:
    """The GUI's open, run from a folder holding impostors of numpy, onnxruntime, torch."""
    folder = plant_impostors(tmp_path / "work")
    model = tmp_path / f"model{suffix}"
    if suffix == ".onnx":
        _write_relu_onnx(model)
    else:
        torch.save(load("zoo:digits_mlp").module.state_dict(), model)
    code = (
        "import sys\n"
        "from workbench.core.io.isolated import inspect_isolated\n"
        "inspect_isolated(sys.argv[1], arch=sys.argv[2] or None)\n"
    )
    arch = "digits_mlp" if suffix == ".pt" else ""
    # The parent with -P, as the console script keeps the folder off its own sys.path.
    command = [sys.executable, "-P", "-c", code, str(model), arch]
    done = run_command(command, cwd=folder, env=user_environment(), timeout=120)
    assert imported_impostors(folder) == []
    assert done.returncode == 0, done.stderr


def _write_relu_onnx(path: Path) -> None:
    from onnx import TensorProto, helper, save

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu", [x], [y])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
