"""The canvas's items: boxes for nodes and groups, frames for expanded groups, edges.

Speed matters more than generality here (10,000 boxes): a box is one
``QGraphicsRectItem`` whose ``paint`` draws its own text (no text items), texts are
elided once when set, and below a level of detail the box is a plain filled rectangle.
Edges are ``QGraphicsPathItem``s painted by Qt itself, arrowheads included in the path.
"""

from __future__ import annotations

import threading
from itertools import pairwise

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QGraphicsRectItem

from workbench.core.graph.op_families import (
    ACTIVATION,
    CONV,
    ELEMENTWISE,
    LINEAR,
    NORM,
    OTHER,
    POOLING,
    QUANTIZE,
    SHAPE,
)

# family -> (fill, border): light fills keep dark text readable, borders say the hue
FAMILY_COLORS = {
    CONV: ("#d7e5fb", "#3f6fbf"),
    LINEAR: ("#e3dbf7", "#6f4fbf"),
    NORM: ("#d6efdc", "#36895a"),
    ACTIVATION: ("#fbddd5", "#c4522f"),
    POOLING: ("#d3eef0", "#2a8891"),
    ELEMENTWISE: ("#faefcc", "#b08a10"),
    SHAPE: ("#ebe6dc", "#8a7b60"),
    QUANTIZE: ("#f8d9ea", "#b1457c"),
    OTHER: ("#ececec", "#858585"),
}
GROUP_COLORS = ("#e6ebf2", "#56657a")
TERMINAL_COLORS = ("#3b4a5e", "#3b4a5e")
NO_VALUE_COLORS = ("#f4f4f4", "#b9b9b9")  # a box the current overlay has no value for
TEXT_DARK, TEXT_LIGHT, TEXT_MUTED = QColor("#1d2430"), QColor("#ffffff"), QColor("#4f5b6b")
SELECTED = QColor("#111827")
INPUT_HIGHLIGHT, OUTPUT_HIGHLIGHT = QColor("#1f6fd1"), QColor("#e07800")
EDGE_COLOR = QColor("#8893a2")
FRAME_FILL, FRAME_BORDER = QColor(236, 241, 248, 110), QColor("#b3bfcf")

TEXT_LOD = 0.42  # below this zoom the text would be under ~5 px: not drawn
DETAIL_LOD = 0.18  # below this a box is a plain rectangle


def title_font() -> QFont:
    font = QFont()
    font.setPointSizeF(9.0)
    font.setBold(True)
    return font


def subtitle_font() -> QFont:
    font = QFont()
    font.setPointSizeF(8.0)
    return font


class TextWidth:
    """Font metrics usable from the layout worker: one QFontMetricsF per thread."""

    def __init__(self) -> None:
        self._local = threading.local()

    def __call__(self, text: str, bold: bool) -> float:
        metrics = getattr(self._local, "metrics", None)
        if metrics is None:
            metrics = self._local.metrics = (
                QFontMetricsF(subtitle_font()),
                QFontMetricsF(title_font()),
            )
        return metrics[bold].horizontalAdvance(text) + 2.0


def text_color_for(fill: QColor) -> QColor:
    """Dark text on light fills, white on dark ones (relative luminance)."""
    r, g, b = fill.redF(), fill.greenF(), fill.blueF()
    return TEXT_DARK if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.5 else TEXT_LIGHT


class BoxItem(QGraphicsRectItem):
    """A node, a graph input/output, or a collapsed group."""

    fonts: tuple[QFont, QFont, QFontMetricsF, QFontMetricsF] | None = None

    def __init__(self, kind: str, ref, title: str, subtitle: str) -> None:
        super().__init__()
        self.kind = kind
        self.ref = ref
        self.highlight: QColor | None = None
        self.text_color = TEXT_DARK
        self._border = QColor("#858585")
        self.fill = self.solid = QColor("#ececec")
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, kind != "frame")
        self.setAcceptHoverEvents(False)
        self.setZValue(10)
        self.set_text(title, subtitle)

    @classmethod
    def _fonts(cls):
        if cls.fonts is None:
            title, subtitle = title_font(), subtitle_font()
            cls.fonts = (title, subtitle, QFontMetricsF(title), QFontMetricsF(subtitle))
        return cls.fonts

    def set_text(self, title: str, subtitle: str) -> None:
        self.title, self.subtitle = title, subtitle
        self._elided: tuple[float, str, str] | None = None

    def set_geometry(self, x: float, y: float, w: float, h: float) -> None:
        self.setPos(x, y)
        if self.rect().width() != w or self.rect().height() != h:
            self.setRect(0, 0, w, h)
            self._elided = None

    def set_colors(self, fill: QColor, border: QColor) -> None:
        self.fill = fill
        # what a box far away (or in the minimap) is painted with: pastel fills vanish
        self.solid = QColor(
            (fill.red() + border.red()) // 2,
            (fill.green() + border.green()) // 2,
            (fill.blue() + border.blue()) // 2,
        )
        self.setBrush(QBrush(fill))
        self._border = border
        self.text_color = text_color_for(fill)
        self.update()

    def set_highlight(self, color: QColor | None) -> None:
        if color != self.highlight:
            self.highlight = color
            self.update()

    def _texts(self) -> tuple[str, str]:
        width = self.rect().width() - 12
        if self._elided is None or self._elided[0] != width:
            _, _, title_metrics, sub_metrics = self._fonts()
            elide = Qt.TextElideMode.ElideMiddle
            self._elided = (
                width,
                title_metrics.elidedText(self.title, elide, width),
                sub_metrics.elidedText(self.subtitle, elide, width),
            )
        return self._elided[1], self._elided[2]

    def paint(self, painter: QPainter, option, widget=None) -> None:
        rect = self.rect()
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        if lod < DETAIL_LOD:
            painter.fillRect(rect, self.highlight or self.solid)
            return
        if self.isSelected():
            pen = QPen(SELECTED, 2.6)
        elif self.highlight is not None:
            pen = QPen(self.highlight, 2.4)
        else:
            pen = QPen(self._border, 1.1)
        painter.setPen(pen)
        painter.setBrush(self.brush())
        if self.kind == "group":  # a stack: it holds more than it shows
            painter.drawRoundedRect(rect.translated(3, 3), 6, 6)
        radius = rect.height() / 2 if self.kind in ("input", "output") else 6
        painter.drawRoundedRect(rect, radius, radius)
        if lod < TEXT_LOD:
            return
        title_font_, sub_font, _, _ = self._fonts()
        title, subtitle = self._texts()
        painter.setPen(self.text_color)
        painter.setFont(title_font_)
        if not subtitle:
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, title)
            return
        top = QRectF(rect.x(), rect.y() + 3, rect.width(), rect.height() / 2 - 1)
        bottom = QRectF(rect.x(), rect.center().y() - 1, rect.width(), rect.height() / 2 - 2)
        painter.drawText(top, Qt.AlignmentFlag.AlignCenter, title)
        painter.setFont(sub_font)
        painter.drawText(bottom, Qt.AlignmentFlag.AlignCenter, subtitle)


class FrameItem(QGraphicsRectItem):
    """An expanded group: a light rounded frame around its content, named at top-left."""

    def __init__(self, path: tuple[str, ...], label: str, detail: str) -> None:
        super().__init__()
        self.kind = "frame"
        self.ref = path
        self.label = f"{label}  ·  {detail}"
        self.setBrush(QBrush(FRAME_FILL))
        self.setPen(QPen(FRAME_BORDER, 1.0))
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # clicks pan the view

    def set_geometry(self, x: float, y: float, w: float, h: float, depth: int) -> None:
        self.setPos(x, y)
        self.setRect(0, 0, w, h)
        self.setZValue(-100 + depth)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        rect = self.rect()
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        painter.setPen(self.pen() if lod >= DETAIL_LOD else Qt.PenStyle.NoPen)
        painter.setBrush(self.brush())
        painter.drawRoundedRect(rect, 8, 8)
        if lod < TEXT_LOD:
            return
        painter.setPen(TEXT_MUTED)
        painter.setFont(BoxItem._fonts()[1])
        text_rect = QRectF(rect.x() + 8, rect.y() + 3, rect.width() - 16, 16)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         self.label)  # fmt: skip


class EdgeItem(QGraphicsPathItem):
    """One edge piece: smooth curves between layers, straight runs through them."""

    def __init__(self) -> None:
        super().__init__()
        self.route_index = -1
        self.setZValue(0)
        self.set_normal()
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_normal(self) -> None:
        self.setPen(QPen(EDGE_COLOR, 1.2))
        self.setZValue(0)

    def set_highlight(self, color: QColor) -> None:
        self.setPen(QPen(color, 2.4))
        self.setZValue(5)

    def set_route(self, index: int, points: np.ndarray, arrow: bool) -> None:
        self.route_index = index
        self.setPath(edge_path(points, arrow))


def edge_path(points: np.ndarray, arrow: bool) -> QPainterPath:
    path = QPainterPath()
    if len(points) < 2:
        return path
    pts = points.tolist()
    path.moveTo(pts[0][0], pts[0][1])
    for (x0, y0), (x1, y1) in pairwise(pts):
        if abs(x1 - x0) < 0.5:
            path.lineTo(x1, y1)
        else:
            middle = (y1 - y0) / 2
            path.cubicTo(QPointF(x0, y0 + middle), QPointF(x1, y1 - middle), QPointF(x1, y1))
    if arrow:
        x, y = pts[-1]
        direction = 1.0 if pts[-1][1] >= pts[-2][1] else -1.0
        path.moveTo(x - 4.0, y - 7.0 * direction)
        path.lineTo(x, y)
        path.lineTo(x + 4.0, y - 7.0 * direction)
    return path
