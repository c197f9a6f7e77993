"""Two variants' graphs side by side, coloured by what changed, navigating together.

Each side is the ordinary ``GraphWidget`` (layout in its worker, slices on the scene)
with a "Difference" overlay whose colouring is categorical: the parent shows removed
(red) and changed (amber) nodes, the child added (green) and changed ones; unchanged
nodes are muted. Zooming or panning one side moves the other to the same zoom, centred
on the partner of the node nearest the centre (the graphs differ in size, so plain
scroll fractions would drift apart).
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QPointF, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from workbench.core.compare.graph_match import ADDED, CHANGED, REMOVED, SAME, GraphDiff
from workbench.core.graph.group_layout import Box
from workbench.core.graph.model import Graph
from workbench.core.graph.overlays import Overlay
from workbench.ui.graph_view import GraphWidget
from workbench.ui.graph_view.coloring import Coloring
from workbench.ui.graph_view.items import BoxItem
from workbench.ui.graph_view.legend import Legend
from workbench.ui.workers import TaskRunner

DIFF_OVERLAY = "Difference"
STATUS_COLORS = {  # fill, border
    ADDED: ("#c9f0d1", "#1a7f37"),
    REMOVED: ("#f9cfcf", "#c62828"),
    CHANGED: ("#fde3a7", "#b07a00"),
    SAME: ("#f1f3f6", "#aab3c0"),
}
STATUS_LABELS = {ADDED: "added", REMOVED: "removed", CHANGED: "changed", SAME: "unchanged"}
# overlay values: a collapsed group shows its most changed node (aggregate "max")
RANK = {SAME: 0.0, CHANGED: 1.0, ADDED: 2.0, REMOVED: 2.0}


class DiffColoring(Coloring):
    """Categorical colours under the "Difference" overlay, the usual ones otherwise."""

    def __init__(self, strong: str) -> None:
        super().__init__()
        self.strong = strong  # ADDED on the child's side, REMOVED on the parent's

    def _active(self) -> bool:
        return self.overlay is not None and self.overlay.name == DIFF_OVERLAY

    def status(self, kind: str, ref) -> str | None:
        value = self.value(kind, ref)
        if value is None:
            return None
        return self.strong if value >= 2 else CHANGED if value >= 1 else SAME

    def colors(self, box: Box) -> tuple[QColor, QColor]:
        if not self._active() or box.kind not in ("node", "group"):
            return super().colors(box)
        status = self.status(box.kind, box.ref) or SAME
        fill, border = STATUS_COLORS[status]
        return QColor(fill), QColor(border)

    def value_text(self, kind: str, ref) -> str:
        if not self._active():
            return super().value_text(kind, ref)
        status = self.status(kind, ref)
        return f"versus parent: {STATUS_LABELS[status]}" if status else ""

    def show_in(self, legend: Legend) -> None:
        if not self._active():
            super().show_in(legend)
            return
        entries = [
            (STATUS_LABELS[s], QColor(STATUS_COLORS[s][0]), QColor(STATUS_COLORS[s][1]))
            for s in (self.strong, CHANGED, SAME)
        ]
        legend.show_families(entries)
        legend._title = "Difference vs parent"  # show_families names itself "Op family"
        legend.update()


class GraphDiffView(QWidget):
    """``show_diff(parent_graph, child_graph, diff)``; ``ready`` once both sides are drawn."""

    ready = Signal()

    def __init__(self, tasks: TaskRunner | None = None, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("graph-diff")
        self.tasks = tasks or TaskRunner(self)
        self.left = GraphWidget(tasks=self.tasks, empty_text="parent")
        self.right = GraphWidget(tasks=self.tasks, empty_text="variant")
        for side in (self.left, self.right):
            # Two full toolbars side by side would force a very wide window; below this
            # width the toolbar clips instead.
            side.setMinimumWidth(180)
        self.diff: GraphDiff | None = None
        self.partner: dict[str, dict[str, str]] = {}  # side name -> node id -> partner id
        self._pending: set[str] = set()
        self._syncing = False
        self.titles = (QLabel(), QLabel())
        self.summary = QLabel("Choose a variant that has a parent to see its differences.")
        self.summary.setObjectName("graph-diff-summary")
        self.summary.setWordWrap(True)
        for label in self.titles:  # a long variant name is cut, not a reason to widen
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        panes = QSplitter()
        for widget, title, strong in (
            (self.left, self.titles[0], REMOVED),
            (self.right, self.titles[1], ADDED),
        ):
            widget.coloring = DiffColoring(strong)
            widget.scene.colorer = widget.coloring.colors
            widget.scene.value_text = widget.coloring.value_text
            widget.ready.connect(lambda w=widget: self._on_side_ready(w))
            widget.view.viewport_changed.connect(lambda w=widget: self._follow(w))
            pane = QWidget()
            column = QVBoxLayout(pane)
            column.setContentsMargins(0, 0, 0, 0)
            title.setStyleSheet("font-weight: bold; padding: 2px 6px")
            column.addWidget(title)
            column.addWidget(widget, 1)
            panes.addWidget(pane)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        layout.addLayout(top)
        layout.addWidget(panes, 1)

    def show_diff(self, parent_graph: Graph, child_graph: Graph, diff: GraphDiff) -> None:
        """Lay out both graphs (in the workers) and colour them by ``diff``."""
        self.diff = diff
        forward = diff.partner_in_child()
        self.partner = {"left": forward, "right": {c: p for p, c in forward.items()}}
        self.titles[0].setText(f"{diff.parent_name} (parent)")
        self.titles[1].setText(f"{diff.child_name}")
        self.summary.setText(f"{diff.child_name} versus {diff.parent_name}: {diff.summary()}")
        self._pending = {"left", "right"}
        self.left.set_graph(parent_graph)
        self.right.set_graph(child_graph)

    def _on_side_ready(self, widget: GraphWidget) -> None:
        side = "left" if widget is self.left else "right"
        if self.diff is None or side not in self._pending:
            return
        self._pending.discard(side)
        statuses = (
            self.diff.status_by_parent_id() if side == "left" else self.diff.status_by_child_id()
        )
        values = {node_id: RANK[status] for node_id, status in statuses.items()}
        widget.add_overlay(Overlay(DIFF_OVERLAY, values, "Difference vs parent", "max"))
        widget.show_overlay(DIFF_OVERLAY)
        if not self._pending:
            self._follow(self.left)
            self.ready.emit()

    @property
    def is_ready(self) -> bool:
        return not self._pending and self.left.is_ready and self.right.is_ready

    def status_of(self, side: str, node_id: str) -> str | None:
        """The status a node's box is coloured with (tests, tooltips)."""
        widget = self.left if side == "left" else self.right
        leaf = widget.hierarchy.index.get(node_id) if widget.hierarchy else None
        return None if leaf is None else widget.coloring.status("node", leaf)

    def box_fill(self, side: str, node_id: str) -> QColor | None:
        widget = self.left if side == "left" else self.right
        item = widget.node_item(node_id)
        return None if item is None else QColor(item.fill)

    # -- synchronised navigation ------------------------------------------------------

    def _follow(self, source: GraphWidget) -> None:
        if self._syncing or self._pending or self.diff is None:
            return
        target = self.right if source is self.left else self.left
        parts = (source.view, source.scene, target.view, target.scene)
        if not all(shiboken6.isValid(part) for part in parts):
            return  # the window is being torn down: scroll bars still report
        partner = self.partner["left" if source is self.left else "right"]
        self._syncing = True
        try:
            if abs(target.view.zoom - source.view.zoom) > 1e-6:
                target.view.set_zoom(source.view.zoom)
            visible = source.view.visible_scene_rect()
            centre = visible.center()
            anchor = self._anchor(source, target, partner, visible, centre)
            if anchor is not None:
                here, there = anchor
                target.view.centerOn(there + (centre - here))
            else:  # nothing matched in view: keep the same relative position
                rect, other = source.scene.sceneRect(), target.scene.sceneRect()
                fx = (centre.x() - rect.left()) / max(rect.width(), 1.0)
                fy = (centre.y() - rect.top()) / max(rect.height(), 1.0)
                target.view.centerOn(
                    other.left() + fx * other.width(), other.top() + fy * other.height()
                )
        finally:
            self._syncing = False

    @staticmethod
    def _anchor(source, target, partner, visible, centre) -> tuple[QPointF, QPointF] | None:
        """(centre of the source box nearest the view centre, its partner's centre)."""
        best, best_distance = None, float("inf")
        for item in source.scene.items(visible):
            if not isinstance(item, BoxItem) or item.kind != "node":
                continue
            node_id = source.graph.nodes[item.ref].id
            other = partner.get(node_id)
            if other is None or target.hierarchy is None or other not in target.hierarchy.index:
                continue
            here = item.sceneBoundingRect().center()
            distance = (here - centre).manhattanLength()
            if distance < best_distance:
                best, best_distance = (here, other), distance
        if best is None:
            return None
        here, other = best
        box = target.scene.box_of_leaf(target.hierarchy.index[other])
        return (here, box.sceneBoundingRect().center()) if box is not None else None
