"""The legend: op-family swatches, or the colour scale of the current overlay.

It lives in the strip below the canvas (see ``chrome.py``), never over the boxes, and is
collapsed to a one-word header until clicked: a person learns the colours once, and the
space is the graph's. Expanded, the swatches flow in rows as wide as the strip allows.
"""

from __future__ import annotations

from itertools import pairwise

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFontMetricsF,
    QLinearGradient,
    QMouseEvent,
    QPainter,
    QPen,
)
from PySide6.QtWidgets import QWidget

from workbench.core.graph.overlays import ColorScale
from workbench.ui.graph_view.items import NO_VALUE_COLORS

# light yellow -> orange -> red -> dark red: low values stay light under dark text
SCALE_STOPS = ((0.0, "#fff4cf"), (0.35, "#fdc36c"), (0.65, "#f0642f"), (1.0, "#8c1010"))
TEXT, MUTED = QColor("#1d2430"), QColor("#4f5b6b")


def scale_color(position: float) -> QColor:
    """The colour at ``position`` (0..1) of the overlay colour map."""
    position = min(max(position, 0.0), 1.0)
    for (p0, c0), (p1, c1) in pairwise(SCALE_STOPS):
        if position <= p1:
            t = (position - p0) / (p1 - p0)
            a, b = QColor(c0), QColor(c1)
            return QColor.fromRgbF(
                a.redF() + (b.redF() - a.redF()) * t,
                a.greenF() + (b.greenF() - a.greenF()) * t,
                a.blueF() + (b.blueF() - a.blueF()) * t,
            )
    return QColor(SCALE_STOPS[-1][1])


class Legend(QWidget):
    """Click to collapse or expand; ``toggled(expanded)`` follows, the size changes."""

    ROW = 16
    SWATCH = 24  # swatch and the gap before its label
    GAP = 12  # between two entries of a row
    BAR = 150  # the colour scale's width

    toggled = Signal(bool)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("graph-legend")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._families: list[tuple[str, QColor, QColor]] = []
        self._scale: ColorScale | None = None
        self._title = ""
        self._expanded = False
        self._width = 600  # the most it may take (the strip's width)
        self._places: list[tuple[float, float]] = []  # each family entry's top-left
        self._update_tip()

    # -- content ------------------------------------------------------------------------

    def show_families(self, families: list[tuple[str, QColor, QColor]]) -> None:
        self._families, self._scale, self._title = families, None, "Op family"
        self._resize()

    def show_scale(self, title: str, scale: ColorScale) -> None:
        self._families, self._scale, self._title = [], scale, title
        self._resize()

    @property
    def title(self) -> str:
        return self._title

    @property
    def expanded(self) -> bool:
        return self._expanded

    def set_expanded(self, expanded: bool) -> None:
        if expanded != self._expanded:
            self._expanded = expanded
            self._update_tip()
            self._resize()
            self.toggled.emit(expanded)

    def set_available_width(self, width: int) -> None:
        if width != self._width:
            self._width = max(width, 120)
            self._resize()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.set_expanded(not self._expanded)
        event.accept()

    def _update_tip(self) -> None:
        self.setToolTip("Hide the legend" if self._expanded else "Show what the colours mean")

    # -- geometry -----------------------------------------------------------------------

    def _header(self) -> str:
        return f"▾ {self._title}:" if self._expanded else "▸ Legend"

    def _header_width(self) -> float:
        font = self.font()
        font.setBold(True)
        return QFontMetricsF(font).horizontalAdvance(self._header()) + 12

    def _resize(self) -> None:
        """Collapsed: the header only. Expanded: the entries flow after the header."""
        header = self._header_width()
        if not self._expanded:
            self.setFixedSize(int(header) + 8, self.ROW + 4)
        elif self._scale is not None:
            self.setFixedSize(int(header + self.BAR + 110), 2 * self.ROW + 6)
        else:
            metrics = self.fontMetrics()
            x, y, right, self._places = header, 2.0, header, []
            for label, _fill, _border in self._families:
                width = self.SWATCH + metrics.horizontalAdvance(label) + self.GAP
                if x + width > self._width - 8 and x > header:
                    x, y = header, y + self.ROW  # a new row, under the first entry
                self._places.append((x, y))
                x += width
                right = max(right, x)
            self.setFixedSize(int(right) + 4, int(y) + self.ROW + 4)
        self.update()

    # -- painting -----------------------------------------------------------------------

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor("#b8c0cc"), 1.0))
        painter.setBrush(QColor(255, 255, 255, 235))
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
        font = painter.font()
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(TEXT)
        painter.drawText(QRectF(6, 2, self._header_width(), self.ROW),
                         Qt.AlignmentFlag.AlignVCenter, self._header())  # fmt: skip
        font.setBold(False)
        painter.setFont(font)
        if self._expanded:
            if self._scale is not None:
                self._paint_scale(painter)
            else:
                self._paint_families(painter)
        painter.end()

    def _paint_families(self, painter: QPainter) -> None:
        for (label, fill, border), (x, y) in zip(self._families, self._places, strict=False):
            painter.setPen(QPen(border, 1.0))
            painter.setBrush(fill)
            painter.drawRoundedRect(QRectF(x, y + 3, 18, 10), 2, 2)
            painter.setPen(TEXT)
            painter.drawText(QRectF(x + self.SWATCH, y, 200, self.ROW),
                             Qt.AlignmentFlag.AlignVCenter, label)  # fmt: skip

    def _paint_scale(self, painter: QPainter) -> None:
        scale = self._scale
        left = self._header_width()
        bar = QRectF(left, 5, self.BAR, 10)
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        for position, color in SCALE_STOPS:
            gradient.setColorAt(position, QColor(color))
        painter.setPen(QPen(QColor("#8a94a3"), 1.0))
        painter.setBrush(gradient)
        painter.drawRect(bar)
        painter.setPen(TEXT)
        labels = QRectF(left, 2 + self.ROW, self.BAR, self.ROW)
        painter.drawText(labels, Qt.AlignmentFlag.AlignLeft, scale.label(scale.low))
        painter.drawText(labels, Qt.AlignmentFlag.AlignRight, scale.label(scale.high))
        if scale.log:
            painter.drawText(labels, Qt.AlignmentFlag.AlignHCenter, "log")
        swatch = QRectF(left + self.BAR + 10, 5, 12, 10)
        painter.setPen(QPen(QColor(NO_VALUE_COLORS[1]), 1.0))
        painter.setBrush(QColor(NO_VALUE_COLORS[0]))
        painter.drawRect(swatch)
        painter.setPen(MUTED)
        painter.drawText(QRectF(swatch.right() + 6, 2, 90, self.ROW),
                         Qt.AlignmentFlag.AlignVCenter, "no value")  # fmt: skip
