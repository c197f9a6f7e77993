"""The window's centre: the Graph, Structure, Training, Compare and Netron tabs."""

from __future__ import annotations

from PySide6.QtWidgets import QScrollArea, QTabWidget, QWidget

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
        self.setCurrentWidget(self.graph_view)
        self.graph_view.focus_search()

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
