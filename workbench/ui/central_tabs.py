"""The window's centre: the Graph, Structure, Training, Compare and Netron tabs."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication, QScrollArea, QTabWidget, QWidget

from workbench.ui.compare import CompareTab
from workbench.ui.graph_view import GraphWidget
from workbench.ui.netron_tab import NetronServer, NetronTab
from workbench.ui.structure_view import ModelPage
from workbench.ui.training.training_tab import TrainingTab
from workbench.ui.workers import TaskRunner


class CentralTabs(QTabWidget):
    def __init__(self, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tabs")
        self.graph_view = GraphWidget(tasks=tasks)
        self.model_page = ModelPage()
        self.training = TrainingTab()
        self.compare = CompareTab(tasks=tasks)
        self.netron = NetronTab()
        self.addTab(self.graph_view, "Graph")
        self.addTab(self.model_page, "Structure")
        self.addTab(_scrolling(self.training), "Training")
        self.addTab(_scrolling(self.compare), "Compare")
        self.addTab(self.netron, "Netron")

    def find_in_graph(self) -> None:
        """Ctrl+F: the search of the canvas that has focus (a graph-diff pane too), else
        the Graph tab's. The window's action is the one Ctrl+F: the canvases' own
        shortcuts are switched off here (two live shortcuts for one key are ambiguous,
        and Qt then runs neither)."""
        widget = QApplication.focusWidget()
        while widget is not None and not isinstance(widget, GraphWidget):
            widget = widget.parentWidget()
        if widget is None or not widget.isVisible():
            self.setCurrentWidget(self.graph_view)
            widget = self.graph_view
        widget.focus_search()

    def hand_search_keys_to_window(self) -> None:
        for canvas in self.findChildren(GraphWidget):
            canvas.search_action.setShortcut(QKeySequence())

    def show_netron(self, server: NetronServer, title: str) -> None:
        self.netron.show_server(server, title)
        self.setCurrentWidget(self.netron)


def _scrolling(widget: QWidget) -> QScrollArea:
    """A dense tab in a scroll area, so its minimum width does not set the window's."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(widget)
    return area
