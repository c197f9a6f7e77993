"""The side-by-side graph diff on real variants: a Torch-Pruning child and a QDQ int8
child against their ONNX parent, coloured by what changed, navigating together; and
the main graph view's "changed versus parent" overlay fed from the same match."""

from __future__ import annotations

import pytest
from fixtures.compare_variants import cached_project, graphs_of
from PySide6.QtGui import QColor

from workbench.core.compare import changed_overlay, diff_graphs
from workbench.core.compare.graph_match import ADDED, CHANGED, REMOVED, SAME
from workbench.ui.compare import GraphDiffView
from workbench.ui.compare.graph_diff import STATUS_COLORS
from workbench.ui.graph_view import GraphWidget


@pytest.fixture(scope="session")
def graphs(tmp_path_factory):
    project = cached_project(tmp_path_factory.getbasetemp() / "compare_project", profile=True)
    found = graphs_of(project)
    names = {v.name: v.id for v in project.variants.values()}
    return {
        label: found[names[name]]
        for label, name in (
            ("root", "digits_cnn"),
            ("pruned", "digits_cnn (pruned)"),
            ("int8", "digits_cnn (int8)"),
        )
    }


@pytest.fixture
def view(qtbot):
    widget = GraphDiffView()  # not qtbot.addWidget: its jobs must end before deletion
    widget.resize(1400, 800)
    widget.show()
    yield widget
    qtbot.waitUntil(lambda: not widget.tasks.busy, timeout=20_000)
    widget.close()
    widget.deleteLater()


def fill(status: str) -> QColor:
    return QColor(STATUS_COLORS[status][0])


def shown(view, qtbot, parent, child):
    diff = diff_graphs(parent, child)
    with qtbot.waitSignal(view.ready, timeout=20_000):
        view.show_diff(parent, child, diff)
    qtbot.waitUntil(lambda: view.is_ready, timeout=20_000)
    view.left.scene.finish()
    view.right.scene.finish()
    return diff


def ids(graph, op_type: str) -> list[str]:
    return [n.id for n in graph.nodes if n.op_type == op_type]


def test_pruned_child_shows_changed_convs_on_both_sides(view, qtbot, graphs):
    parent, child = graphs["root"], graphs["pruned"]
    shown(view, qtbot, parent, child)
    for side, graph in (("left", parent), ("right", child)):
        for node_id in ids(graph, "Conv") + ids(graph, "Gemm"):
            assert view.status_of(side, node_id) == CHANGED
            assert view.box_fill(side, node_id) == fill(CHANGED)
    # nothing was added or removed by pruning channels
    statuses = {view.status_of("right", n.id) for n in child.nodes}
    assert ADDED not in statuses and REMOVED not in statuses
    assert f"{len(child.nodes)} changed, 0 added, 0 removed" in view.summary.text()
    assert view.left.legend.title == "Difference vs parent"


def test_quantized_child_shows_added_qdq_and_removed_relus(view, qtbot, graphs):
    parent, child = graphs["root"], graphs["int8"]
    shown(view, qtbot, parent, child)
    for node_id in ids(child, "QuantizeLinear") + ids(child, "DequantizeLinear"):
        assert view.box_fill("right", node_id) == fill(ADDED)
    for node_id in ids(parent, "Relu"):
        assert view.box_fill("left", node_id) == fill(REMOVED)
    for node_id in ids(parent, "MaxPool"):
        assert view.box_fill("left", node_id) == fill(SAME)
    conv = ids(child, "Conv")[0]
    assert view.box_fill("right", conv) == fill(CHANGED)
    # the same fills on the two sides mean the same thing; other overlays still work
    view.right.show_overlay("Parameters")
    assert view.box_fill("right", ids(child, "QuantizeLinear")[0]) != fill(ADDED)


def test_zoom_and_pan_on_one_side_move_the_other(view, qtbot, graphs):
    parent, child = graphs["root"], graphs["int8"]
    diff = shown(view, qtbot, parent, child)
    view.left.view.set_zoom(1.5)
    assert view.right.view.zoom == pytest.approx(1.5)
    # centre the parent on its middle Conv: the child centres on that node's partner
    conv = ids(parent, "Conv")[1]
    view.left.view.centerOn(view.left.node_item(conv).sceneBoundingRect().center())
    here = view.left.view.visible_scene_rect().center()
    offset = here - view.left.node_item(conv).sceneBoundingRect().center()
    assert offset.manhattanLength() < 20  # not clamped at an edge
    partner = diff.partner_in_child()[conv]
    target = view.right.node_item(partner).sceneBoundingRect().center()
    centre = view.right.view.visible_scene_rect().center()
    assert (centre - target).manhattanLength() < 20
    assert abs(target.y() - view.left.node_item(conv).sceneBoundingRect().center().y()) > 50
    view.right.view.set_zoom(0.8)  # and the other way round
    assert view.left.view.zoom == pytest.approx(0.8)


def test_main_graph_view_takes_the_changed_versus_parent_overlay(qtbot, graphs):
    widget = GraphWidget()
    widget.resize(900, 700)
    widget.show()
    parent, child = graphs["root"], graphs["int8"]
    with qtbot.waitSignal(widget.ready, timeout=20_000):
        widget.set_graph(child)
    overlay = changed_overlay(diff_graphs(parent, child))
    widget.add_overlay(overlay)
    widget.show_overlay(overlay.name)
    widget.scene.finish()
    added = widget.node_item(ids(child, "QuantizeLinear")[0]).fill
    same = widget.node_item(ids(child, "MaxPool")[0]).fill
    changed = widget.node_item(ids(child, "Conv")[0]).fill
    assert len({added.name(), same.name(), changed.name()}) == 3
    assert widget.legend.title == overlay.title
    qtbot.waitUntil(lambda: not widget.tasks.busy, timeout=20_000)
    widget.close()
    widget.deleteLater()
