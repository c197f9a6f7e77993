"""The quantization wizard end to end on real ORT and torch: run, exclude, re-run, finish."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSpinBox, QWizard

from workbench.cli import main
from workbench.core.io import load
from workbench.core.measure.providers import create_session
from workbench.ui.wizards.quantization_wizard import QuantizationWizard
from workbench.ui.workers import TaskRunner


def _wizard(qtbot, source) -> QuantizationWizard:
    wizard = QuantizationWizard(source, TaskRunner())
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def _set(form, name: str, value) -> None:
    form.findChild(QSpinBox, f"field-{name}").setValue(value)


def _run(qtbot, wizard: QuantizationWizard) -> None:
    qtbot.waitUntil(lambda: wizard.run.done, timeout=60_000)
    assert wizard.run.isComplete(), wizard.run.message.text()


def _weights(path: Path) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}


def test_static_int8_end_to_end_with_exclusion_and_cli_parity(qtbot, tmp_path) -> None:
    source = load("zoo:digits_cnn")
    wizard = _wizard(qtbot, source)
    assert wizard.method() == "static"
    wizard.next()  # -> data and calibration
    assert wizard.data_page.data.currentText() == "digits"  # the variant's own dataset
    _set(wizard.data_page.form, "samples", 16)
    wizard.next()  # -> advanced
    _set(wizard.advanced_page.form, "error_samples", 8)
    wizard.advanced_page.batches.setText("1")
    wizard.next()  # -> run: the PyTorch model is exported and quantized in the worker
    _run(qtbot, wizard)
    wizard.next()  # -> results
    page = wizard.results
    table = page.table
    assert table.rowCount() >= 3
    added = [float(table.item(r, 3).text().rstrip("%")) for r in range(table.rowCount())]
    assert table.item(0, 3).text().endswith("%")
    assert added == sorted(added, reverse=True)
    assert "x smaller" in page.summary.text()
    assert re.search(r"\d\.\d\dx (faster|slower) \(\d", page.summary.text())  # with its range
    assert "median of 5 interleaved rounds" in page.summary.text()
    assert not page.rerun_button.isEnabled()

    worst = table.item(0, 0).data(Qt.ItemDataRole.UserRole)
    table.item(0, 0).setCheckState(Qt.CheckState.Checked)
    assert page.rerun_button.isEnabled()
    page.rerun_button.click()  # back to the run page, run again with the node in float
    assert wizard.currentPage() is wizard.run
    _run(qtbot, wizard)
    wizard.next()
    assert page.ticked() == [worst]
    seen: list = []
    wizard.outcome_ready.connect(seen.append)
    wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: not wizard.tasks.busy, timeout=10_000)
    (outcome,) = seen
    assert outcome.step["pass"] == "quantize-static"
    assert outcome.step["config"]["exclude"] == [worst]
    assert outcome.model.framework == "onnx" and source.module is not None
    path = Path(outcome.artifacts["onnx"])
    assert path.is_file() and path.parent.parent == wizard.folder
    model = onnx.load(path)
    create_session(model, device="cpu")
    node = next(n for n in model.graph.node if n.name == worst)
    floats = {t.name for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT}
    assert node.op_type != "Conv" or node.input[1] in floats
    assert outcome.metrics["accuracy"]["ort"]["top1"] is not None
    assert outcome.metrics["quantization"]["error_by_node"]  # the overlay's data

    # The CLI with the same settings makes the same step and the same weights.
    out = tmp_path / "cli"
    code = main(["quantize", "zoo:digits_cnn", "--method", "static", "--samples", "16",
                 "--error-samples", "8", "--batch", "1", "--seconds", "0", "--exclude", worst,
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    record = json.loads((out / "variant.json").read_text())
    assert record["step"] == outcome.step
    ours, theirs = _weights(path), _weights(out / "model.onnx")
    assert ours.keys() == theirs.keys()
    assert all(np.array_equal(ours[k], theirs[k]) for k in ours)


def test_auto_exclude_keeps_the_worst_node_float_and_says_what_it_gained(qtbot, tmp_path) -> None:
    wizard = _wizard(qtbot, load("zoo:digits_cnn"))
    wizard.next()
    _set(wizard.data_page.form, "samples", 16)
    wizard.next()
    _set(wizard.advanced_page.form, "error_samples", 8)
    wizard.advanced_page.batches.setText("1")
    assert wizard.advanced_page.auto_exclude.text() == "off"  # 0: not asked for
    wizard.advanced_page.auto_exclude.setValue(1)
    wizard.next()
    _run(qtbot, wizard)
    wizard.next()
    page = wizard.results
    step = dict(wizard.outcome.step)
    (name,) = step["config"]["exclude"]
    assert page.ticked() == [name]  # shown ticked, so it can be unticked
    assert page.table.item(0, 3).text().startswith("kept float (was ")  # its first-run error
    text = page.summary.text()
    assert f"Auto-exclude kept 1 nodes in float: {name}" in text
    assert "agreement with the float model" in text and "latency, batch 1:" in text
    assert not page.rerun_button.isEnabled()

    # Unticked and re-run: the ticks are the user's choice now, none is added back.
    row = next(r for r in range(page.table.rowCount()) if page.table.item(r, 0).data(
        Qt.ItemDataRole.UserRole) == name)  # fmt: skip
    page.table.item(row, 0).setCheckState(Qt.CheckState.Unchecked)
    page.rerun_button.click()
    _run(qtbot, wizard)
    wizard.next()
    assert wizard.outcome.step["config"]["exclude"] == [] and page.ticked() == []
    assert wizard.advanced_page.auto_exclude.value() == 0
    assert "Auto-exclude" not in page.summary.text()

    # The CLI with the same settings picks the same node.
    out = tmp_path / "cli"
    assert main(["quantize", "zoo:digits_cnn", "--method", "static", "--samples", "16",
                 "--error-samples", "8", "--batch", "1", "--seconds", "0", "--auto-exclude",
                 "1", "--out", str(out)]) == 0  # fmt: skip
    assert json.loads((out / "variant.json").read_text())["step"] == step
    wizard.reject()
    qtbot.waitUntil(lambda: not wizard.tasks.busy, timeout=10_000)


def test_cancel_stops_the_run_and_nothing_is_offered(qtbot) -> None:
    wizard = _wizard(qtbot, load("zoo:digits_cnn"))
    wizard.next()
    wizard.next()
    wizard.next()
    wizard.run.cancel_button.click()
    qtbot.waitUntil(lambda: wizard.run.done, timeout=60_000)
    assert "Cancelled" in wizard.run.message.text()
    assert not wizard.run.isComplete() and wizard.outcome is None
    qtbot.waitUntil(lambda: not wizard.tasks.busy, timeout=10_000)


def test_onnx_source_dynamic_method_and_torch_choice_disabled(qtbot, tmp_path) -> None:
    path = tmp_path / "t.onnx"
    assert main(["export", "zoo:transformer_seq", "--dynamic-batch", "--out", str(path)]) == 0
    wizard = _wizard(qtbot, load(path))
    assert not wizard.method_page.buttons["torch-dynamic"].isEnabled()
    wizard.next()  # static on a file tied to no dataset: calibration data is asked for
    assert not wizard.data_page.isComplete() and wizard.data_page.missing.isVisible()
    wizard.back()
    wizard.method_page.set_value("dynamic")
    wizard.next()
    assert not wizard.data_page.missing.isVisible()
    assert not wizard.data_page.form.isVisible()  # no calibration for dynamic
    assert wizard.data_page.isComplete()  # data is optional here
    wizard.data_page.data.setCurrentText("sequences")
    wizard.next()
    assert wizard.advanced_page.form.findChild(QSpinBox, "field-error_samples") is not None
    _set(wizard.advanced_page.form, "error_samples", 4)
    wizard.advanced_page.batches.setText("1")
    wizard.next()
    _run(qtbot, wizard)
    wizard.next()
    assert wizard.results.table.rowCount() > 0
    ops = {n.op_type for n in wizard.outcome.model.onnx_model.graph.node}
    assert "MatMulInteger" in ops
    wizard.reject()
    qtbot.waitUntil(lambda: not wizard.tasks.busy, timeout=10_000)
    assert not wizard.folder.exists()  # cancelling the wizard keeps nothing


def test_measure_on_offers_cuda_only_when_onnx_runtime_can_use_it(qtbot) -> None:
    from workbench.core.measure.providers import CUDA, why_not

    wizard = _wizard(qtbot, load("zoo:digits_mlp"))
    qtbot.waitUntil(lambda: not wizard.tasks.busy, timeout=30_000)
    chooser = wizard.advanced_page.device
    labels = [chooser.itemText(i) for i in range(chooser.count())]
    reason = why_not(CUDA)
    if reason is None:
        assert any(label.startswith("cuda:0") for label in labels)
        return
    assert labels == ["cpu", "cuda — not available here"] and chooser.device() == "cpu"
    assert f"CUDA is not offered: {reason}" in chooser.toolTip()


def test_the_method_page_advises_from_recorded_gpu_measurements(qtbot, main_window) -> None:
    """A model benchmarked on the CUDA provider, with an INT8 and an FP16 child measured
    there (real runs re-labelled as the H200 recorded them): Compress > Quantize… says
    what those figures mean and starts on FP16."""
    from fixtures.cuda_records import cuda_outcome, quantized_digits

    window = main_window
    window.open_source("zoo:digits_cnn")
    qtbot.waitUntil(lambda: window.current is not None, timeout=30_000)
    root = window.current
    int8 = cuda_outcome(quantized_digits("static"), "static")
    fp16 = cuda_outcome(quantized_digits("fp16"), "fp16")
    root.metrics = {"latency": {"ort@cuda:0": int8.before.latency}}
    for outcome in (int8, fp16):
        window.project.add_child(root, outcome.name(), outcome.step, framework="onnx",
                                 metrics=outcome.variant_metrics())  # fmt: skip
    window.variants.select(root.id)  # the tree selected each child the project added
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Compress")
    before = set(window.findChildren(QuantizationWizard))
    next(a for a in menu.actions() if a.text() == "&Quantize…").trigger()
    (wizard,) = set(window.findChildren(QuantizationWizard)) - before
    advice = wizard.measured_advice
    assert advice.isVisible() and wizard.method() == "fp16"
    text = advice.text()
    assert "digits_cnn (INT8 static) measured 0.57x at b1, 0.77x at b256" in text
    assert "runs dequantized on ONNX Runtime's CUDA execution provider" in text
    assert "digits_cnn (FP16) measured 0.75x at b1, 1.29x at b256" in text
    assert "FP16 loses at batch 1" in text and "it pays from batch 256 on" in text
    assert "Benchmarked on ort/CUDA cuda:0; on cuda:0: choose FP16" in text
    wizard.reject()


def test_without_records_the_method_page_stays_as_it_was(qtbot) -> None:
    wizard = _wizard(qtbot, load("zoo:digits_cnn"))
    wizard.show_measurements({}, [])
    assert not wizard.measured_advice.isVisible() and wizard.method() == "static"


def test_a_language_model_is_offered_int4_with_block_size_and_algorithm(qtbot) -> None:
    from PySide6.QtWidgets import QComboBox

    source = load("zoo:tiny_lm:width=64,layers=2")  # its dataset: stdlib-text
    wizard = _wizard(qtbot, source)
    assert wizard.method() == "int4"  # offered first, and chosen, for a language model
    assert wizard.method_page.buttons["int4"].isEnabled()
    wizard.next()  # -> data
    assert wizard.data_page.data.currentText() == "stdlib-text"
    wizard.next()  # -> advanced: the INT4 settings, from its config
    form = wizard.advanced_page.form
    _set(form, "block_size", 64)
    _set(form, "error_samples", 2)
    form.findChild(QComboBox, "field-algorithm").setCurrentText("hqq")
    wizard.advanced_page.batches.setText("1")
    assert wizard.config().block_size == 64 and wizard.config().algorithm == "hqq"
    wizard.next()  # -> run
    _run(qtbot, wizard)
    wizard.next()  # -> results
    text = wizard.results.summary.text()
    assert "Perplexity" in text and "MatMul weights" in text and "blocks.1" in text
    assert wizard.results.table.rowCount() > 0  # per-node rows, MatMul names to keep float


def test_an_image_model_is_not_offered_int4(qtbot) -> None:
    wizard = _wizard(qtbot, load("zoo:digits_cnn"))
    assert "int4" not in wizard.method_page.buttons
