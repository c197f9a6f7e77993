"""The graph canvas as one widget: view, minimap, search, overlay chooser and legend.

Layouts are computed in a worker (``TaskRunner``, the window's own when given): the
GUI thread only measures nothing, builds items in time slices and paints. Expanding or
collapsing a group lays out again in the worker too; the core reuses the layouts of the
groups that did not change, so this takes milliseconds for ordinary models.
"""

from __future__ import annotations

import gc
from pathlib import Path

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.graph.group_layout import GraphLayout, HierarchyLayout
from workbench.core.graph.hierarchy import ROOT, GroupPath, Hierarchy
from workbench.core.graph.model import Graph, Node
from workbench.core.graph.overlays import (
    Overlay,
    macs_overlay,
    parameter_overlay,
    sparsity_overlay,
)
from workbench.core.io.loaded import LoadedModel
from workbench.ui.graph_view.coloring import Coloring
from workbench.ui.graph_view.export import export_image, export_or_explain
from workbench.ui.graph_view.items import BoxItem, TextWidth
from workbench.ui.graph_view.legend import Legend
from workbench.ui.graph_view.minimap import Minimap
from workbench.ui.graph_view.overlay_box import FAMILY_OVERLAY, SPARSITY, OverlayBox
from workbench.ui.graph_view.scene import GraphScene
from workbench.ui.graph_view.search import SearchBar
from workbench.ui.graph_view.view import GraphView
from workbench.ui.workers import TaskRunner

EMPTY_TEXT = "Open a model with File ▸ Open… (Ctrl+O), drop a file here, or open the demo"


class GraphWidget(QWidget):
    node_selected = Signal(object)  # core Node
    node_menu = Signal(object, object)  # right-click on a node: core Node, global QPoint
    group_selected = Signal(object)  # group path (tuple of scope names)
    selection_cleared = Signal()
    ready = Signal()  # the current layout is fully on the canvas
    failed = Signal(object)  # the exception of a failed layout

    def __init__(
        self, tasks: TaskRunner | None = None, parent=None, empty_text: str = EMPTY_TEXT
    ) -> None:
        super().__init__(parent)
        self.setObjectName("graph-widget")
        self.tasks = tasks or TaskRunner(self)
        self.scene = GraphScene(self)
        self.view = GraphView(self.scene)
        self.minimap = Minimap(self.view, self.view)
        self.legend = Legend(self.view)
        self.search_bar = SearchBar()
        self.overlay_box = OverlayBox()
        self.status = QLabel("")
        self.graph: Graph | None = None
        self.loaded: LoadedModel | None = None
        self.hierarchy: Hierarchy | None = None
        self.layout_engine: HierarchyLayout | None = None
        self.expanded: set[GroupPath] = set()
        self.overlays: dict[str, Overlay | None] = {}
        self.coloring = Coloring()
        self._generation = 0
        self._job = None
        self._focus_leaf: int | None = None
        self._anchor: tuple[GroupPath, float, float] | None = None
        self._first_view = True
        # What an empty view says, as good desktop apps do (Netron shows its Open button).
        self.placeholder = QLabel(empty_text, self.view)
        self.placeholder.setObjectName("graph-placeholder")
        self.placeholder.setStyleSheet("color: palette(mid);")
        self.placeholder.adjustSize()
        self._build_ui()
        self.minimap.hide()  # nothing to overview or explain before the first graph
        self.legend.hide()

    # -- construction -------------------------------------------------------------------

    def _build_ui(self) -> None:
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 4, 4, 2)
        bar.addWidget(self.search_bar, 2)
        bar.addSpacing(12)
        bar.addWidget(QLabel("Colour by"))
        bar.addWidget(self.overlay_box)
        for text, tip, slot in (
            ("Fit", "Show the whole graph (0)", self.view.fit),
            ("Expand all", "Expand every group", self.expand_all),
            ("Collapse all", "Collapse every group", self.collapse_all),
            ("Export…", "Save the graph as PNG or SVG", self.export_dialog),
        ):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            bar.addWidget(button)
        bar.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.search_action = QAction("Find in Graph…", self)
        self.search_action.setShortcut(QKeySequence.StandardKey.Find)
        self.search_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.search_action.triggered.connect(self.focus_search)
        self.addAction(self.search_action)
        self.search_bar.matcher = self._match_nodes
        self.search_bar.hit.connect(self._go_to)
        self.search_bar.left.connect(self.view.setFocus)
        self.view.box_menu.connect(self._box_menu)
        self.overlay_box.chosen.connect(self._on_overlay_chosen)
        self.scene.colorer = self.coloring.colors
        self.scene.value_text = self.coloring.value_text
        self.scene.built.connect(self._on_built)
        self.scene.toggle_requested.connect(self.toggle)
        self.scene.selectionChanged.connect(self._on_selection)
        self.view.viewport_changed.connect(self._place_overlays)
        self._reset_overlay_box()

    def _place_overlays(self) -> None:
        viewport = self.view.viewport().geometry()
        self.minimap.move(viewport.right() - self.minimap.width() - 8,
                          viewport.bottom() - self.minimap.height() - 8)  # fmt: skip
        self.legend.move(viewport.left() + 8, viewport.bottom() - self.legend.height() - 8)
        self.placeholder.move(viewport.center() - self.placeholder.rect().center())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place_overlays()

    # -- opening a graph ----------------------------------------------------------------

    def set_graph(
        self,
        graph: Graph,
        loaded: LoadedModel | None = None,
        expanded: set[GroupPath] | str | None = None,
    ) -> None:
        """Show ``graph`` (laid out in a worker; ``ready`` follows).

        ``expanded``: the groups to open with, ``"all"``, or None for a readable depth
        (about 300 boxes). ``loaded`` enables the weight-sparsity overlay.
        """
        self._forget(graph, loaded)
        text_width = TextWidth()

        def job(ctx):
            gc.freeze()  # the graph stays: keep it out of the collector's full passes
            hierarchy = Hierarchy(graph)
            engine = HierarchyLayout(hierarchy, text_width)
            if expanded == "all":
                chosen = hierarchy.all_groups()
            elif expanded is None:
                chosen = hierarchy.default_expanded()
            else:
                chosen = set(expanded)
            return hierarchy, engine, chosen, engine.compute(chosen, ctx)

        self._run(job, self._on_opened)

    def attach_model(self, loaded: LoadedModel) -> None:
        """The model behind the graph shown (a prebuilt preview the load caught up with):
        the layout, view and overlays stay as they are."""
        self.loaded = loaded
        self.overlay_box.add(SPARSITY)

    def clear(self) -> None:
        """Show no graph (a preview whose model then failed to open)."""
        self._forget(None, None)
        self._supersede()
        self.status.setText("")

    def _supersede(self) -> int:
        """Stop wanting what is still being laid out or rendered; the new generation."""
        self._generation += 1
        self.minimap.ticket += 1  # a render of the previous layout is no longer wanted
        if self._job is not None:
            self._job.cancel()
        return self._generation

    def _forget(self, graph: Graph | None, loaded: LoadedModel | None) -> None:
        gc.unfreeze()  # what the last graph froze (see _on_opened) may be collected again
        self.graph, self.loaded = graph, loaded
        self.hierarchy = self.layout_engine = None
        self.scene.clear_items()
        self.minimap.clear()
        self.minimap.hide()  # both come back once a graph is drawn
        self.legend.hide()
        self.placeholder.setVisible(graph is None)
        self.overlays = {}
        self._first_view = True
        self._focus_leaf, self._anchor = None, None
        self._reset_overlay_box()

    def _run(self, job, on_success) -> None:
        generation = self._supersede()
        self.status.setText("laying out…")

        def success(result) -> None:
            if generation == self._generation:
                on_success(result)

        def failure(error: BaseException) -> None:
            if generation == self._generation:
                self.status.setText("layout failed")
                self.failed.emit(error)

        self._job = self.tasks.start_job(job, success, failure)

    def _on_opened(self, result) -> None:
        self.hierarchy, self.layout_engine, self.expanded, layout = result
        # The model, its hierarchy and layout live as long as the view shows them:
        # moving them out of the cyclic collector's reach keeps its full passes (50+ ms
        # each with 10,000 nodes) from stalling the scene build. The next set_graph
        # unfreezes, so nothing stays uncollectable once it is no longer shown.
        gc.freeze()
        self.overlays.update(
            {FAMILY_OVERLAY: None, "Parameters": parameter_overlay(self.graph),
             "MACs": macs_overlay(self.graph)}
        )  # fmt: skip
        self._show(layout)

    def _show(self, layout: GraphLayout) -> None:
        self.expanded = set(layout.expanded)
        self.coloring.prepare(self.hierarchy, layout)
        self.status.setText("drawing…")
        self.scene.show_layout(self.hierarchy, layout)

    def _on_built(self) -> None:
        layout = self.scene.layout
        self.status.setText(f"{len(layout.boxes):,} boxes")
        if self._first_view:
            self._first_view = False
            self.view.show_top()
        elif self._anchor is not None:
            path, dx, dy = self._anchor
            frame = self.scene.frames.get(path) or self.scene.boxes.get(("group", path))
            if frame is not None:
                here = self.view.mapFromScene(frame.pos())
                bar_h, bar_v = self.view.horizontalScrollBar(), self.view.verticalScrollBar()
                bar_h.setValue(bar_h.value() + int(here.x() - dx))
                bar_v.setValue(bar_v.value() + int(here.y() - dy))
        self._anchor = None
        self._refresh_minimap()
        self._refresh_legend()
        if self._focus_leaf is not None:
            leaf, self._focus_leaf = self._focus_leaf, None
            self._focus(leaf)
        self.ready.emit()

    @property
    def is_ready(self) -> bool:
        return self.scene.layout is not None and not self.scene.building and not self.tasks.busy

    def visible_box_count(self) -> int:
        """Boxes on the canvas: nodes, graph inputs/outputs and collapsed groups."""
        return len(self.scene.boxes)

    # -- groups -------------------------------------------------------------------------

    def toggle(self, path: GroupPath) -> None:
        (self.collapse if path in self.expanded else self.expand)(path)

    def expand(self, path: GroupPath) -> None:
        self._relayout(self.expanded | {path}, anchor=path)

    def collapse(self, path: GroupPath) -> None:
        if path != ROOT:
            self._relayout(self.expanded - {path}, anchor=path)

    def expand_all(self) -> None:
        if self.hierarchy is not None:
            self._first_view = True  # start again from the top, at a readable zoom
            self._relayout(self.hierarchy.all_groups())

    def collapse_all(self) -> None:
        self._first_view = True
        self._relayout({ROOT})

    def _relayout(self, expanded: set[GroupPath], anchor: GroupPath | None = None) -> None:
        engine = self.layout_engine
        if engine is None:
            return
        self._anchor = None
        item = self.scene.frames.get(anchor) or self.scene.boxes.get(("group", anchor))
        if item is not None:
            here = self.view.mapFromScene(item.pos())
            self._anchor = (anchor, here.x(), here.y())
        chosen = set(expanded)
        self._run(lambda ctx: engine.compute(chosen, ctx), self._show)

    # -- selection and search -----------------------------------------------------------

    def _on_selection(self) -> None:
        items = [i for i in self.scene.selectedItems() if isinstance(i, BoxItem)]
        if not items:
            self.scene.clear_highlight()
            self.selection_cleared.emit()
            return
        item = items[0]
        self.scene.highlight_neighbours(item)
        if item.kind == "node":
            self.node_selected.emit(self.graph.nodes[item.ref])
        elif item.kind == "group":
            self.group_selected.emit(item.ref)

    def _box_menu(self, item: BoxItem | None, where) -> None:
        if item is not None and item.kind == "node" and self.graph is not None:
            self.node_menu.emit(self.graph.nodes[item.ref], where)

    def node_item(self, node_id: str) -> BoxItem | None:
        if self.hierarchy is None or node_id not in self.hierarchy.index:
            return None
        return self.scene.boxes.get(("node", self.hierarchy.index[node_id]))

    def select_node(self, node_id: str) -> None:
        """Select and centre a node, expanding the groups that hide it."""
        if self.hierarchy is not None and node_id in self.hierarchy.index:
            self._go_to(self.hierarchy.index[node_id])

    def _match_nodes(self, text: str) -> list[int]:
        return self.hierarchy.search(text) if self.hierarchy is not None else []

    def _go_to(self, leaf: int) -> None:
        hidden = [p for p in self.hierarchy.ancestors(leaf) if p not in self.expanded]
        if hidden:
            self._focus_leaf = leaf
            self._relayout(self.expanded | set(hidden))
        else:
            self._focus(leaf)

    def _focus(self, leaf: int) -> None:
        item = self.scene.boxes.get((self.hierarchy.leaf_kind(leaf), leaf))
        if item is None:
            return
        self.scene.clearSelection()
        item.setSelected(True)
        self.view.center_on_rect(item.sceneBoundingRect())

    def focus_search(self) -> None:
        self.search_bar.focus()

    def find(self, text: str) -> int:
        """Search nodes by name or op type; returns the number of matches."""
        return self.search_bar.search(text)

    def find_next(self) -> Node | None:
        """Select and centre the next match (expanding what hides it)."""
        leaf = self.search_bar.step(1)
        return self.graph.nodes[leaf] if leaf is not None else None

    def find_previous(self) -> Node | None:
        leaf = self.search_bar.step(-1)
        return self.graph.nodes[leaf] if leaf is not None else None

    # -- overlays -----------------------------------------------------------------------

    def _reset_overlay_box(self) -> None:
        self.overlay_box.reset(sparsity=self.loaded is not None)
        self.coloring.overlay = None

    def set_overlay(self, name: str, values: dict[str, float], legend_title: str,
                    **options) -> None:  # fmt: skip
        """Add (or replace) an overlay of per-node values and show it.

        ``values`` maps node ids to numbers; ``options`` go to ``Overlay`` (aggregate,
        log_scale, kind, fixed_range).
        """
        self.add_overlay(Overlay(name, dict(values), legend_title, **options))
        self.show_overlay(name)

    def add_overlay(self, overlay: Overlay) -> None:
        self.overlays[overlay.name] = overlay
        self.overlay_box.add(overlay.name)

    def remove_overlay(self, name: str) -> None:
        self.overlays.pop(name, None)
        self.overlay_box.remove(name)

    def show_overlay(self, name: str) -> None:
        """Colour by a known overlay ("Op family", "Parameters", "MACs", ...)."""
        self.overlay_box.choose(name)

    def _on_overlay_chosen(self, name: str) -> None:
        if not name or self.graph is None:
            return
        if name == SPARSITY and name not in self.overlays and self.loaded is not None:
            graph, loaded = self.graph, self.loaded
            self.status.setText("counting zero weights…")
            self.tasks.start_job(
                lambda ctx: sparsity_overlay(graph, loaded, ctx),
                lambda overlay: (self.add_overlay(overlay), self._on_overlay_chosen(name)),
                self.failed.emit,
            )
            return
        self.coloring.overlay = self.overlays.get(name)
        if self.scene.layout is not None:
            self.coloring.prepare(self.hierarchy, self.scene.layout)
            self.scene.recolor()
            self._refresh_minimap()
            self._refresh_legend()

    @property
    def overlay(self) -> Overlay | None:
        """The overlay the boxes are coloured by (None: op families)."""
        return self.coloring.overlay

    def _refresh_legend(self) -> None:
        self.coloring.show_in(self.legend)
        self.legend.show()
        self._place_overlays()

    def _refresh_minimap(self) -> None:
        self.minimap.refresh(self.tasks, self.scene, self._place_overlays, self.failed.emit)

    # -- export -------------------------------------------------------------------------

    def export_image(self, path: str | Path, visible_only: bool = False) -> Path:
        """Save the graph (or only what the view shows) as .png or .svg."""
        self.scene.finish()
        rect = self.view.visible_scene_rect() if visible_only else None
        return export_image(self.scene, path, QRectF(rect) if rect is not None else None)

    def export_dialog(self) -> Path | None:
        name = self.graph.name if self.graph is not None else "graph"
        return export_or_explain(self, Path(name).stem, self.export_image)
