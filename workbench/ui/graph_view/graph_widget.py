"""The graph canvas as one widget: view, minimap, search, overlay chooser and legend.

Layouts are computed in a worker (``TaskRunner``, the window's own when given): the
GUI thread only measures nothing, builds items in time slices and paints. Expanding or
collapsing a group lays out again in the worker too; the core reuses the layouts of the
groups that did not change, so this takes milliseconds for ordinary models.

"Hide shape arithmetic" shows the graph less the nodes that only compute reshape targets
(``core.graph.shape_math``); ``graph`` stays the model's whole graph (the inspector reads
it), ``hierarchy.graph`` is what the canvas shows, and box refs index the latter.

"Fold repeated blocks" wraps each run of identical layers (``core.graph.repeated_blocks``)
in one group "layer ×12", collapsed until opened; opening it opens its first block too.
"""

from __future__ import annotations

import gc
from pathlib import Path

from PySide6.QtCore import QRectF, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QToolBar, QVBoxLayout, QWidget

from workbench.core.graph.group_layout import GraphLayout, HierarchyLayout
from workbench.core.graph.hierarchy import ROOT, GroupPath, Hierarchy
from workbench.core.graph.model import Graph, Node
from workbench.core.graph.overlays import (
    Overlay,
    macs_overlay,
    parameter_overlay,
    sparsity_overlay,
)
from workbench.core.graph.repeated_blocks import find_runs, fold_repeated_blocks
from workbench.core.graph.shape_math import shape_math_nodes, without_shape_math
from workbench.core.io.loaded import LoadedModel
from workbench.ui.graph_view.chrome import CanvasChrome
from workbench.ui.graph_view.coloring import Coloring
from workbench.ui.graph_view.elided_label import ElidedLabel
from workbench.ui.graph_view.export import export_image, export_or_explain
from workbench.ui.graph_view.items import BoxItem, TextWidth
from workbench.ui.graph_view.legend import Legend
from workbench.ui.graph_view.minimap import Minimap
from workbench.ui.graph_view.overlay_box import FAMILY_OVERLAY, SPARSITY, OverlayBox
from workbench.ui.graph_view.scene import GraphScene
from workbench.ui.graph_view.search import SearchBar
from workbench.ui.graph_view.view import GraphView
from workbench.ui.settings import open_settings
from workbench.ui.workers import TaskRunner

SHAPE_MATH_KEY = "graph/hide_shape_math"  # "auto" until the user toggles it
FOLD_KEY = "graph/fold_repeated_blocks"  # on until the user turns it off
AUTO_HIDE_SHARE = 0.2


def hide_by_default(graph: Graph, hidden: set[str]) -> bool:
    """Whether to hide the shape arithmetic of a graph the user has made no choice for.

    Yes when it computes shapes at run time (``Shape``/``Size``) and the nodes that do
    are at least AUTO_HIDE_SHARE of the graph: then they are the clutter (a BERT export
    is ~65% Shape/Gather/Unsqueeze/Concat/Constant: 454 boxes become 159). A CNN's few
    (a flatten's target shape) or a ResNet export's Identity nodes passing weights on
    stay as exported, so an ordinary graph on the canvas matches its file node for node.
    """
    if len(hidden) < AUTO_HIDE_SHARE * len(graph.nodes):
        return False
    return any(n.op_type in ("Shape", "Size") for n in graph.nodes if n.id in hidden)


EMPTY_TEXT = "Open a model with File ▸ Open… (Ctrl+O), drop a file here, or open the demo"


class GraphWidget(QWidget):
    node_selected = Signal(object)  # core Node
    node_menu = Signal(object, object)  # right-click on a node: core Node, global QPoint
    group_selected = Signal(object)  # group path (tuple of scope names)
    selection_cleared = Signal()
    ready = Signal()  # the current layout is fully on the canvas
    failed = Signal(object)  # the exception of a failed layout

    def __init__(
        self,
        tasks: TaskRunner | None = None,
        parent=None,
        empty_text: str = EMPTY_TEXT,
        settings: QSettings | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("graph-widget")
        self.tasks = tasks or TaskRunner(self)
        self.settings = settings if settings is not None else open_settings()
        self.scene = GraphScene(self)
        self.view = GraphView(self.scene)
        self.minimap = Minimap(self.view, self.view)
        self.legend = Legend(self.view)
        self.search_bar = SearchBar()
        self.overlay_box = OverlayBox()
        self.status = ElidedLabel("")
        self.status.setObjectName("graph-status")
        self.chrome = CanvasChrome(self.view, self.legend, self.minimap, self.settings)
        self.graph: Graph | None = None  # the model's whole graph
        self.shape_math_count = 0  # nodes of ``graph`` that only compute shapes
        self.run_count = 0  # runs of repeated blocks in what the canvas shows
        self._idle_status = ""  # what the status says once nothing runs
        self._reveal: str | None = None  # a hidden node to select once it is shown
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
        self.chrome.set_active(False)  # nothing to overview or explain before a graph

    # -- construction -------------------------------------------------------------------

    def _build_ui(self) -> None:
        # A QToolBar: what does not fit a narrow canvas (the side-by-side diff, a window
        # with wide docks) moves into its » menu instead of widening the window.
        bar = QToolBar()
        bar.setObjectName("graph-toolbar")
        bar.setMovable(False)
        bar.addWidget(self.search_bar)
        bar.addSeparator()
        bar.addWidget(QLabel("Colour by "))
        bar.addWidget(self.overlay_box)
        self.shape_math_action = bar.addAction("Hide shape arithmetic")
        self.shape_math_action.setObjectName("graph-hide-shape-math")
        self.shape_math_action.setCheckable(True)
        self.shape_math_action.setEnabled(False)  # until a graph that has some is shown
        self.shape_math_action.setToolTip(
            "Hide the nodes that only compute shapes (Shape, Gather, Unsqueeze, Concat, "
            "Constant feeding a Reshape): the layers' own operations stay"
        )
        self.shape_math_action.toggled.connect(self.set_hide_shape_math)
        self.fold_action = bar.addAction("Fold ×N")
        self.fold_action.setObjectName("graph-fold-repeats")
        self.fold_action.setCheckable(True)
        self.fold_action.setEnabled(False)  # until a graph that has some is shown
        self.fold_action.setToolTip(
            "Fold repeated blocks: show a run of identical layers (a transformer's encoder "
            "layers) as one group marked ×N; double-click it to see them"
        )
        self.fold_action.toggled.connect(self.set_fold_repeats)
        for text, tip, slot in (
            ("Fit", "Show the whole graph (0)", self.view.fit),
            ("Expand all", "Expand every group", self.expand_all),
            ("Collapse all", "Collapse every group", self.collapse_all),
            ("Export…", "Save the graph as PNG or SVG", self.export_dialog),
        ):
            action = bar.addAction(text, slot)
            action.setToolTip(tip)
        bar.addWidget(self.status)
        self.toolbar = bar
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(bar)
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
        self.chrome.place()
        viewport = self.view.viewport().geometry()
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
        self._open(graph, self._hide_preference(), self._fold_preference(), expanded)

    def _hide_preference(self) -> bool | None:
        """The user's last choice for "Hide shape arithmetic"; None: not made yet."""
        value = str(self.settings.value(SHAPE_MATH_KEY, "auto")).lower()
        return None if value == "auto" else value == "true"

    def _fold_preference(self) -> bool:
        return str(self.settings.value(FOLD_KEY, "true")).lower() == "true"

    def _open(
        self, graph: Graph, hide: bool | None, fold: bool, expanded, keep=frozenset()
    ) -> None:
        """Lay out ``graph`` (less its shape arithmetic if ``hide``; None: as
        ``hide_by_default`` says; its repeated blocks folded if ``fold``) in a worker.
        ``keep``: groups to open too."""
        text_width = TextWidth()

        def job(ctx):
            gc.freeze()  # the graph stays: keep it out of the collector's full passes
            hidden = shape_math_nodes(graph)
            hiding = hide if hide is not None else hide_by_default(graph, hidden)
            shown = without_shape_math(graph) if hiding and hidden else graph
            hierarchy = Hierarchy(shown)
            runs = find_runs(hierarchy)
            if fold:
                fold_repeated_blocks(hierarchy, runs)
            engine = HierarchyLayout(hierarchy, text_width)
            if expanded == "all":
                chosen = hierarchy.all_groups()
            elif expanded is None:
                chosen = hierarchy.default_expanded() | (set(keep) & hierarchy.all_groups())
            else:
                chosen = set(expanded)
            layout = engine.compute(chosen, ctx)
            return len(hidden), len(runs), hierarchy, engine, chosen, layout

        self._run(job, self._on_opened)

    @property
    def hiding_shape_math(self) -> bool:
        """The canvas shows the graph less its shape arithmetic."""
        return self.hierarchy is not None and self.hierarchy.graph is not self.graph

    def set_hide_shape_math(self, hide: bool, remember: bool = True) -> None:
        """Show the graph with or without its shape arithmetic (laid out in the worker;
        ``ready`` follows); the overlays and the groups the user opened stay."""
        if remember:
            self.settings.setValue(SHAPE_MATH_KEY, "true" if hide else "false")
        if self.graph is None or self.hierarchy is None:
            return
        self._first_view = True
        self._open(self.graph, hide, self.folding, None, keep=self.expanded)

    @property
    def folding(self) -> bool:
        """The canvas shows runs of repeated blocks as one group each."""
        return self.hierarchy is not None and any(g.repeat for g in self.hierarchy.groups.values())

    def set_fold_repeats(self, fold: bool, remember: bool = True) -> None:
        """Show runs of identical blocks folded into one group "×N", or every block (laid
        out in the worker; ``ready`` follows); the groups the user opened stay open."""
        if remember:
            self.settings.setValue(FOLD_KEY, "true" if fold else "false")
        if self.graph is None or self.hierarchy is None:
            return
        self._first_view = True
        self._open(self.graph, self.hiding_shape_math, fold, None, keep=self.expanded)

    def attach_model(self, loaded: LoadedModel) -> None:
        """The model behind the graph shown (a prebuilt preview the load caught up with):
        the layout, view and overlays stay as they are."""
        self.loaded = loaded
        self.overlay_box.add(SPARSITY)

    def clear(self) -> None:
        """Show no graph (a preview whose model then failed to open)."""
        self._forget(None, None)
        self._supersede()
        self._set_status("")

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
        self.chrome.set_active(False)  # back once a graph is drawn
        self.shape_math_count = 0
        self.shape_math_action.setEnabled(False)  # until this graph's layout says
        self.run_count = 0
        self.fold_action.setEnabled(False)
        self._reveal = None
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
                self._set_status("layout failed")
                self.failed.emit(error)

        self._job = self.tasks.start_job(job, success, failure)

    def _set_status(self, text: str) -> None:
        """What the status says once nothing runs (a finished job leaves no stale text)."""
        self._idle_status = text
        self.status.setText(text)

    def _on_opened(self, result) -> None:
        (self.shape_math_count, self.run_count, self.hierarchy, self.layout_engine,
         self.expanded, layout) = result  # fmt: skip
        self._show_node_count()
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

    def _show_node_count(self) -> None:
        """The toggle as the graph has it, and how many of its nodes the canvas shows."""
        action, hiding = self.shape_math_action, self.hiding_shape_math
        action.blockSignals(True)  # showing the state is no choice of the user's
        action.setChecked(hiding)
        action.blockSignals(False)
        action.setEnabled(self.shape_math_count > 0)
        fold = self.fold_action
        fold.blockSignals(True)
        fold.setChecked(self.folding)
        fold.blockSignals(False)
        fold.setEnabled(self.run_count > 0)
        total = len(self.graph.nodes)
        shown = len(self.hierarchy.graph.nodes)
        self.chrome.count.setText(
            f"{shown:,} of {total:,} nodes shown" if hiding else f"{total:,} nodes"
        )
        self.chrome.count.setToolTip(
            f"{total - shown:,} nodes that only compute shapes are hidden "
            "(toolbar: Hide shape arithmetic)" if hiding else ""
        )  # fmt: skip

    def _show(self, layout: GraphLayout) -> None:
        self.expanded = set(layout.expanded)
        self.coloring.prepare(self.hierarchy, layout)
        self.status.setText("drawing…")
        self.scene.show_layout(self.hierarchy, layout)

    def _on_built(self) -> None:
        layout = self.scene.layout
        self._set_status(f"{len(layout.boxes):,} boxes")
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
        self.chrome.active = True  # the legend now; the overview once rendered
        self._refresh_minimap()
        self._refresh_legend()
        if self._focus_leaf is not None:
            leaf, self._focus_leaf = self._focus_leaf, None
            self._focus(leaf)
        if self._reveal is not None:
            node_id, self._reveal = self._reveal, None
            self.select_node(node_id)  # lays out again if a group hides it: ready follows
            if self._focus_leaf is not None:
                return
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
        """Open a group (a fold of repeated blocks: with its first block, see
        ``Hierarchy.opening``)."""
        if self.hierarchy is not None and path in self.hierarchy.groups:
            self._relayout(self.expanded | self.hierarchy.opening(path), anchor=path)

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
            self.node_selected.emit(self.hierarchy.graph.nodes[item.ref])
        elif item.kind == "group":
            self.group_selected.emit(item.ref)

    def _box_menu(self, item: BoxItem | None, where) -> None:
        if item is not None and item.kind == "node" and self.graph is not None:
            self.node_menu.emit(self.hierarchy.graph.nodes[item.ref], where)

    def node_item(self, node_id: str) -> BoxItem | None:
        if self.hierarchy is None or node_id not in self.hierarchy.index:
            return None
        return self.scene.boxes.get(("node", self.hierarchy.index[node_id]))

    def select_node(self, node_id: str) -> None:
        """Select and centre a node, expanding the groups that hide it (and showing the
        shape arithmetic, for now, if it is a node of that)."""
        if self.hierarchy is None:
            return
        if node_id in self.hierarchy.index:
            self._go_to(self.hierarchy.index[node_id])
        elif self.hiding_shape_math and any(n.id == node_id for n in self.graph.nodes):
            self._reveal = node_id
            self.set_hide_shape_math(False, remember=False)

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
        return self.hierarchy.graph.nodes[leaf] if leaf is not None else None

    def find_previous(self) -> Node | None:
        leaf = self.search_bar.step(-1)
        return self.hierarchy.graph.nodes[leaf] if leaf is not None else None

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

            def counted(overlay: Overlay) -> None:
                self.status.setText(self._idle_status)
                self.add_overlay(overlay)
                self._on_overlay_chosen(name)

            def failed(error: BaseException) -> None:
                self.status.setText(self._idle_status)
                self.failed.emit(error)

            self.tasks.start_job(lambda ctx: sparsity_overlay(graph, loaded, ctx), counted, failed)
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
