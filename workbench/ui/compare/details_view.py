"""Compare's "recorded by each run": a pass's own fields, apart from the compared figures.

A distillation records its teacher's MACs, a pruning the parent's parameters "before":
figures of *another* model, which as table rows would read as the variant's own
(``core.compare.table.details``). They sit here, collapsed by default, one branch per
variant, formatted with their units.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHeaderView,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.compare.table import Entry, details

TITLE = "Recorded by each variant's own run (not compared)"


class DetailsSection(QWidget):
    """A header that folds a two-column tree: variant ▸ (field, value)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compare-details")
        self.toggle = QToolButton()
        self.toggle.setObjectName("compare-details-toggle")
        self.toggle.setText(TITLE)
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setAutoRaise(True)
        self.toggle.toggled.connect(self._folded)
        self.tree = QTreeWidget()
        self.tree.setObjectName("compare-details-tree")
        self.tree.setHeaderLabels(["Field", "Value"])
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setUniformRowHeights(True)
        self.tree.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toggle)
        layout.addWidget(self.tree, 1)

    def show_entries(self, entries: Sequence[Entry]) -> None:
        """One branch per variant that recorded anything; the section hides when none did."""
        self.tree.clear()
        for entry in entries:
            rows = details(entry.metrics)
            if not rows:
                continue
            branch = QTreeWidgetItem([entry.name, ""])
            branch.setToolTip(0, entry.name)
            for label, value in rows:
                branch.addChild(QTreeWidgetItem([label, value]))
            self.tree.addTopLevelItem(branch)
        self.tree.expandAll()
        self.setVisible(self.tree.topLevelItemCount() > 0)

    def _folded(self, shown: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.tree.setVisible(shown)
