"""Benchmark, Evaluate and Export run in workers, report progress, cancel, land on the variant."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PySide6.QtWidgets import QApplication

from workbench.core.errors import DataError
from workbench.core.io import load
from workbench.core.measure import MeasureOptions
from workbench.core.project import Project
from workbench.ui.measure_actions import (
    ExportDialog,
    start_benchmark,
    start_evaluation,
    start_export,
)
from workbench.ui.workers import TaskRunner


def _wait_idle(qtbot, runner: TaskRunner, timeout: float = 120.0) -> None:
    """Wait for the runner's jobs mostly asleep, then let one event loop turn run.

    ``qtbot.waitUntil`` polls through QTest.qWait, which keeps the GIL while it waits;
    torch in the worker drops and retakes the GIL around every op, so each op waited
    up to qWait's 10 ms and an export ran ~10x slower (28 s instead of 3 s). Sleeping
    releases the GIL, as the app's event loop does while idle.
    """
    deadline = time.monotonic() + timeout
    while runner.busy:
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.02)
        QApplication.processEvents()
    qtbot.wait(10)  # an event loop turn: the finished job's deleteLater calls run now


def _collect() -> dict:
    return {"done": [], "failed": [], "progress": [], "cancelled": []}


def test_benchmark_and_evaluation_are_stored_on_the_variant(qtbot) -> None:
    project = Project()
    parent = project.add_root(load("zoo:digits_mlp"))
    child = project.add_child(parent, "copy", {"pass": "none"})
    child.loaded = load("zoo:digits_mlp", seed=1)
    runner = TaskRunner()
    seen = _collect()
    start_benchmark(
        runner, child, seen["done"].append, seen["failed"].append,
        on_progress=lambda f, m: seen["progress"].append(f),
        options=MeasureOptions(runtime="torch", runs=5, seconds=0.0),
    )  # fmt: skip
    _wait_idle(qtbot, runner)
    assert not seen["failed"], seen["failed"]
    assert seen["progress"] and seen["progress"][-1] == 1.0
    assert child.metrics["latency"]["torch"]["batches"][0]["latency"]["runs"] >= 5
    start_evaluation(runner, child, seen["done"].append, seen["failed"].append, parent=parent)
    _wait_idle(qtbot, runner)
    assert not seen["failed"], seen["failed"]
    accuracy = child.metrics["accuracy"]["torch"]
    assert accuracy["dataset"] == "digits" and accuracy["agreement"]["parent"] == parent.name
    assert "latency" in child.metrics  # the evaluation was merged, not written over it


def test_a_variant_without_data_fails_with_a_message(qtbot, tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
        initializer=[numpy_helper.from_array(np.ones((4, 2), np.float32), "W")],
    )  # fmt: skip
    path = tmp_path / "plain.onnx"
    onnx.save_model(helper.make_model(graph, ir_version=10), path)
    variant = Project().add_root(load(path))
    runner = TaskRunner()
    seen = _collect()
    start_evaluation(runner, variant, seen["done"].append, seen["failed"].append)
    _wait_idle(qtbot, runner)
    assert isinstance(seen["failed"][0], DataError)
    assert "has no validation data" in str(seen["failed"][0])
    assert variant.metrics == {}


def test_export_writes_and_records_and_a_benchmark_can_be_cancelled(qtbot, tmp_path) -> None:
    variant = Project().add_root(load("zoo:digits_cnn"))
    runner = TaskRunner()
    seen = _collect()
    out = tmp_path / "cnn.onnx"
    start_export(runner, variant, out, seen["done"].append, seen["failed"].append)
    _wait_idle(qtbot, runner)
    assert not seen["failed"], seen["failed"]
    assert out.is_file() and variant.metrics["export"]["parity"]["passed"]
    handle = start_benchmark(
        runner, variant, seen["done"].append, seen["failed"].append,
        on_progress=lambda f, m: seen["progress"].append(f),
        on_cancelled=lambda: seen["cancelled"].append(True),
        options=MeasureOptions(runtime="auto", runs=10**9, seconds=600),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not seen["progress"] and time.monotonic() < deadline:
        time.sleep(0.02)
        QApplication.processEvents()
    handle.cancel()
    _wait_idle(qtbot, runner)
    assert seen["cancelled"] == [True] and not variant.metrics["latency"]


def test_export_dialog_options(qtbot, tmp_path: Path) -> None:
    dialog = ExportDialog("resnet/shapes v2", folder=tmp_path)
    qtbot.addWidget(dialog)
    assert dialog.output_path() == tmp_path / "resnet_shapes_v2.onnx"
    assert dialog.options().dynamic_batch and dialog.options().opset is None
    dialog.fp16.setChecked(True)
    dialog.opset.setValue(18)
    options = dialog.options()
    assert options.fp16 and options.opset == 18 and not options.force
