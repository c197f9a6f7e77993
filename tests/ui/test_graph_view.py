"""The graph canvas as a user meets it: real models, real Qt items, offscreen."""

from __future__ import annotations

import weakref
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage

from workbench.core.graph.hierarchy import ROOT
from workbench.core.inspection import Inspection, inspect_model
from workbench.ui.graph_view import GraphWidget
from workbench.ui.graph_view.items import FAMILY_COLORS, NO_VALUE_COLORS, BoxItem

WAIT_MS = 30_000


@pytest.fixture(scope="module")
def resnet50(resnet50_onnx: Path) -> Inspection:
    return inspect_model(resnet50_onnx)


@pytest.fixture
def widget(qtbot) -> Iterator[GraphWidget]:
    view = GraphWidget()
    view.resize(1200, 800)
    qtbot.addWidget(view)
    view.show()
    yield view
    view.tasks.wait_all()


def _open(qtbot, widget: GraphWidget, inspection: Inspection, **options) -> None:
    with qtbot.waitSignal(widget.ready, timeout=WAIT_MS):
        widget.set_graph(inspection.graph, inspection.loaded, **options)


def _wait_relayout(qtbot, widget: GraphWidget, action) -> None:
    with qtbot.waitSignal(widget.ready, timeout=WAIT_MS):
        action()


def _box_items(widget: GraphWidget) -> list[BoxItem]:
    return [i for i in widget.scene.items() if isinstance(i, BoxItem)]


def _visible_leaves(widget: GraphWidget) -> set[int]:
    hierarchy = widget.hierarchy
    return {
        leaf
        for leaf in range(hierarchy.leaf_count)
        if all(p in widget.expanded for p in hierarchy.ancestors(leaf))
    }


def _click_point(widget: GraphWidget, item: BoxItem) -> QPoint:
    widget.view.centerOn(item)
    return widget.view.mapFromScene(item.sceneBoundingRect().center())


def test_opening_a_model_puts_one_item_per_visible_box(qtbot, widget, resnet50) -> None:
    _open(qtbot, widget, resnet50)
    items = _box_items(widget)
    leaves = {i.ref for i in items if i.kind != "group"}
    assert leaves == _visible_leaves(widget)
    assert len(items) == len({(i.kind, i.ref) for i in items})  # one item each
    # ResNet-50 is small enough to open fully expanded: every node is a box
    assert sum(1 for i in items if i.kind == "node") == len(resnet50.graph.nodes)
    conv = widget.node_item("/layer1/layer1.0/conv1/Conv")
    assert conv.title == "Conv" and conv.subtitle == "1×64×56×56"
    assert conv.brush().color() == QColor(FAMILY_COLORS["conv"][0])


def test_collapse_and_expand_change_the_visible_count(qtbot, widget, resnet50) -> None:
    _open(qtbot, widget, resnet50)
    everything = widget.visible_box_count()
    _wait_relayout(qtbot, widget, widget.collapse_all)
    root = widget.hierarchy.groups[ROOT]
    assert widget.visible_box_count() == len(root.leaves) + len(root.groups) < everything
    layer1 = widget.scene.boxes[("group", ("layer1",))]
    point = _click_point(widget, layer1)
    with qtbot.waitSignal(widget.ready, timeout=WAIT_MS):
        qtbot.mouseDClick(widget.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert ("layer1",) in widget.expanded
    expanded_count = widget.visible_box_count()
    assert expanded_count == len(root.leaves) + len(root.groups) - 1 + 3  # layer1.0-.2
    _wait_relayout(qtbot, widget, lambda: widget.collapse(("layer1",)))
    assert widget.visible_box_count() == len(root.leaves) + len(root.groups)


def test_search_finds_and_centres_a_hidden_node(qtbot, widget, resnet50) -> None:
    _open(qtbot, widget, resnet50)
    _wait_relayout(qtbot, widget, widget.collapse_all)
    assert widget.find("layer4.2/conv3") == 1
    assert widget.find("no such node") == 0
    assert widget.find("Gemm") == 1
    assert widget.find("layer4.2/conv3") == 1
    with qtbot.waitSignal(widget.ready, timeout=WAIT_MS):
        node = widget.find_next()  # it sits inside collapsed groups: they open
    assert node.id == "/layer4/layer4.2/conv3/Conv"
    item = widget.node_item(node.id)
    assert item is not None and item.isSelected()
    # centred (across, only as far as the scene is wider than the view)
    centre = widget.view.mapToScene(widget.view.viewport().rect().center())
    assert abs(centre.y() - item.sceneBoundingRect().center().y()) < 5
    assert widget.view.visible_scene_rect().contains(item.sceneBoundingRect())
    assert widget.search_bar.status.text() == "1 of 1"


def test_clicking_a_node_selects_it_and_lights_its_neighbours(qtbot, widget, resnet50) -> None:
    _open(qtbot, widget, resnet50)
    conv = widget.node_item("/layer1/layer1.0/conv2/Conv")
    point = _click_point(widget, conv)
    with qtbot.waitSignal(widget.node_selected, timeout=5_000) as blocker:
        qtbot.mouseClick(widget.view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert blocker.args[0].id == "/layer1/layer1.0/conv2/Conv"
    lit = {i.ref for i in _box_items(widget) if i.highlight is not None}
    names = {widget.graph.nodes[r].id for r in lit if r < len(widget.graph.nodes)}
    graph = widget.graph
    node = graph.node("/layer1/layer1.0/conv2/Conv")
    producers, consumers = graph.producers(), graph.consumers()
    expected = {producers[t] for t in node.inputs if t in producers}
    expected |= {c for t in node.outputs for c in consumers.get(t, [])}
    assert names == expected
    assert {"/layer1/layer1.0/relu/Relu", "/layer1/layer1.0/relu_1/Relu"} <= names
    assert any(e.zValue() > 0 for e in widget.scene.edges)  # its edges are drawn on top
    with qtbot.waitSignal(widget.selection_cleared, timeout=5_000):
        widget.scene.clearSelection()
    assert all(i.highlight is None for i in _box_items(widget))


def test_switching_overlays_recolours_the_boxes(qtbot, widget, resnet50) -> None:
    _open(qtbot, widget, resnet50)
    conv = widget.node_item("/layer4/layer4.0/conv2/Conv")
    relu = widget.node_item("/layer4/layer4.0/relu/Relu")
    family = conv.brush().color()
    widget.show_overlay("Parameters")
    assert conv.brush().color() != family
    assert relu.brush().color() == QColor(NO_VALUE_COLORS[0])  # a Relu has no weights
    assert widget.legend.title == "Parameters"
    convs = [n.id for n in widget.graph.nodes if n.op_type == "Conv"]
    share = {node_id: (1.0 if node_id == convs[0] else 0.01) for node_id in convs}
    widget.set_overlay("Latency share", share, "Share of latency", kind="percent")
    first, other = widget.node_item(convs[0]), widget.node_item(convs[1])
    assert first.brush().color() != other.brush().color()
    assert widget.legend.title == "Share of latency"
    assert "Share of latency: 100.0%" in widget.scene.tooltip_at(first.sceneBoundingRect().center())
    widget.show_overlay("Op family")
    assert conv.brush().color() == family


def test_weight_sparsity_is_counted_in_a_worker(qtbot, widget) -> None:
    demo = inspect_model("zoo:digits_cnn")
    _open(qtbot, widget, demo)
    qtbot.waitUntil(lambda: widget.overlay_box.findText("Weight sparsity") >= 0)
    widget.show_overlay("Weight sparsity")
    qtbot.waitUntil(lambda: widget.overlay is not None, timeout=WAIT_MS)
    assert widget.overlay.name == "Weight sparsity"
    assert widget.legend.title == "Zero weights"


def test_a_graph_another_replaced_is_freed(qtbot, widget) -> None:
    """While a graph is shown the view freezes the collector's objects (gc.freeze), so
    whatever an earlier open left in a reference cycle stays for good. Each finished
    job lets go of its closure, which held the graph: reference counting frees it."""
    first = inspect_model("zoo:digits_cnn")
    gone = weakref.ref(first.graph)
    _open(qtbot, widget, first)
    del first
    _open(qtbot, widget, inspect_model("zoo:digits_cnn"))
    qtbot.waitUntil(lambda: not widget.tasks.busy, timeout=WAIT_MS)  # the overview too
    qtbot.waitUntil(lambda: gone() is None, timeout=5_000)


def test_zoom_pan_and_fit_from_the_keyboard(qtbot, widget, resnet50) -> None:
    _open(qtbot, widget, resnet50)
    view = widget.view
    view.setFocus()
    before = view.zoom
    qtbot.keyClick(view, Qt.Key.Key_Plus)
    assert view.zoom == pytest.approx(before * 1.25)
    qtbot.keyClick(view, Qt.Key.Key_Minus)
    assert view.zoom == pytest.approx(before)
    scroll = view.verticalScrollBar().value()
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert view.verticalScrollBar().value() > scroll
    qtbot.keyClick(view, Qt.Key.Key_0)
    assert view.visible_scene_rect().contains(widget.scene.itemsBoundingRect().center())


def test_an_edge_tells_its_tensor_shape_on_hover(qtbot, widget, resnet50) -> None:
    _open(qtbot, widget, resnet50)
    edge = next(e for e in widget.scene.edges if e.path().length() > 60)
    middle = edge.path().pointAtPercent(0.5)
    text = widget.scene.tooltip_at(middle)
    assert "float32[1x" in text


def test_the_minimap_moves_the_view(qtbot, widget, resnet50) -> None:
    _open(qtbot, widget, resnet50)
    qtbot.waitUntil(lambda: widget.minimap._image is not None, timeout=WAIT_MS)
    widget.view.set_zoom(1.0)
    before = widget.view.visible_scene_rect().center()
    bottom = QPoint(widget.minimap.width() // 2, widget.minimap.height() - 5)
    qtbot.mouseClick(widget.minimap, Qt.MouseButton.LeftButton, pos=bottom)
    assert widget.view.visible_scene_rect().center().y() > before.y() + 100


def test_the_minimap_shows_the_last_overlay_after_quick_switches(
    qtbot, widget, resnet50, monkeypatch
) -> None:
    import time

    from workbench.ui.graph_view import minimap
    from workbench.ui.graph_view.minimap import overview_boxes, render_overview

    _open(qtbot, widget, resnet50)
    qtbot.waitUntil(lambda: widget.minimap._image is not None, timeout=WAIT_MS)
    calls = []

    def first_render_slow(*args):  # the first render finishes after the second
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.5)
        return render_overview(*args)

    monkeypatch.setattr(minimap, "render_overview", first_render_slow)
    widget.show_overlay("Parameters")
    widget.show_overlay("MACs")
    qtbot.waitUntil(lambda: not widget.tasks.busy, timeout=WAIT_MS)
    qtbot.wait(10)  # the last render's result is delivered
    rect, size = widget.scene.sceneRect(), widget.minimap.size()
    expected, _ = render_overview(
        rect, overview_boxes(widget.scene.layout, widget.scene.boxes),
        size.width() - 4, size.height() - 4,
    )  # fmt: skip
    assert widget.minimap._image == expected


def test_export_writes_png_and_svg(qtbot, widget, resnet50, tmp_path: Path) -> None:
    _open(qtbot, widget, resnet50, expanded={ROOT})
    png = widget.export_image(tmp_path / "graph.png")
    image = QImage(str(png))
    assert not image.isNull() and image.width() > 100 and image.height() > 100
    svg = widget.export_image(tmp_path / "graph.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and svg.stat().st_size > 1000
    assert "layer1" in svg.read_text()


def test_an_empty_view_says_how_to_open_a_model_and_shows_no_overview(qtbot, widget) -> None:
    assert widget.placeholder.isVisible() and "Ctrl+O" in widget.placeholder.text()
    assert not widget.minimap.isVisible() and not widget.legend.isVisible()
    _open(qtbot, widget, inspect_model("zoo:digits_cnn"))
    assert not widget.placeholder.isVisible()
    qtbot.waitUntil(lambda: widget.minimap.isVisible() and widget.legend.isVisible())
    widget.clear()
    assert widget.graph is None and widget.visible_box_count() == 0
    assert widget.placeholder.isVisible() and not widget.minimap.isVisible()
