"""Compare's table of figures: one column per variant, one row per figure.

Every figure is shown whole. Columns are as wide as their contents; they stretch to fill
the table when they fit and scroll sideways when they do not, because an elided
"−261.6 …" says nothing. A variant's name is split over lines so a column is as narrow
as its figures, and its whole name is in the header's tooltip.
"""

from __future__ import annotations

from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHeaderView, QTableWidget, QWidget


class FigureTable(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compare-table")
        self.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.setWordWrap(True)
        self._content_width = 0

    def set_variant_names(self, names: list[str]) -> None:
        self.setHorizontalHeaderLabels([header_lines(n) for n in names])
        for column, name in enumerate(names):
            self.horizontalHeaderItem(column).setToolTip(name)

    def fit_columns(self) -> None:
        """Size the columns to the figures now in the table."""
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.resizeColumnsToContents()
        self.resizeRowsToContents()
        self._content_width = sum(header.sectionSize(c) for c in range(header.count()))
        self._stretch_if_it_fits()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._stretch_if_it_fits()

    def _stretch_if_it_fits(self) -> None:
        header = self.horizontalHeader()
        fits = 0 < self._content_width <= self.viewport().width()
        mode = QHeaderView.ResizeMode.Stretch if fits else QHeaderView.ResizeMode.Interactive
        if header.count() and header.sectionResizeMode(0) != mode:
            if not fits:
                self.resizeColumnsToContents()
            header.setSectionResizeMode(mode)


def header_lines(name: str) -> str:
    """A variant's name on one line per part ("digits_cnn", "(int8)")."""
    return name.replace(" · ", "\n").replace(" (", "\n(")
