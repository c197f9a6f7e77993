"""The Compare tab with three real variants (ONNX root, pruned child, QDQ int8 child,
each measured by the real benchmark and evaluation): the table shows the stored
figures, the front and the budget pick are right, the layer diff feeds the overlay."""

from __future__ import annotations

import pytest
from fixtures.compare_variants import cached_project
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView

from workbench.core.compare.graph_match import CHANGED_OVERLAY
from workbench.core.compare.table import format_value
from workbench.core.measure.metrics import Metrics
from workbench.ui.compare import CompareTab
from workbench.ui.compare.compare_tab import VALUE_ROLE

P50 = "latency.ort.b1.p50_ms"


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    return tmp_path_factory.getbasetemp() / "compare_project"


@pytest.fixture
def project(built):
    return cached_project(built, profile=True)  # a fresh Project each test, files reused


@pytest.fixture
def tab(qtbot, project):
    # not qtbot.addWidget: pytest-qt would delete the widget (and its TaskRunner) before
    # this fixture's teardown could wait for the background jobs
    widget = CompareTab()
    widget.resize(1300, 850)
    widget.show()
    widget.set_project(project)
    # the first pair's graphs are matched and laid out in the workers: let them land
    qtbot.waitUntil(lambda: not widget.tasks.busy and widget.graph_diff.is_ready, timeout=20_000)
    yield widget
    qtbot.waitUntil(lambda: not widget.tasks.busy, timeout=20_000)
    widget.close()
    widget.deleteLater()


def cell(tab, label: str, column: int):
    labels = [tab.table.verticalHeaderItem(r).text() for r in range(tab.table.rowCount())]
    return tab.table.item(labels.index(label), column)


def test_table_shows_the_stored_metrics_of_three_variants(tab, project):
    variants = list(project.variants.values())
    assert tab.table.columnCount() == 3
    header = [tab.table.horizontalHeaderItem(c) for c in range(3)]
    assert header[0].toolTip() == f"{variants[0].name} (baseline)"
    assert header[0].text() == f"{variants[0].name}\n(baseline)"
    label = tab.comparison.table.row(P50).spec.label
    for column, variant in enumerate(variants):
        stored = variant.metrics["latency"]["ort"]["batches"][0]["latency"]["p50_ms"]
        item = cell(tab, label, column)
        assert item.data(VALUE_ROLE) == stored
        assert item.text().splitlines()[0] == format_value(stored, "ms")
        top1 = variant.metrics["accuracy"]["ort"]["top1"]
        assert cell(tab, "top-1 ort (digits)", column).data(VALUE_ROLE) == top1
        assert (
            cell(tab, "MACs (batch 1)", column).data(VALUE_ROLE) == variant.metrics["facts"]["macs"]
        )
    # best latency is bold on a green background, and only there
    stored = [v.metrics["latency"]["ort"]["batches"][0]["latency"]["p50_ms"] for v in variants]
    best = stored.index(min(stored))
    assert [cell(tab, label, c).font().bold() for c in range(3)] == [c == best for c in range(3)]
    delta = cell(tab, label, 1).text().splitlines()[1]
    assert f"×{stored[1] / stored[0]:.2f}" in delta


def test_unmeasured_variant_reads_dash_and_metric_changes_refresh(tab, project):
    root = next(iter(project.variants.values()))
    bare = project.add_child(root, "not measured yet", {"pass": "prune"})
    tab.refresh()
    assert tab.table.columnCount() == 4
    for row in range(tab.table.rowCount()):
        item = tab.table.item(row, 3)
        assert item.text() == "—" and item.data(VALUE_ROLE) is None
    bare.metrics = dict(root.metrics)  # measured now: same figures as the root
    tab.refresh()
    label = tab.comparison.table.row(P50).spec.label
    assert cell(tab, label, 3).data(VALUE_ROLE) == cell(tab, label, 0).data(VALUE_ROLE)


def test_pareto_front_and_budget_pick_mark_the_right_points(tab, project):
    fixed = {
        "digits_cnn": (1.0, 0.95),
        "digits_cnn (pruned)": (0.4, 0.60),
        "digits_cnn (int8)": (0.6, 0.95),
    }
    for variant in project.variants.values():
        m = Metrics.from_json(variant.metrics)
        p50, top1 = fixed[variant.name]
        m.latency["ort"].batches[0].latency.p50_ms = p50
        m.accuracy["ort"].top1 = top1
        variant.metrics = m.to_json()
    tab.refresh()
    assert tab.pareto.front_names == ["digits_cnn (pruned)", "digits_cnn (int8)"]
    assert tab.pages.tabText(tab.pages.indexOf(tab.pareto)) == "Latency vs accuracy"
    assert sorted(s.data() for s in tab.pareto.scatter.points()) == [0, 1, 2]
    tab.set_budget("latency", 0.5)
    assert tab.pick_label.text() == "best under latency ≤ 0.5 ms: digits_cnn (pruned)"
    tab.set_budget("latency", 0.7)
    assert tab.pick_label.text().endswith(": digits_cnn (int8)")
    tab.set_budget("latency", 0.1)
    assert tab.pick_label.text().startswith("no variant measured within")
    tab.select([v.id for v in project.variants.values()][:1])
    assert tab.comparison is None and tab.table.rowCount() == 0


def test_layer_diff_lists_changes_and_emits_the_changed_overlay(tab, project, qtbot):
    root, pruned, int8 = project.variants.values()
    assert pruned.id in tab.diffs and int8.id not in tab.diffs  # the first pair is matched
    with qtbot.waitSignal(tab.overlay_ready, timeout=20_000) as signal:
        tab.pair_box.setCurrentIndex(tab.pair_box.findData(int8.id))
    variant_id, overlay = signal.args
    assert variant_id == int8.id and overlay.name == CHANGED_OVERLAY
    quantize = [n.id for n in tab.graphs[int8.id].nodes if n.op_type == "QuantizeLinear"]
    assert quantize and all(overlay.values[i] == 1.0 for i in quantize)  # added
    qtbot.waitUntil(lambda: tab.graph_diff.is_ready, timeout=20_000)
    assert tab.graph_diff.diff is tab.diffs[int8.id]
    # back to the pruned child: its layers, from the cached match
    tab.pair_box.setCurrentIndex(tab.pair_box.findData(pruned.id))
    rows = [[tab.layers.item(r, c).text() for c in range(6)] for r in range(tab.layers.rowCount())]
    convs = [r for r in rows if r[1] == "Conv"]
    assert len(convs) == 3 and all(r[2] == "changed" and "→" in r[3] for r in convs)
    assert all("parameters" in r[5] and "output" in r[5] for r in convs)
    pruned_overlay = tab.changed_overlay(pruned.id)
    conv_ids = [n.id for n in tab.graphs[pruned.id].nodes if n.op_type == "Conv"]
    assert all(pruned_overlay.values[i] == 0.5 for i in conv_ids)
    assert tab.changed_overlay(root.id) is None  # the root has no parent to differ from
    qtbot.waitUntil(lambda: tab.graph_diff.is_ready, timeout=20_000)


def test_export_from_the_tab_writes_html_with_charts(tab, tmp_path):
    path = tab.export_report(tmp_path / "cmp.html")
    text = path.read_text(encoding="utf-8")
    assert "<table>" in text and "cmp_charts/pareto.png" in text
    assert (tmp_path / "cmp_charts" / "pareto.png").stat().st_size > 0


def test_variant_list_ticks_choose_what_is_compared(tab, project, qtbot):
    item = tab.variant_list.item(2)
    item.setCheckState(Qt.CheckState.Unchecked)
    assert tab.table.columnCount() == 2
    assert tab.comparison.table.names == [v.name for v in list(project.variants.values())[:2]]


def test_every_figure_is_whole_in_a_narrow_table(qtbot, tab) -> None:
    """Columns are as wide as their figures: a narrow table scrolls instead of eliding."""
    table = tab.table
    for width in (420, 1600):
        table.resize(width, 400)
        qtbot.wait(50)
        for column in range(table.columnCount()):
            assert table.columnWidth(column) >= table.sizeHintForColumn(column)
    stretched = table.horizontalHeader().sectionResizeMode(0)
    assert stretched == QHeaderView.ResizeMode.Stretch  # wide enough: the columns fill it
