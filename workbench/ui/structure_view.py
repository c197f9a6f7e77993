"""The model's nodes as a tree grouped by scope (module path or ONNX name prefix), and
the Structure tab: that tree under a one-line summary of the model."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.graph.model import Graph, Node
from workbench.core.units import human_count

NODE_ROLE = Qt.ItemDataRole.UserRole + 1
COLUMNS = ("Name", "Op", "Output", "Params", "MACs")


class StructureView(QTreeWidget):
    """Scopes expand and collapse like folders; selecting a node emits ``node_selected``."""

    node_selected = Signal(object)  # Node

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("structure-view")
        self.setColumnCount(len(COLUMNS))
        self.setHeaderLabels(COLUMNS)
        self.setAlternatingRowColors(True)
        self.setUniformRowHeights(True)  # keeps big graphs fast to scroll
        header = self.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.currentItemChanged.connect(self._on_current_changed)
        self._graph: Graph | None = None

    def show_graph(self, graph: Graph, expand_depth: int = 1) -> None:
        self._graph = graph
        self.clear()
        groups: dict[tuple[str, ...], QTreeWidgetItem] = {}
        totals: dict[tuple[str, ...], list[int]] = {}
        for node in graph.nodes:
            parent = self._group(node.scope, groups, totals)
            for depth in range(len(node.scope) + 1):
                total = totals.setdefault(node.scope[:depth], [0, 0])
                total[0] += node.params
                total[1] += node.macs
            output = graph.tensors.get(node.outputs[0]) if node.outputs else None
            item = QTreeWidgetItem(
                [
                    node.name or node.id,
                    node.op_type,
                    output.describe() if output else "",
                    f"{node.params:,}" if node.params else "",
                    human_count(node.macs) if node.macs else "",
                ]
            )
            item.setData(0, NODE_ROLE, node.id)
            (parent.addChild(item) if parent else self.addTopLevelItem(item))
        for scope, item in groups.items():
            params, macs = totals.get(scope, (0, 0))
            item.setText(3, f"{params:,}" if params else "")
            item.setText(4, human_count(macs) if macs else "")
        self.expandToDepth(expand_depth - 1)

    def _group(self, scope, groups, totals) -> QTreeWidgetItem | None:
        parent: QTreeWidgetItem | None = None
        for depth in range(1, len(scope) + 1):
            key = tuple(scope[:depth])
            item = groups.get(key)
            if item is None:
                item = QTreeWidgetItem([key[-1], "", "", "", ""])
                font = item.font(0)
                font.setBold(True)
                item.setFont(0, font)
                (parent.addChild(item) if parent else self.addTopLevelItem(item))
                groups[key] = item
            parent = item
        return parent

    def _on_current_changed(self, current: QTreeWidgetItem | None, _previous) -> None:
        if current is None or self._graph is None:
            return
        node_id = current.data(0, NODE_ROLE)
        if node_id is not None:
            self.node_selected.emit(self._graph.node(node_id))

    def select_node(self, node: Node) -> None:
        for item in self.findItems("*", Qt.MatchFlag.MatchWildcard | Qt.MatchFlag.MatchRecursive):
            if item.data(0, NODE_ROLE) == node.id:
                self.setCurrentItem(item)
                return


class ModelPage(QWidget):
    """The Structure tab: the summary line over the node tree."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.structure = StructureView()
        self.summary_label = QLabel()
        self.summary_label.setObjectName("summary")
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.structure)

    def show_model(self, graph: Graph, summary: dict[str, Any] | None) -> None:
        self.structure.show_graph(graph)
        self.summary_label.setText(summary_line(summary))

    def clear(self) -> None:
        self.structure.clear()
        self.summary_label.clear()


def summary_line(summary: dict[str, Any] | None) -> str:
    """Name, format, size and inputs of a model in one (rich text) line."""
    if not summary:
        return ""
    inputs = ", ".join(
        f"{t['name']} {'x'.join('?' if d is None else str(d) for d in (t['shape'] or []))}"
        for t in summary["inputs"]
    )
    return (
        f"<b>{summary['name']}</b> — {summary['format']}, {summary['node_count']:,} nodes, "
        f"{summary['parameters']:,} parameters, {human_count(summary['macs'])} MACs; "
        f"inputs: {inputs}"
    )
