"""Hide shape arithmetic (#21): a real BERT export (transformers, random weights) shows its
matrix products, not a wall of Shape/Gather/Unsqueeze/Concat; the toggle lays out again
in the worker, says how many nodes show, and search, selection and the choice still work."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from fixtures.public_models import BERT_SEQUENCE, BertLogits, export_onnx, seeded

from workbench.core.graph.shape_math import shape_math_nodes
from workbench.core.inspection import Inspection, inspect_model
from workbench.ui.graph_view import GraphWidget
from workbench.ui.graph_view.graph_widget import SHAPE_MATH_KEY
from workbench.ui.settings import open_settings

WAIT_MS = 60_000


@pytest.fixture(scope="module")
def small_bert(tmp_path_factory: pytest.TempPathFactory) -> Inspection:
    """One layer, 32 wide: the same exporter patterns as a full BERT, in a second."""
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(
        vocab_size=100, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=32, attn_implementation="eager",
    )  # fmt: skip
    path = tmp_path_factory.mktemp("bert") / "bert_small.onnx"
    ids = torch.randint(0, 100, (1, BERT_SEQUENCE))
    mask = torch.ones(1, BERT_SEQUENCE, dtype=torch.int64)
    axes = {0: "batch", 1: "sequence"}
    export_onnx(
        seeded(lambda: BertLogits(BertForSequenceClassification(config))), (ids, mask), path,
        input_names=["input_ids", "attention_mask"], output_names=["logits"],
        dynamic_axes={"input_ids": axes, "attention_mask": axes, "logits": {0: "batch"}},
    )  # fmt: skip
    return inspect_model(path)


@pytest.fixture
def widget(qtbot) -> Iterator[GraphWidget]:
    view = GraphWidget()
    view.resize(1000, 700)
    qtbot.addWidget(view)
    view.show()
    yield view
    view.tasks.wait_all()


def _node_boxes(widget: GraphWidget) -> int:
    return sum(1 for kind, _ref in widget.scene.boxes if kind == "node")


def _toggle(qtbot, widget: GraphWidget) -> None:
    with qtbot.waitSignal(widget.ready, timeout=WAIT_MS):
        widget.shape_math_action.trigger()  # as a click on the toolbar button does


def test_the_toggle_hides_and_shows_the_shape_arithmetic(qtbot, widget, small_bert) -> None:
    graph = small_bert.graph
    total, hidden = len(graph.nodes), len(shape_math_nodes(graph))
    with qtbot.waitSignal(widget.ready, timeout=WAIT_MS):
        widget.set_graph(graph, small_bert.loaded, expanded="all")
    # No choice made yet: a transformer opens without it (it is most of the graph).
    assert widget.shape_math_action.isEnabled() and widget.shape_math_action.isChecked()
    assert widget.hiding_shape_math and widget.graph is graph  # the inspector's graph
    shown = total - hidden
    assert _node_boxes(widget) == shown < total / 2
    assert widget.chrome.count.text() == f"{shown} of {total} nodes shown"
    ops = {widget.hierarchy.graph.nodes[ref].op_type for kind, ref in widget.scene.boxes
           if kind == "node"}  # fmt: skip
    assert "MatMul" in ops and not {"Shape", "Unsqueeze", "Concat", "Constant"} & ops

    _toggle(qtbot, widget)  # show everything
    assert not widget.hiding_shape_math and not widget.shape_math_action.isChecked()
    assert widget.chrome.count.text() == f"{total} nodes"
    assert open_settings().value(SHAPE_MATH_KEY) == "false"  # remembered
    assert widget.find("Unsqueeze") > 0  # and found by search once shown
    _toggle(qtbot, widget)  # and hide it again
    assert widget.hiding_shape_math and widget.chrome.count.text().startswith(f"{shown} of")
    assert open_settings().value(SHAPE_MATH_KEY) == "true"


def test_search_selection_and_a_hidden_node_still_work(qtbot, widget, small_bert) -> None:
    graph = small_bert.graph
    with qtbot.waitSignal(widget.ready, timeout=WAIT_MS):
        widget.set_graph(graph, small_bert.loaded)
    assert widget.hiding_shape_math
    assert widget.find("MatMul") >= 6  # Q, K, V, two products, output...
    with qtbot.waitSignal(widget.node_selected, timeout=WAIT_MS) as selected:
        node = widget.find_next()
        qtbot.waitUntil(lambda: widget.scene.selectedItems() != [], timeout=WAIT_MS)
    assert selected.args[0] is node and node in graph.nodes and node.op_type == "MatMul"
    assert widget.find("Unsqueeze") == 0  # hidden nodes are not on the canvas
    # Selecting a hidden node (the inspector or the fix loop asks for it) shows it.
    shape = next(n for n in graph.nodes if n.op_type == "Shape")
    with qtbot.waitSignal(widget.ready, timeout=WAIT_MS):
        widget.select_node(shape.id)
    qtbot.waitUntil(lambda: not widget.tasks.busy, timeout=WAIT_MS)
    assert not widget.hiding_shape_math
    item = widget.node_item(shape.id)
    assert item is not None and item.isSelected()
    assert open_settings().value(SHAPE_MATH_KEY, "auto") == "auto"  # no choice of theirs


def test_a_cnn_has_nothing_to_hide_and_the_toggle_says_so(qtbot, widget) -> None:
    inspection = inspect_model("zoo:digits_cnn")
    with qtbot.waitSignal(widget.ready, timeout=WAIT_MS):
        widget.set_graph(inspection.graph, inspection.loaded)
    assert not widget.shape_math_action.isEnabled() and not widget.hiding_shape_math
    assert widget.chrome.count.text() == f"{len(inspection.graph.nodes)} nodes"
