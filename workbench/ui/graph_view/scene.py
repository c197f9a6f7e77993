"""The scene: turns a core ``GraphLayout`` into items, in slices, and highlights.

A layout is applied in time slices of a few milliseconds on the GUI thread (a QTimer
drives a generator), so a 10,000-box graph appears without freezing the window. Items
are kept by what they show (a node, a group), so a relayout after expanding a group
moves most items instead of re-creating them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsScene, QGraphicsSceneHelpEvent, QToolTip

from workbench.core.graph.group_layout import Box, GraphLayout
from workbench.core.graph.hierarchy import GroupPath, Hierarchy
from workbench.core.units import human_count
from workbench.ui.graph_view.items import (
    INPUT_HIGHLIGHT,
    OUTPUT_HIGHLIGHT,
    BoxItem,
    EdgeItem,
    FrameItem,
)

# GUI time per slice while building; the event loop runs between slices. A slice and
# the repaint after it fit in about two frames at 60 Hz (25 ms slices made 40-70 ms stalls).
SLICE_MS = 12
MARGIN = 40.0
Colorer = Callable[[Box], tuple[QColor, QColor]]


class GraphScene(QGraphicsScene):
    toggle_requested = Signal(object)  # a group path: expand it, or collapse its frame
    build_started = Signal()  # a layout arrived; its items are being made
    built = Signal()  # the last layout given is fully on the scene

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackgroundBrush(QColor("#ffffff"))
        self.hierarchy: Hierarchy | None = None
        self.layout: GraphLayout | None = None
        self.boxes: dict[tuple[str, object], BoxItem] = {}
        self.frames: dict[GroupPath, FrameItem] = {}
        self.edges: list[EdgeItem] = []
        self.colorer: Colorer | None = None
        self.value_text: Callable[[str, object], str] | None = None  # overlay tooltip line
        self._job: Iterator[None] | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._step)
        self._highlighted: tuple[list[BoxItem], list[EdgeItem]] = ([], [])

    # -- building ---------------------------------------------------------------------

    @property
    def building(self) -> bool:
        return self._job is not None

    def show_layout(self, hierarchy: Hierarchy, layout: GraphLayout) -> None:
        """Start putting ``layout`` on the scene; ``built`` is emitted when done."""
        if hierarchy is not self.hierarchy:
            self.clear_items()
        self.hierarchy, self.layout = hierarchy, layout
        self.clear_highlight()
        rect = QRectF(0, 0, layout.width, layout.height).adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)
        self.setSceneRect(rect)
        self._job = self._apply(layout)
        self._timer.start()
        self.build_started.emit()

    def finish(self) -> None:
        """Apply the rest of the current layout now (tests, export)."""
        while self._job is not None:
            self._step(budget_ms=1e9)

    def clear_items(self) -> None:
        self._job = None
        self._timer.stop()
        self._highlighted = ([], [])  # before clear(): its selection change looks here
        self.boxes, self.frames, self.edges = {}, {}, []
        self.clear()

    def _step(self, budget_ms: float = SLICE_MS) -> None:
        if self._job is None:
            self._timer.stop()
            return
        deadline = time.perf_counter() + budget_ms / 1000
        for _ in self._job:
            if time.perf_counter() > deadline:
                return
        self._job = None
        self._timer.stop()
        self.built.emit()

    def _apply(self, layout: GraphLayout) -> Iterator[None]:
        keys = {(b.kind, b.ref) for b in layout.boxes if b.kind != "frame"}
        frames = {b.ref for b in layout.boxes if b.kind == "frame"}
        for key in [k for k in self.boxes if k not in keys]:
            self.removeItem(self.boxes.pop(key))
            yield
        for path in [p for p in self.frames if p not in frames]:
            self.removeItem(self.frames.pop(path))
            yield
        for box in layout.boxes:
            if box.kind == "frame":
                frame = self.frames.get(box.ref)
                if frame is None:
                    frame = self.frames[box.ref] = FrameItem(box.ref, box.title, box.subtitle)
                    self.addItem(frame)
                frame.set_geometry(box.x, box.y, box.w, box.h, box.depth)
            else:
                item = self.boxes.get((box.kind, box.ref))
                if item is None:
                    item = self.boxes[box.kind, box.ref] = BoxItem(
                        box.kind, box.ref, box.title, box.subtitle
                    )
                    self.addItem(item)
                else:
                    item.set_text(box.title, box.subtitle)
                item.set_geometry(box.x, box.y, box.w, box.h)
                if self.colorer is not None:
                    item.set_colors(*self.colorer(box))
            yield
        for index, route in enumerate(layout.routes):
            if index == len(self.edges):
                self.edges.append(EdgeItem())
                self.addItem(self.edges[-1])
            self.edges[index].set_route(index, route.points, route.arrow)
            yield
        while len(self.edges) > len(layout.routes):
            self.removeItem(self.edges.pop())
            yield

    def recolor(self) -> None:
        """Ask the colorer again for every box (an overlay changed)."""
        if self.layout is None or self.colorer is None:
            return
        for box in self.layout.boxes:
            item = self.boxes.get((box.kind, box.ref))
            if item is not None:
                item.set_colors(*self.colorer(box))

    # -- highlighting -------------------------------------------------------------------

    def clear_highlight(self) -> None:
        boxes, edges = self._highlighted
        for item in boxes:
            item.set_highlight(None)
        for edge in edges:
            edge.set_normal()
        self._highlighted = ([], [])

    def highlight_neighbours(self, item: BoxItem) -> None:
        """Colour the edges into and out of ``item``, and the boxes at their other ends."""
        self.clear_highlight()
        hierarchy, layout = self.hierarchy, self.layout
        if hierarchy is None or layout is None:
            return
        inside = self._leaves_of(item)
        edges = hierarchy.edges
        into = np.isin(edges[:, 1], inside) & ~np.isin(edges[:, 0], inside)
        out_of = np.isin(edges[:, 0], inside) & ~np.isin(edges[:, 1], inside)
        boxes, lines = [], []
        for mask, column, color in ((into, 0, INPUT_HIGHLIGHT), (out_of, 1, OUTPUT_HIGHLIGHT)):
            ids = np.flatnonzero(mask)
            for route in layout.routes_of_edges(ids):
                if route < len(self.edges):
                    self.edges[route].set_highlight(color)
                    lines.append(self.edges[route])
            for leaf in set(edges[ids, column].tolist()):
                other = self.box_of_leaf(leaf)
                if other is not None and other is not item:
                    other.set_highlight(color)
                    boxes.append(other)
        self._highlighted = (boxes, lines)

    def _leaves_of(self, item: BoxItem) -> np.ndarray:
        if item.kind != "group":
            return np.array([item.ref])
        stack, leaves = [item.ref], []
        while stack:
            group = self.hierarchy.groups[stack.pop()]
            leaves.extend(group.leaves)
            stack.extend(group.groups)
        return np.array(leaves, dtype=np.int64)

    def box_of_leaf(self, leaf: int) -> BoxItem | None:
        """The box showing ``leaf``: itself, or its outermost collapsed group."""
        expanded = self.layout.expanded if self.layout is not None else frozenset()
        for path in reversed(self.hierarchy.ancestors(leaf)):
            if path not in expanded:
                return self.boxes.get(("group", path))
        return self.boxes.get((self.hierarchy.leaf_kind(leaf), leaf))

    # -- events -------------------------------------------------------------------------

    def _topmost(self, pos: QPointF):
        for item in self.items(pos):
            if isinstance(item, (BoxItem, FrameItem)):
                return item
        return None

    def mouseDoubleClickEvent(self, event) -> None:
        item = self._topmost(event.scenePos())
        if isinstance(item, FrameItem) or (isinstance(item, BoxItem) and item.kind == "group"):
            self.toggle_requested.emit(item.ref)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def helpEvent(self, event: QGraphicsSceneHelpEvent) -> None:
        text = self.tooltip_at(event.scenePos(), self._pixel(event))
        if text:
            QToolTip.showText(event.screenPos(), text, event.widget())
        else:
            QToolTip.hideText()
        event.setAccepted(bool(text))

    def _pixel(self, event: QGraphicsSceneHelpEvent) -> float:
        view = event.widget().parentWidget() if event.widget() is not None else None
        scale = view.transform().m11() if hasattr(view, "transform") else 1.0
        return 5.0 / max(scale, 1e-3)

    def tooltip_at(self, pos: QPointF, reach: float = 5.0) -> str:
        """What hovering ``pos`` tells: a box's details, or an edge's tensors and shapes."""
        for item in self.items(pos):
            if isinstance(item, BoxItem):
                return self._box_tooltip(item)
        frame = self._topmost(pos)
        near = QRectF(pos.x() - reach, pos.y() - reach, 2 * reach, 2 * reach)
        for item in self.items(near):
            if isinstance(item, EdgeItem) and self.layout is not None:
                segment = self.layout.routes[item.route_index].segment
                tensors = self.hierarchy.graph.tensors
                lines = [tensors[t].describe() if t in tensors else t for t in segment.tensors]
                names = segment.tensors
                return "\n".join(f"{n}: {d}" for n, d in zip(names[:8], lines[:8], strict=True))
        if isinstance(frame, FrameItem):
            return f"{frame.label}\n(double-click to collapse)"
        return ""

    def _box_tooltip(self, item: BoxItem) -> str:
        extra = self.value_text(item.kind, item.ref) if self.value_text else ""
        if item.kind == "group":
            group = self.hierarchy.groups[item.ref]
            if group.repeat:  # a fold: name its first and last block, not its own path
                first, last = group.groups[0], group.groups[-1]
                lines = [f"{group.repeat} identical blocks: {'/'.join(first)} … {last[-1]}",
                         f"{group.size} nodes (double-click to expand)"]  # fmt: skip
            else:
                lines = ["/".join(item.ref), f"{group.size} nodes (double-click to expand)"]
        elif item.kind == "node":
            node = self.hierarchy.graph.nodes[item.ref]
            lines = [node.name or node.id, f"{node.op_type}  {item.subtitle}".rstrip()]
            if node.params:
                lines.append(f"parameters: {node.params:,}")
            if node.macs:
                lines.append(f"MACs: {human_count(node.macs)}")
        else:
            lines = [f"graph {item.kind}: {item.title}", item.subtitle]
        return "\n".join([*lines, extra] if extra else lines)
