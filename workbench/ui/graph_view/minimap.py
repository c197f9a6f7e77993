"""An overview of the whole graph with the visible part outlined; click or drag to go.

It paints a picture made once per layout or recolouring from the boxes' rectangles,
never the scene itself, so scrolling the main view costs one small blit. A graph much
taller than wide (most deep networks) is shown as a strip at least 15% as wide as the
minimap, and the picture scrolls along with the view.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QWidget

MAX_IMAGE = 8192  # pixels along the long side of the overview picture
MIN_BOX = 1.0
STRIP = 0.15  # a graph drawn narrower than this share of the minimap is drawn this wide
DRAW_CHUNK = 256  # rectangles per QPainter call (see render_overview)


Overview = list[tuple[float, float, float, float, "QColor | None"]]


def overview_boxes(layout, items: dict) -> Overview:
    """The overview of a ``GraphLayout`` whose boxes are ``items`` (their solid colours)."""
    boxes: Overview = []
    for box in layout.boxes:
        if box.kind == "frame":
            boxes.append((box.x, box.y, box.w, box.h, None))
        elif (item := items.get((box.kind, box.ref))) is not None:
            boxes.append((box.x, box.y, box.w, box.h, item.solid))
    return boxes


def render_overview(scene_rect: QRectF, boxes: Overview, width: int, height: int):
    """(picture, scale): boxes as (x, y, w, h, colour) in scene coordinates, drawn to fit
    ``width`` (and ``height`` unless the graph is very tall); a colour of None draws an
    outline (an expanded group's frame). Safe to run outside the GUI thread."""
    sw, sh = max(scene_rect.width(), 1.0), max(scene_rect.height(), 1.0)
    scale = min(width / sw, height / sh)
    if sw * scale < width * STRIP:  # very tall: a strip that scrolls with the view
        scale = min(width * STRIP / sw, MAX_IMAGE / sh)
    image = QImage(max(int(sw * scale), 1), max(int(sh * scale), 1), QImage.Format.Format_RGB32)
    image.fill(QColor("#ffffff"))
    left, top = scene_rect.left(), scene_rect.top()
    by_color: dict[int, tuple[QColor | None, list[QRectF]]] = {}
    for x, y, w, h, color in boxes:  # one drawRects per colour: fast for 10,000 boxes
        rect = QRectF((x - left) * scale, (y - top) * scale,
                      max(w * scale, MIN_BOX), max(h * scale, MIN_BOX))  # fmt: skip
        key = -1 if color is None else color.rgba()
        by_color.setdefault(key, (color, []))[1].append(rect)
    painter = QPainter(image)
    for color, rects in by_color.values():
        if color is None:
            painter.setPen(QPen(QColor("#b3bfcf"), 1.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
        else:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
        # In chunks: one drawRects call holds the GIL throughout (PySide does not let
        # go of it), and a single call with 10,000 rectangles stalled the GUI thread
        # ~50 ms while this ran in a worker. Between chunks the GUI thread gets its turn.
        for start in range(0, len(rects), DRAW_CHUNK):
            painter.drawRects(rects[start : start + DRAW_CHUNK])
    painter.end()
    return image, scale


class Minimap(QWidget):
    def __init__(self, view, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("graph-minimap")
        self.view = view
        self.setFixedSize(120, 160)  # in its own column beside the canvas (chrome.py)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move the view")
        self._image: QImage | None = None
        self._scene_rect = QRectF()
        self._scale = 1.0
        self.ticket = 0  # the latest render asked for; an older one is not shown
        view.viewport_changed.connect(self.update)

    def refresh(self, tasks, scene, on_shown, on_failed) -> None:
        """Redraw the overview of ``scene`` in a worker of ``tasks`` (10,000 boxes take
        ~50 ms to draw); ``on_shown()`` once it shows."""
        boxes = overview_boxes(scene.layout, scene.boxes)
        rect = scene.sceneRect()
        size = (self.width() - 4, self.height() - 4)
        # A recolouring starts a second render while the first may still run; only the
        # latest request is shown, whichever finishes last (else stale colours stayed).
        self.ticket += 1
        ticket = self.ticket

        def shown(picture) -> None:
            if ticket == self.ticket:
                self.set_picture(rect, picture)
                on_shown()  # whether it shows is the canvas chrome's call

        tasks.start(lambda: render_overview(rect, boxes, *size), shown, on_failed)

    def set_picture(self, scene_rect: QRectF, picture: tuple[QImage, float]) -> None:
        """Show an overview made by ``render_overview`` (in a worker, for big graphs)."""
        self._scene_rect = QRectF(scene_rect)
        self._image, self._scale = picture
        self.update()

    @property
    def has_picture(self) -> bool:
        return self._image is not None

    def clear(self) -> None:
        self._image = None
        self.update()

    def _origin(self) -> QPointF:
        """Where the picture's top-left goes in the widget."""
        image = self._image
        x = (self.width() - image.width()) / 2
        if image.height() <= self.height():
            return QPointF(x, (self.height() - image.height()) / 2)
        centre = self.view.visible_scene_rect().center().y() - self._scene_rect.top()
        y = self.height() / 2 - centre * self._scale
        return QPointF(x, min(max(y, self.height() - image.height()), 0.0))

    def _to_widget(self, rect: QRectF, origin: QPointF) -> QRectF:
        s = self._scale
        return QRectF(
            origin.x() + (rect.left() - self._scene_rect.left()) * s,
            origin.y() + (rect.top() - self._scene_rect.top()) * s,
            rect.width() * s,
            rect.height() * s,
        )

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(255, 255, 255, 235))
        if self._image is not None:
            origin = self._origin()
            painter.drawImage(origin, self._image)
            visible = self._to_widget(self.view.visible_scene_rect(), origin)
            painter.setPen(QPen(QColor("#1f6fd1"), 1.5))
            painter.setBrush(QColor(31, 111, 209, 40))
            painter.drawRect(visible.intersected(QRectF(self.rect()).adjusted(1, 1, -1, -1)))
        painter.setPen(QPen(QColor("#b8c0cc"), 1.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5))
        painter.end()

    def scene_point(self, position: QPointF) -> QPointF:
        origin = self._origin()
        return QPointF(
            self._scene_rect.left() + (position.x() - origin.x()) / self._scale,
            self._scene_rect.top() + (position.y() - origin.y()) / self._scale,
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._image is not None:
            self.view.centerOn(self.scene_point(event.position()))
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._image is not None and event.buttons() & Qt.MouseButton.LeftButton:
            self.view.centerOn(self.scene_point(event.position()))
        event.accept()
