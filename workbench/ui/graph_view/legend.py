"""The legend: op-family swatches, or the colour scale of the current overlay."""

from __future__ import annotations

from itertools import pairwise

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPen
from PySide6.QtWidgets import QWidget

from workbench.core.graph.overlays import ColorScale
from workbench.ui.graph_view.items import NO_VALUE_COLORS

# light yellow -> orange -> red -> dark red: low values stay light under dark text
SCALE_STOPS = ((0.0, "#fff4cf"), (0.35, "#fdc36c"), (0.65, "#f0642f"), (1.0, "#8c1010"))


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
    ROW = 16

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("graph-legend")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._families: list[tuple[str, QColor, QColor]] = []
        self._scale: ColorScale | None = None
        self._title = ""

    def show_families(self, families: list[tuple[str, QColor, QColor]]) -> None:
        self._families, self._scale, self._title = families, None, "Op family"
        columns = 2
        rows = (len(families) + columns - 1) // columns
        self.setFixedSize(2 * 170 + 16, 28 + rows * self.ROW)
        self.update()

    def show_scale(self, title: str, scale: ColorScale) -> None:
        self._families, self._scale, self._title = [], scale, title
        self.setFixedSize(260, 74)
        self.update()

    @property
    def title(self) -> str:
        return self._title

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor("#b8c0cc"), 1.0))
        painter.setBrush(QColor(255, 255, 255, 235))
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 5, 5)
        font = painter.font()
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("#1d2430"))
        painter.drawText(QRectF(8, 4, self.width() - 16, 18), Qt.AlignmentFlag.AlignLeft,
                         self._title)  # fmt: skip
        font.setBold(False)
        painter.setFont(font)
        if self._scale is not None:
            self._paint_scale(painter)
        else:
            self._paint_families(painter)
        painter.end()

    def _paint_families(self, painter: QPainter) -> None:
        for index, (label, fill, border) in enumerate(self._families):
            column, row = index % 2, index // 2
            x, y = 8 + column * 170, 24 + row * self.ROW
            painter.setPen(QPen(border, 1.0))
            painter.setBrush(fill)
            painter.drawRoundedRect(QRectF(x, y + 2, 18, 11), 2, 2)
            painter.setPen(QColor("#1d2430"))
            painter.drawText(QRectF(x + 24, y, 144, self.ROW), Qt.AlignmentFlag.AlignVCenter,
                             label)  # fmt: skip

    def _paint_scale(self, painter: QPainter) -> None:
        scale = self._scale
        bar = QRectF(8, 26, self.width() - 16, 14)
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        for position, color in SCALE_STOPS:
            gradient.setColorAt(position, QColor(color))
        painter.setPen(QPen(QColor("#8a94a3"), 1.0))
        painter.setBrush(gradient)
        painter.drawRect(bar)
        painter.setPen(QColor("#1d2430"))
        labels = QRectF(8, 42, bar.width(), 14)
        painter.drawText(labels, Qt.AlignmentFlag.AlignLeft, scale.label(scale.low))
        painter.drawText(labels, Qt.AlignmentFlag.AlignRight, scale.label(scale.high))
        if scale.log:
            painter.drawText(labels, Qt.AlignmentFlag.AlignHCenter, "log scale")
        swatch = QRectF(8, 58, 12, 10)
        painter.setPen(QPen(QColor(NO_VALUE_COLORS[1]), 1.0))
        painter.setBrush(QColor(NO_VALUE_COLORS[0]))
        painter.drawRect(swatch)
        painter.setPen(QColor("#4f5b6b"))
        painter.drawText(QRectF(26, 56, 200, 14), Qt.AlignmentFlag.AlignVCenter, "no value")
