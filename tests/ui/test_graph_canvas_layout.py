"""The canvas keeps its space for the graph (#19): the legend and the overview sit beside
the boxes, never on them, fold away and remember it; no toolbar text widens the window."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QRect, Qt

from workbench.core.inspection import inspect_model
from workbench.ui.graph_view import GraphWidget
from workbench.ui.graph_view.chrome import LEGEND_KEY, OVERVIEW_KEY
from workbench.ui.graph_view.items import BoxItem
from workbench.ui.graph_view.overlay_box import SPARSITY
from workbench.ui.main_window import DEMO_SOURCE
from workbench.ui.settings import open_settings

WAIT_MS = 60_000


@pytest.fixture
def widget(qtbot) -> Iterator[GraphWidget]:
    view = GraphWidget()
    view.resize(900, 700)
    qtbot.addWidget(view)
    view.show()
    yield view
    view.tasks.wait_all()


def _open(qtbot, widget: GraphWidget, source: str = "zoo:digits_cnn") -> None:
    inspection = inspect_model(source)
    with qtbot.waitSignal(widget.ready, timeout=WAIT_MS):
        widget.set_graph(inspection.graph, inspection.loaded)
    qtbot.waitUntil(lambda: widget.legend.isVisible(), timeout=WAIT_MS)


def _visible_node_rects(widget: GraphWidget) -> list[QRect]:
    """Each node box's part that shows in the viewport, in the view's coordinates."""
    view = widget.view
    viewport = view.viewport().geometry()
    rects = []
    for item in widget.scene.items():
        if isinstance(item, BoxItem) and item.kind == "node":
            rect = view.mapFromScene(item.sceneBoundingRect()).boundingRect()
            shown = rect.translated(viewport.topLeft()).intersected(viewport)
            if not shown.isEmpty():
                rects.append(shown)
    return rects


def _assert_nothing_covered(widget: GraphWidget) -> int:
    pieces = [w for w in (widget.legend, widget.minimap, widget.chrome.overview_button,
                          widget.chrome.count) if w.isVisible()]  # fmt: skip
    for piece in pieces:  # where the user sees them: inside the view, below or beside
        assert widget.view.rect().contains(piece.geometry()), piece.objectName()
    rects = _visible_node_rects(widget)
    assert rects, "no node in view: the check would prove nothing"
    for rect in rects:
        for piece in pieces:
            assert not rect.intersects(piece.geometry()), f"{piece.objectName()} covers a node"
    return len(pieces)


def test_on_the_demo_nothing_covers_a_node_legend_open_or_not(qtbot, main_window) -> None:
    main_window.resize(1280, 800)
    main_window.open_source(DEMO_SOURCE)
    graph = main_window.graph_view
    qtbot.waitUntil(lambda: graph.is_ready and graph.legend.isVisible(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: graph.minimap.has_picture, timeout=WAIT_MS)
    qtbot.wait(20)
    assert not graph.legend.expanded  # folded by default: a header, not a panel
    assert graph.legend.width() < 120 and graph.legend.height() < 30
    assert graph.minimap.width() <= 130
    # The demo is taller than the canvas at a readable zoom: the overview helps, and shows.
    assert graph.minimap.isVisible()
    assert _assert_nothing_covered(graph) == 4
    qtbot.mouseClick(graph.legend, Qt.MouseButton.LeftButton)
    qtbot.wait(20)
    assert graph.legend.expanded and graph.legend.height() > 30
    _assert_nothing_covered(graph)
    graph.view.verticalScrollBar().setValue(graph.view.verticalScrollBar().maximum())
    qtbot.wait(20)
    _assert_nothing_covered(graph)  # the bottom of the graph, too


def test_legend_and_overview_fold_by_their_own_widgets_and_are_remembered(qtbot, widget) -> None:
    _open(qtbot, widget)
    widget.view.set_zoom(1.0)  # taller than the canvas: the overview has work
    qtbot.waitUntil(lambda: widget.minimap.isVisible())
    folded = widget.legend.size()
    qtbot.mouseClick(widget.legend, Qt.MouseButton.LeftButton)
    assert widget.legend.expanded and widget.legend.title == "Op family"
    assert widget.legend.height() > folded.height()
    qtbot.mouseClick(widget.chrome.overview_button, Qt.MouseButton.LeftButton)
    assert not widget.minimap.isVisible()
    assert widget.view.margins()[0] == 0  # its column is given back to the graph
    settings = open_settings()
    assert settings.value(LEGEND_KEY) in (True, "true")
    assert settings.value(OVERVIEW_KEY) in (False, "false")

    again = GraphWidget()  # a new window starts as the user left it
    qtbot.addWidget(again)
    assert again.legend.expanded and not again.chrome.overview_button.isChecked()
    qtbot.mouseClick(widget.legend, Qt.MouseButton.LeftButton)
    assert not widget.legend.expanded and widget.legend.size() == folded
    qtbot.mouseClick(widget.chrome.overview_button, Qt.MouseButton.LeftButton)
    assert widget.minimap.isVisible()


def test_the_overview_steps_aside_while_the_whole_graph_shows(qtbot, widget) -> None:
    _open(qtbot, widget)
    qtbot.waitUntil(lambda: widget.minimap.has_picture, timeout=WAIT_MS)
    widget.view.fit()
    qtbot.wait(20)
    assert not widget.minimap.isVisible() and widget.view.margins()[0] == 0
    widget.view.set_zoom(1.5)
    qtbot.wait(20)
    assert widget.minimap.isVisible() and widget.view.margins()[0] > 0


def test_a_long_status_does_not_widen_the_canvas_and_a_finished_job_clears_it(
    qtbot, widget
) -> None:
    _open(qtbot, widget)
    assert widget.minimumSizeHint().width() < 400
    widget.status.setText("counting zero weights in every layer of a very large model… " * 4)
    assert widget.minimumSizeHint().width() < 400
    qtbot.wait(20)
    assert widget.status.isVisible()  # cut to fit, not pushed into the toolbar's » menu
    assert widget.status.toolTip().startswith("counting zero weights")  # the whole text
    widget.show_overlay(SPARSITY)  # counts zero weights in a worker
    qtbot.waitUntil(lambda: widget.legend.title == "Zero weights", timeout=WAIT_MS)
    assert "counting" not in widget.status.text()
    assert widget.status.text().endswith("boxes")
