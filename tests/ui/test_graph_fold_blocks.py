"""Fold repeated blocks (#21): a real 4-layer BERT export opens with its encoder layers as
one group "layer ×4"; opening it shows the four layers (the first one open), search
reveals a node inside a folded layer, and the toolbar toggle shows every layer and is
remembered. The inspector lists the shape arithmetic a node reads."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixtures.transformer_graphs import build_bert

from workbench.core.inspection import Inspection, inspect_model
from workbench.ui.graph_view import GraphWidget
from workbench.ui.graph_view.graph_widget import FOLD_KEY
from workbench.ui.inspector import Inspector
from workbench.ui.settings import open_settings

WAIT_MS = 60_000
ENCODER = ("model", "bert", "encoder")
LAYERS = [(*ENCODER, f"layer.{i}") for i in range(4)]
FOLD = (*ENCODER, "layer.0…layer.3")


@pytest.fixture(scope="module")
def bert4(tmp_path_factory: pytest.TempPathFactory) -> Inspection:
    return inspect_model(build_bert(tmp_path_factory.mktemp("bert"), layers=4))


@pytest.fixture
def widget(qtbot) -> Iterator[GraphWidget]:
    view = GraphWidget()
    view.resize(1000, 700)
    qtbot.addWidget(view)
    view.show()
    yield view
    view.tasks.wait_all()


def _open(qtbot, widget: GraphWidget, inspection: Inspection) -> None:
    with qtbot.waitSignal(widget.ready, timeout=WAIT_MS):
        widget.set_graph(inspection.graph, inspection.loaded)


def _groups(widget: GraphWidget) -> set:
    return {ref for kind, ref in widget.scene.boxes if kind == "group"}


def test_the_layers_open_folded_and_expand_on_demand(qtbot, widget, bert4) -> None:
    _open(qtbot, widget, bert4)
    assert widget.fold_action.isEnabled() and widget.fold_action.isChecked()
    assert widget.folding and widget.run_count == 1
    box = widget.scene.boxes[("group", FOLD)]  # one box for the four layers
    assert (box.title, box.subtitle) == ("layer ×4", f"4 blocks · {box_size(widget)} nodes")
    assert not set(LAYERS) & (_groups(widget) | set(widget.scene.frames))
    assert "4 identical blocks" in widget.scene.tooltip_at(box.sceneBoundingRect().center())
    folded_boxes = widget.visible_box_count()

    with qtbot.waitSignal(widget.ready, timeout=WAIT_MS):
        widget.toggle(FOLD)  # as a double-click does
    assert FOLD in widget.scene.frames and ("group", FOLD) not in widget.scene.boxes
    assert widget.scene.frames[FOLD].label.startswith("layer ×4")
    assert LAYERS[0] in widget.scene.frames  # the first layer open, to read one
    assert set(LAYERS[1:]) <= _groups(widget)  # the other three one box each
    assert widget.visible_box_count() > folded_boxes

    with qtbot.waitSignal(widget.ready, timeout=WAIT_MS):
        widget.toggle(FOLD)  # and shut again
    assert ("group", FOLD) in widget.scene.boxes and FOLD not in widget.scene.frames


def box_size(widget: GraphWidget) -> int:
    return widget.hierarchy.groups[FOLD].size


def test_search_reveals_a_node_inside_a_folded_layer(qtbot, widget, bert4) -> None:
    _open(qtbot, widget, bert4)
    assert ("group", FOLD) in widget.scene.boxes
    assert widget.find("layer.2/intermediate/dense/MatMul") == 1
    with qtbot.waitSignal(widget.node_selected, timeout=WAIT_MS) as selected:
        node = widget.find_next()
    qtbot.waitUntil(lambda: widget.is_ready, timeout=WAIT_MS)
    assert selected.args[0] is node and "layer.2/intermediate" in node.name
    item = widget.node_item(node.id)
    assert item is not None and item.isSelected()
    assert {FOLD, LAYERS[2]} <= widget.expanded  # opened the fold and the layer
    assert widget.folding  # still folded: only opened


def test_the_toggle_shows_every_layer_and_is_remembered(qtbot, widget, bert4) -> None:
    _open(qtbot, widget, bert4)
    with qtbot.waitSignal(widget.ready, timeout=WAIT_MS):
        widget.fold_action.trigger()  # as a click on the toolbar button does
    assert not widget.folding and not widget.fold_action.isChecked()
    assert widget.fold_action.isEnabled()  # the graph still has the run to fold
    assert set(LAYERS) <= _groups(widget) | set(widget.scene.frames)
    assert not any(ref == FOLD for _kind, ref in widget.scene.boxes)
    assert open_settings().value(FOLD_KEY) == "false"

    other = GraphWidget()  # a new canvas (the next model, the next session) follows it
    qtbot.addWidget(other)
    with qtbot.waitSignal(other.ready, timeout=WAIT_MS):
        other.set_graph(bert4.graph)
    assert not other.folding
    other.tasks.wait_all()

    with qtbot.waitSignal(widget.ready, timeout=WAIT_MS):
        widget.fold_action.trigger()
    assert widget.folding and ("group", FOLD) in widget.scene.boxes
    assert open_settings().value(FOLD_KEY) == "true"


def test_a_cnn_has_no_blocks_to_fold(qtbot, widget) -> None:
    _open(qtbot, widget, inspect_model("zoo:digits_cnn"))
    assert not widget.fold_action.isEnabled() and not widget.folding


def test_the_inspector_lists_the_shape_arithmetic_a_node_reads(qtbot, widget, bert4) -> None:
    _open(qtbot, widget, bert4)
    assert widget.hiding_shape_math  # the canvas shows none of it
    inspector = Inspector()
    qtbot.addWidget(inspector)
    graph = widget.graph
    shown = widget.hierarchy.graph.nodes
    reshape = next(n for n in shown if n.op_type == "Reshape" and "attention/self" in n.name)
    inspector.show_node(graph, reshape)
    titles = [inspector.topLevelItem(i).text(0) for i in range(inspector.topLevelItemCount())]
    section = next(
        inspector.topLevelItem(i) for i, t in enumerate(titles) if t.startswith("Shape arith")
    )
    ops = {section.child(k).text(1) for k in range(section.childCount())}
    assert {"Shape", "Concat"} <= ops
    assert section.text(0) == f"Shape arithmetic feeding it ({section.childCount()})"
    matmul = next(n for n in shown if n.op_type == "MatMul")
    inspector.show_node(graph, matmul)
    titles = [inspector.topLevelItem(i).text(0) for i in range(inspector.topLevelItemCount())]
    assert not any(t.startswith("Shape arith") for t in titles)  # reads none
