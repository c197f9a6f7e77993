"""The canvas's view: wheel and key zoom, drag and arrow-key pan, fit, centring."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import QGraphicsView

MIN_SCALE, MAX_SCALE = 0.002, 4.0
READABLE_SCALE = 0.8  # centring on a node zooms in to at least this
KEY_ZOOM = 1.25
PAN_FRACTION = 0.15  # of the viewport, per arrow key press


class GraphView(QGraphicsView):
    """Zoom with the wheel (around the cursor), +/-/0 (0 fits); pan by dragging or arrows."""

    viewport_changed = Signal()  # scrolled, zoomed or resized: the minimap follows
    box_menu = Signal(object, object)  # right-click: the item under it (or None), QPoint

    def __init__(self, scene, parent=None) -> None:
        super().__init__(scene, parent)
        self.setObjectName("graph-view")
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.horizontalScrollBar().valueChanged.connect(self.viewport_changed)
        self.verticalScrollBar().valueChanged.connect(self.viewport_changed)

    def contextMenuEvent(self, event) -> None:  # Qt's name: right-click
        item = self.itemAt(event.pos())
        while item is not None and not hasattr(item, "kind"):
            item = item.parentItem()  # a box's text or badge: the box itself
        self.box_menu.emit(item, event.globalPos())

    def set_margins(self, right: int, bottom: int) -> None:
        """Room beside the viewport for the legend, node count and minimap (chrome.py)."""
        if (right, bottom) != self.margins():
            self.setViewportMargins(0, 0, right, bottom)

    def margins(self) -> tuple[int, int]:
        margins = self.viewportMargins()
        return margins.right(), margins.bottom()

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def visible_scene_rect(self) -> QRectF:
        return self.mapToScene(self.viewport().rect()).boundingRect()

    def zoom_by(self, factor: float, under_mouse: bool = True) -> None:
        target = min(max(self.zoom * factor, MIN_SCALE), MAX_SCALE)
        if target == self.zoom:
            return
        anchor = (
            QGraphicsView.ViewportAnchor.AnchorUnderMouse
            if under_mouse
            else QGraphicsView.ViewportAnchor.AnchorViewCenter
        )
        self.setTransformationAnchor(anchor)
        self.scale(target / self.zoom, target / self.zoom)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.viewport_changed.emit()

    def set_zoom(self, value: float) -> None:
        self.zoom_by(value / max(self.zoom, 1e-9), under_mouse=False)

    def fit(self) -> None:
        """Show the whole graph."""
        rect = self.sceneRect()
        if rect.isEmpty():
            return
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom > 1.0:
            self.set_zoom(1.0)
        self.viewport_changed.emit()

    def show_top(self, min_zoom: float = 0.55) -> None:
        """Open a graph: fit it if that stays readable, else fit its width and start at
        the top (a deep network is much taller than wide)."""
        rect = self.sceneRect()
        if rect.isEmpty():
            return
        viewport = self.viewport().rect()
        fit_all = min(viewport.width() / rect.width(), viewport.height() / rect.height())
        if fit_all >= min_zoom:
            self.fit()
            return
        width_fit = viewport.width() / rect.width()
        self.set_zoom(min(max(width_fit, min_zoom), 1.0))
        visible = self.visible_scene_rect()
        self.centerOn(rect.center().x(), rect.top() + visible.height() / 2)
        self.viewport_changed.emit()

    def center_on_rect(self, rect: QRectF, readable: bool = True) -> None:
        if readable and self.zoom < READABLE_SCALE:
            self.set_zoom(READABLE_SCALE)
        self.centerOn(rect.center())
        self.viewport_changed.emit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.pixelDelta().y()
        if delta:
            self.zoom_by(1.0015**delta)
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(KEY_ZOOM, under_mouse=False)
        elif key == Qt.Key.Key_Minus:
            self.zoom_by(1 / KEY_ZOOM, under_mouse=False)
        elif key == Qt.Key.Key_0:
            self.fit()
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down):
            self._pan(key)
        else:
            super().keyPressEvent(event)

    def _pan(self, key: Qt.Key) -> None:
        horizontal = key in (Qt.Key.Key_Left, Qt.Key.Key_Right)
        bar = self.horizontalScrollBar() if horizontal else self.verticalScrollBar()
        size = self.viewport().width() if horizontal else self.viewport().height()
        sign = -1 if key in (Qt.Key.Key_Left, Qt.Key.Key_Up) else 1
        bar.setValue(bar.value() + sign * int(size * PAN_FRACTION))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.viewport_changed.emit()
