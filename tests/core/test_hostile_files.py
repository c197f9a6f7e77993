"""Files that declare far more than they hold: described, or refused in one line, before
anything large is allocated. Whatever could allocate a lot runs in a capped child."""

from __future__ import annotations

import json
import resource
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from fixtures.hostile_files import (
    HOSTILE_ONNX,
    TREE_LIMIT,
    GiB,
    MiB,
    declared_vector_onnx,
    deflate_bomb_pt,
    run_capped,
    sparse_onnx,
)
from onnx import TensorProto, helper, numpy_helper

from workbench.core.errors import ModelLoadError
from workbench.core.graph.from_onnx import SHAPE_VECTOR_LIMIT, from_onnx
from workbench.core.io import isolated, limits, load
from workbench.core.io.limits import check_zip_file, heap_budget
from workbench.core.io.pickle_scan import globals_in_zip_checkpoint, unsafe_globals

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_DATA and /proc: Linux")


# ---- ONNX shape inference ---------------------------------------------------------------


def test_a_vector_declared_longer_than_a_shape_is_not_propagated() -> None:
    graph = from_onnx(declared_vector_onnx(SHAPE_VECTOR_LIMIT + 1))
    assert graph.tensors["s"].shape == (SHAPE_VECTOR_LIMIT + 1,)
    assert any("without data propagation: 's' is declared with 65,537" in n for n in graph.notes)


def test_shape_vectors_of_normal_length_still_propagate() -> None:
    graph = from_onnx(declared_vector_onnx(4))
    assert graph.tensors["y"].shape is not None and len(graph.tensors["y"].shape) == 4
    assert not any("data propagation" in note for note in graph.notes)


def test_memory_error_in_shape_inference_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, linear_onnx: Callable[..., onnx.ModelProto]
) -> None:
    def exhausted(*args: object, **kwargs: object) -> None:
        raise MemoryError("std::bad_alloc")

    monkeypatch.setattr(onnx.shape_inference, "infer_shapes", exhausted)
    with pytest.raises(ModelLoadError) as caught:
        from_onnx(linear_onnx(), name="model.onnx")
    message = caught.value.message
    assert message.startswith("model.onnx: shape inference needed more than 512")
    assert "crafted to exhaust memory" in message and "\n" not in message
    assert caught.value.__context__ is None  # the isolated child would misread a MemoryError


HEAP_BUDGET_PROBE = """
import resource
from workbench.core.io.limits import heap_budget
MiB = 1 << 20
before = resource.getrlimit(resource.RLIMIT_DATA)
try:
    with heap_budget(64 * MiB):
        bytearray(512 * MiB)
    print("allocated")
except MemoryError:
    print("refused")
assert resource.getrlimit(resource.RLIMIT_DATA) == before
print(len(bytearray(512 * MiB)) == 512 * MiB)  # and the process may allocate again
"""


@linux_only
def test_heap_budget_bounds_allocations_and_restores_the_limit() -> None:
    """In a single-threaded process, as on the command line (the budget is per process,
    so it is left unset while other threads run: pytest's may, after the Qt tests)."""
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", HEAP_BUDGET_PROBE], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["refused", "True"]


def test_heap_budget_is_left_unset_while_other_threads_run() -> None:
    import threading

    before = resource.getrlimit(resource.RLIMIT_DATA)
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        with heap_budget(64 * MiB):
            assert resource.getrlimit(resource.RLIMIT_DATA) == before
            assert len(bytearray(128 * MiB)) == 128 * MiB  # a training step may allocate
    finally:
        stop.set()
        worker.join()


# ---- zip archives -----------------------------------------------------------------------


@pytest.mark.parametrize("bomb", ["storage_bomb", "pickle_bomb"])
def test_a_deflate_bomb_is_refused_from_its_central_directory(
    request: pytest.FixtureRequest, bomb: str
) -> None:
    path = request.getfixturevalue(bomb)
    member = "data/0" if bomb == "storage_bomb" else "data.pkl"
    with pytest.raises(ModelLoadError, match=rf"member archive/{member} would inflate 1,\d{{3}}x"):
        check_zip_file(path)


def test_the_pickle_scan_streams_data_pkl(tmp_path: Path) -> None:
    # 48 MiB of padding: under the scan's size cap, so read, but never held whole.
    path = deflate_bomb_pt(tmp_path / "padded.pt", "pickle", 48 * MiB)
    tracemalloc.start()
    try:
        found = globals_in_zip_checkpoint(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "torch._utils._rebuild_tensor_v2" in found
    assert peak < 8 * MiB


def test_the_pickle_scan_refuses_a_bombed_data_pkl(pickle_bomb: Path) -> None:
    with pytest.raises(ModelLoadError, match="zip bomb"):
        unsafe_globals(pickle_bomb, is_zip=True)  # before torch's reader inflates it


# ---- sizes against protobuf's ceiling and free memory ----------------------------------


def test_an_onnx_file_over_the_protobuf_limit_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = sparse_onnx(tmp_path / "huge.onnx", 4096)
    monkeypatch.setattr(limits, "PROTOBUF_LIMIT", 1024)
    monkeypatch.setattr(Path, "read_bytes", _never_read)
    with pytest.raises(ModelLoadError, match=r"huge.onnx is 4\.0 KiB; protobuf cannot parse"):
        load(path)


def test_an_onnx_file_larger_than_free_memory_is_refused(
    onnx_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "available_memory", lambda: 100)
    monkeypatch.setattr(Path, "read_bytes", _never_read)
    with pytest.raises(ModelLoadError, match=r"needs about .* of memory to read, but only 100 B"):
        load(onnx_file)


def test_external_data_larger_than_free_memory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weight = numpy_helper.from_array(np.ones((64, 64), np.float32), "W")  # 16 KiB outside
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])],
        "external",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])],
        initializer=[weight],
    )
    path = tmp_path / "model.onnx"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    onnx.save_model(model, path, save_as_external_data=True, location="w.bin", size_threshold=0)
    monkeypatch.setattr(limits, "available_memory", lambda: 8 * 1024)
    with pytest.raises(ModelLoadError, match=r"16\.0 KiB of memory to read its external data"):
        load(path)


def _never_read(self: Path) -> bytes:
    raise AssertionError(f"{self.name} was read whole before its size was checked")


# ---- the isolated parser ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("ram", "file_size", "cap"),
    [(8, 0, 4), (16, 0, 4), (64, 0, 4), (4, 0, 2), (64, 10, 24), (16, 10, 8)],
)
def test_the_parsers_cap_is_half_of_ram_at_most(
    monkeypatch: pytest.MonkeyPatch, ram: int, file_size: int, cap: int
) -> None:
    monkeypatch.setattr(isolated, "total_memory", lambda: ram * GiB)
    assert isolated.default_memory_limit(file_size * GiB) == cap * GiB


@linux_only
def test_the_parsers_cap_is_on_its_heap_not_its_address_space(tmp_path: Path) -> None:
    import subprocess

    import torch

    from workbench.core.io import load

    path = tmp_path / "weights.pt"
    torch.save(load("zoo:blobs_mlp").module.state_dict(), path)
    probe = "import torch; print(open('/proc/self/status').read())"
    status = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout
    mapped = next(int(f.split()[1]) * 1024 for f in status.splitlines() if f.startswith("VmSize"))
    # Less than importing torch maps (an address-space cap this low fails before any
    # parsing); far more than its heap needs to describe a small model.
    inspection = isolated.inspect_isolated(path, arch="blobs_mlp", memory_limit=mapped - MiB)
    assert inspection.summary["parameters"] > 0


@linux_only
@pytest.mark.slow
@pytest.mark.parametrize("kind", [*HOSTILE_ONNX, "storage bomb", "pickle bomb"])
def test_the_apps_open_path_describes_or_refuses_hostile_files(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    if kind in HOSTILE_ONNX:
        path = HOSTILE_ONNX[kind](tmp_path)
    else:
        path = request.getfixturevalue(kind.replace(" ", "_"))
    run = run_capped("fixtures.isolated_probe", str(path))
    assert run.returncode == 0, run.stderr
    outcome = json.loads(run.stdout)
    if kind.startswith(("vector", "size")):
        assert any("without data propagation" in note for note in outcome["notes"])
    else:
        expected = {
            "computed range": "shape inference needed more than",
            "3 GiB onnx": "protobuf cannot parse an ONNX file over 2 GiB",
            "storage bomb": "zip bomb",
            "pickle bomb": "zip bomb",
        }[kind]
        assert outcome["error"] == "ModelLoadError" and expected in outcome["message"]
    assert run.peak < TREE_LIMIT, f"{kind}: {run.peak_mib:.0f} MiB"
