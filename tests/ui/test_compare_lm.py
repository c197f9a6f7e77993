"""Compare with language models (#23): a trained tiny_lm, its INT4 weight-only and
dynamic INT8 variants made by the real passes; the table reads perplexity (lower is
better), the scatter plots it against latency, and the Generation page shows the FP32
and INT4 continuations of one prompt side by side with their tokens/s.

``WORKBENCH_SNAP_DIR`` set: the pages are saved there as PNGs (the acceptance snapshot).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fixtures.tiny_lm import small_text, trained_tiny_lm
from PySide6.QtWidgets import QLabel, QTextBrowser

from workbench.core.compress.quantization.lm_figures import PERPLEXITY_WINDOWS
from workbench.core.compress.quantization.workflow import quantize_variant
from workbench.core.measure import Metrics, evaluate, store_metrics
from workbench.core.project import Project
from workbench.ui.compare import CompareTab

PROMPT = "Return the number of"


@pytest.fixture(scope="module")
def project() -> Project:
    """The three variants, each with perplexity on the same windows and ORT latency."""
    data = small_text()
    source = trained_tiny_lm()
    project = Project()
    root = project.add_root(source, "tiny_lm FP32")
    made = {}
    for method in ("int4", "dynamic"):
        config = {"error_samples": 0} if method == "int4" else {}
        outcome = quantize_variant(source, method, config, data=data, batches=(1,), seconds=0.3)
        child = project.add_child(root, outcome.name(), outcome.step, framework="onnx",
                                  metrics=outcome.variant_metrics())  # fmt: skip
        child.loaded = outcome.model
        made[method] = outcome
    # The root's figures: ORT on its float export, windows as the passes scored them.
    store_metrics(root, made["int4"].parent_metrics)
    report = evaluate(source, data=data, runtime="ort", max_samples=PERPLEXITY_WINDOWS)
    store_metrics(root, Metrics(accuracy={"ort": report}))
    return project


@pytest.fixture
def tab(qtbot, project):
    widget = CompareTab()
    widget.resize(1366, 768)
    widget.show()
    widget.set_project(project)
    widget.select(list(project.variants))
    yield widget
    qtbot.waitUntil(lambda: not widget.tasks.busy, timeout=30_000)
    widget.close()
    widget.deleteLater()


def _snap(widget, name: str) -> None:
    folder = os.environ.get("WORKBENCH_SNAP_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        platform = os.environ.get("QT_QPA_PLATFORM", "default")
        widget.grab().save(str(Path(folder) / f"{name}-{platform}.png"))


def test_the_table_and_scatter_read_perplexity_lower_better(qtbot, tab, project) -> None:
    table = tab.comparison.table
    row = table.row("accuracy.ort.perplexity")
    assert row is not None and row.spec.better == "lower"
    values = row.values()
    assert len(values) == 3 and all(v is not None for v in values)
    fp32, int4, int8 = values
    assert fp32 < small_text().num_classes / 4  # trained: far below the vocabulary
    assert int4 <= 1.1 * fp32 and int8 <= 1.1 * fp32  # weight-only INT4 keeps it close
    assert tab.comparison.axes.y == "accuracy.ort.perplexity"
    assert "perplexity (lower is better)" in tab.pareto.plotItem.titleLabel.text
    labels = [tab.table.verticalHeaderItem(r).text() for r in range(tab.table.rowCount())]
    assert any(label.startswith("perplexity ort") for label in labels)
    assert not any(label.startswith("top-1") for label in labels)
    tab.pages.setCurrentWidget(tab.pareto)
    _snap(tab, "compare-pareto")


def test_generation_shows_fp32_and_int4_side_by_side(qtbot, tab, project) -> None:
    root = next(v for v in project.variants.values() if v.parent is None)
    int4 = next(v for v in project.variants.values() if "INT4" in v.name)
    tab.select([root.id, int4.id])
    preview = tab.generation
    tab.pages.setCurrentWidget(preview)
    preview.prompt.setPlainText(PROMPT)
    preview.max_new.setValue(16)
    with qtbot.waitSignal(preview.generated, timeout=60_000) as got:
        preview.start()
    results = got.args[0]
    assert set(results) == {root.id, int4.id}
    assert (results[root.id].runtime, results[int4.id].runtime) == ("torch", "ort")
    assert all(r.tokens and r.tokens_per_s > 0 for r in results.values())
    browsers = preview.findChildren(QTextBrowser, "generation-text")
    assert len(browsers) == 2
    qtbot.waitUntil(lambda: all(b.isVisible() and b.height() > 100 for b in browsers))
    bodies = [b.toPlainText() for b in browsers]
    assert all(body.startswith(PROMPT) and len(body) > len(PROMPT) for body in bodies)
    speeds = [s.text() for s in preview.findChildren(QLabel, "generation-speed")]
    assert len(speeds) == 2 and all("tokens/s" in s for s in speeds)
    _snap(tab, "compare-generation")


def test_the_inspector_shows_perplexity_and_each_blocks_figures(qtbot, project) -> None:
    from PySide6.QtWidgets import QTreeWidgetItemIterator

    from workbench.core.inspection import inspect_model
    from workbench.ui.inspector import Inspector

    inspector = Inspector()
    qtbot.addWidget(inspector)
    int4 = next(v for v in project.variants.values() if "INT4" in v.name)
    inspector.show_variant(project, int4, inspect_model("zoo:tiny_lm").summary)
    rows, it = {}, QTreeWidgetItemIterator(inspector)
    while it.value():
        rows[it.value().text(0)] = it.value().text(1)
        it += 1
    accuracy = next(v for k, v in rows.items() if k.startswith("perplexity ort"))
    assert accuracy.startswith("perplexity ") and "lower is better" in accuracy
    assert rows["each of blocks ×4"].startswith("198,272 parameters")  # 4 of 1,334,016


def test_time_tokens_per_s_stores_them_and_places_the_scatter(qtbot, tab, project) -> None:
    """The Generation page's "Time tokens/s": each ticked variant on ONNX Runtime, the
    figures kept on the variants, read by the table and the scatter's speed axis."""
    preview = tab.generation
    tab.pages.setCurrentWidget(preview)
    errors: list = []
    measured: list = []
    preview.failed.connect(errors.append)
    preview.measured.connect(measured.append)
    preview.start_timing()
    assert preview.time_button.text() == "Cancel" and not preview.button.isEnabled()
    qtbot.waitUntil(lambda: bool(measured or errors), timeout=120_000)
    assert not errors, errors
    assert preview.button.isEnabled() and preview.time_button.text() == "Time tokens/s"
    table = tab.comparison.table
    row = table.row("generation.ort.b1.tokens_per_s")
    assert row is not None and row.spec.better == "higher"
    assert all(v is not None and v > 0 for v in row.values())
    assert table.row("generation.ort.b8.tokens_per_s") is not None
    labels = [tab.table.verticalHeaderItem(r).text() for r in range(tab.table.rowCount())]
    assert "decode tokens/s ort/CPU b1" in labels
    assert tab.comparison.axes.x == "generation.ort.b1.tokens_per_s"
    assert tab.pareto.plotItem.titleLabel.text.startswith("Tokens/s vs perplexity")
    # the page's tab says what it plots for a language model too
    assert tab.pages.tabText(tab.pages.indexOf(tab.pareto)) == "Tokens/s vs perplexity"
    assert "Decode tokens/s at batch 1" in preview.status.text()
    tab.pages.setCurrentWidget(tab.pareto)
    _snap(tab, "compare-pareto-tokens")
