"""Compare's "Measure all on one runtime": INT8 against its float PyTorch parent on ORT."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.compare_variants import FAST, export_root, quantize_qdq, trained_root

from workbench.core.context import RunContext
from workbench.core.io import load
from workbench.core.measure import MeasureOptions, benchmark, store_metrics
from workbench.core.measure.side_by_side import SideBySideOptions
from workbench.core.project import Project
from workbench.ui.compare import CompareTab

QUICK = SideBySideOptions(warmup_s=0.05, rounds=3, runs_per_round=5, round_s=0.05)


@pytest.fixture
def mixed(tmp_path: Path) -> Project:
    """A PyTorch parent timed with torch, its INT8 ONNX child timed with ORT: the two
    never shared a runtime, as after Model ▸ Benchmark on each."""
    project = Project(name="mixed", folder=tmp_path)
    root = project.add_root(trained_root(), name="digits_cnn")
    int8_path = quantize_qdq(export_root(tmp_path), tmp_path)
    child = project.add_child(
        root, "digits_cnn (int8)", {"pass": "quantize", "config": {}}, framework="onnx",
        artifacts={"onnx": str(int8_path)}, source=str(int8_path),
    )  # fmt: skip
    child.loaded = load(int8_path)
    for variant, runtime in ((root, "torch"), (child, "ort")):
        ctx = RunContext(device="cpu")
        store_metrics(variant, benchmark(variant, MeasureOptions(runtime=runtime, **FAST), ctx=ctx))
    return project


@pytest.fixture
def tab(qtbot, mixed: Project):
    widget = CompareTab()
    widget.resize(1300, 850)
    widget.show()
    widget.set_project(mixed)
    yield widget
    qtbot.waitUntil(lambda: not widget.tasks.busy, timeout=30_000)
    widget.close()
    widget.deleteLater()


def _why(tab: CompareTab) -> str:
    return tab.why.toPlainText()


def test_measure_all_puts_int8_and_its_float_parent_on_one_runtime(qtbot, tab, mixed) -> None:
    root, child = mixed.variants.values()
    assert set(root.metrics["latency"]) == {"torch"} and set(child.metrics["latency"]) == {"ort"}
    before = _why(tab)
    assert "measure both the same way (Measure all on one runtime)" in before
    assert "--" not in before  # app words, not the command line's flags
    assert tab.measure_all.button.text() == "Measure all on one runtime"
    with qtbot.waitSignal(tab.measure_all.measured, timeout=120_000):
        tab.measure_all.start(QUICK)
        assert tab.measure_all.button.text() == "Cancel measuring"
    assert "ort" in root.metrics["latency"] and "ort" in child.metrics["latency"]
    for variant in (root, child):
        assert "separate process" in variant.metrics["latency"]["ort"]["notes"][0]
    after = _why(tab)
    assert "measure both the same way" not in after
    assert "digits_cnn (int8)" in after
    assert tab.measure_all.button.text() == "Measure all on one runtime"


def test_cancel_stores_nothing(qtbot, tab, mixed) -> None:
    slow = SideBySideOptions(warmup_s=0.05, rounds=10_000, runs_per_round=10, round_s=0.5)
    job = tab.measure_all.start(slow)
    qtbot.waitUntil(lambda: "Round" in tab.measure_all.status.text(), timeout=60_000)
    tab.measure_all.button.click()  # the button reads "Cancel measuring" while it runs
    qtbot.waitUntil(lambda: not tab.tasks.busy, timeout=30_000)
    assert job is not None and "Cancelled" in tab.measure_all.status.text()
    root, child = mixed.variants.values()
    assert set(root.metrics["latency"]) == {"torch"} and set(child.metrics["latency"]) == {"ort"}


def test_measured_figures_are_stored_through_the_project(qtbot, tab, mixed) -> None:
    """Listeners of the project (the inspector, autosave) hear of each variant measured."""
    changed: list[str] = []
    mixed.events.variant_changed.connect(lambda variant: changed.append(variant.id))
    with qtbot.waitSignal(tab.measure_all.measured, timeout=120_000):
        tab.measure_all.start(QUICK)
    assert sorted(changed) == sorted(mixed.variants)
