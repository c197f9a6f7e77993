"""The canvas as a person uses it: Export Graph Image with a name typed without a suffix
or a folder that cannot be written (the file dialog answered by the test), Esc in search."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMessageBox

from workbench.core.inspection import inspect_model
from workbench.ui.graph_view import GraphWidget


@pytest.fixture
def widget(qtbot) -> Iterator[GraphWidget]:
    view = GraphWidget()
    view.resize(900, 600)
    qtbot.addWidget(view)
    view.show()
    with qtbot.waitSignal(view.ready, timeout=30_000):
        inspection = inspect_model("zoo:digits_cnn")
        view.set_graph(inspection.graph, inspection.loaded)
    yield view
    view.tasks.wait_all()


def _answer(monkeypatch, path: Path, chosen: str) -> None:
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, **_k: (str(path), chosen))


def test_a_name_without_suffix_gets_the_chosen_type(monkeypatch, widget, tmp_path) -> None:
    _answer(monkeypatch, tmp_path / "picture", "SVG (*.svg)")
    assert widget.export_dialog() == tmp_path / "picture.svg"
    assert (tmp_path / "picture.svg").read_text().lstrip().startswith("<?xml")
    _answer(monkeypatch, tmp_path / "shot", "PNG image (*.png)")
    assert widget.export_dialog() == tmp_path / "shot.png"
    assert not QImage(str(tmp_path / "shot.png")).isNull()


@pytest.mark.parametrize("name", ["missing/graph.png", "graph.jpg"])
def test_a_failed_export_is_said_in_a_dialog(qtbot, monkeypatch, widget, tmp_path, name) -> None:
    _answer(monkeypatch, tmp_path / name, "PNG image (*.png)")
    assert widget.export_dialog() is None
    box = widget.findChild(QMessageBox, "export-error")
    assert box is not None and box.isVisible()
    assert box.text().startswith(("could not write", "cannot export the graph as graph.jpg"))
    box.close()


def test_esc_leaves_the_search_and_gives_the_canvas_its_keys(qtbot, widget) -> None:
    widget.activateWindow()
    widget.focus_search()
    field = widget.search_bar.field
    qtbot.keyClicks(field, "Conv")
    assert widget.search_bar.matches
    qtbot.keyClick(field, Qt.Key.Key_Escape)
    assert field.text() == "" and widget.search_bar.matches == []
    qtbot.waitUntil(lambda: widget.view.hasFocus())


def test_ctrl_f_on_the_canvas_finds_in_the_graph_it_is_pressed_in(qtbot, main_window) -> None:
    main_window.open_source("zoo:digits_cnn")
    qtbot.waitUntil(lambda: main_window.current is not None, timeout=60_000)
    main_window.activateWindow()
    canvas = main_window.graph_view.view
    canvas.setFocus()
    qtbot.waitUntil(canvas.hasFocus)
    shortcut = QKeySequence(QKeySequence.StandardKey.Find)[0]
    qtbot.keyClick(canvas, shortcut.key(), shortcut.keyboardModifiers())
    qtbot.waitUntil(lambda: main_window.graph_view.search_bar.field.hasFocus())
    pane = main_window.tabs.compare.graph_diff.right  # a diff pane finds in itself
    assert pane.search_action.shortcut().isEmpty()  # one owner of Ctrl+F: no ambiguity
