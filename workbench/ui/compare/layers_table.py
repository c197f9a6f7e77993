"""The per-layer difference of a variant against its parent, as a table: parameters and
MACs before and after, and what changed, status cells coloured as in the graph diff."""

from __future__ import annotations

from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QTableWidget, QTableWidgetItem

from workbench.core.compare.graph_match import GraphDiff
from workbench.core.units import human_count
from workbench.ui.compare.graph_diff import STATUS_COLORS

HEADERS = ("layer", "op", "status", "parameters", "MACs", "what changed")


class LayersTable(QTableWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("compare-layers")
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.diff: GraphDiff | None = None

    def show_diff(self, diff: GraphDiff | None) -> None:
        self.diff = diff
        self.clear()
        rows = diff.layers() if diff is not None else []
        self.setColumnCount(len(HEADERS))
        self.setHorizontalHeaderLabels(HEADERS)
        self.setRowCount(len(rows))
        for r, d in enumerate(rows):
            before, after = d.parent, d.child
            texts = [
                d.name,
                (after or before).op_type,
                d.status,
                _arrow(before.params if before else None, after.params if after else None),
                _arrow(before.macs if before else None, after.macs if after else None),
                "; ".join(d.changes),
            ]
            for col, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if col == 2:
                    item.setBackground(QBrush(QColor(STATUS_COLORS[d.status][0])))
                self.setItem(r, col, item)
        self.resizeColumnsToContents()


def _arrow(before: int | None, after: int | None) -> str:
    def fmt(v: int | None) -> str:
        return "—" if v is None else human_count(v) if v >= 1000 else str(v)

    return fmt(after) if before == after else f"{fmt(before)} → {fmt(after)}"
