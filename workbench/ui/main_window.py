"""The main window: variants on the left, the model in the middle, details on the right.

It is assembly: the project says what changed (``Project.events``) and the views that
show it (the Variants tree, Compare, the inspector, the recipe) and autosave listen;
the actions get an ``ActionContext`` (project, tasks, status bar, a parent for
dialogs), never the window.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QMainWindow,
    QMenu,
    QMessageBox,
    QWidget,
)

from workbench import __version__
from workbench.core.compress.pruning.graph_nodes import channels_overlay
from workbench.core.graph.model import Graph
from workbench.core.graph.overlays import Overlay
from workbench.core.inspection import Inspection
from workbench.core.project import Project, Variant
from workbench.core.project_files import runs_folder
from workbench.ui.action_context import ActionContext
from workbench.ui.central_tabs import CentralTabs
from workbench.ui.error_dialog import show_error
from workbench.ui.fix_loop import FixLoop
from workbench.ui.inspector import Inspector
from workbench.ui.menus import add_menu, menu_action
from workbench.ui.open_actions import OpenActions
from workbench.ui.project_actions import ProjectActions
from workbench.ui.recipe_view import RecipeView
from workbench.ui.settings import (
    open_settings,
    recent_files,
)
from workbench.ui.status_bar import StatusBar
from workbench.ui.variant_actions import VariantActions
from workbench.ui.variants_view import VariantsView
from workbench.ui.window_layout import restore_layout, save_layout
from workbench.ui.wizards import WIZARDS
from workbench.ui.workers import TaskRunner

DEMO_SOURCE = "zoo:digits_cnn"


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("main-window")
        self.setWindowTitle("Workbench")
        self.setAcceptDrops(True)
        self.settings = open_settings()
        self.tasks = TaskRunner(self)
        self.project = Project()  # one for the window's life: Open Project replaces its variants
        self.inspections: dict[str, Inspection] = {}  # variant id -> what was opened
        self.status = StatusBar(self.tasks, self)
        self.setStatusBar(self.status)

        self.tabs = tabs = CentralTabs(self.tasks)
        self.setCentralWidget(tabs)
        self.graph_view, self.training, self.compare = tabs.graph_view, tabs.training, tabs.compare
        self.netron, self.model_page = tabs.netron, tabs.model_page
        self.structure, self.summary_label = (
            tabs.model_page.structure,
            tabs.model_page.summary_label,
        )
        self.graph_view.failed.connect(lambda error: show_error(self, "Graph layout", error))
        self.compare.failed.connect(lambda error: show_error(self, "Compare", error))
        self.compare.overlay_ready.connect(self._on_overlay)

        self.variants = VariantsView(self.project)
        self.variants.current_changed.connect(self._show_variant)
        self.inspector = Inspector()
        self.recipe_view = RecipeView()
        self._add_dock("Variants", self.variants, Qt.DockWidgetArea.LeftDockWidgetArea)
        self._add_dock("Inspector", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea)
        self._add_dock("Recipe", self.recipe_view, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.structure.node_selected.connect(self._on_node_selected)
        self.graph_view.node_selected.connect(self._on_node_selected)
        # The views follow the project; nothing below tells them of a variant by hand.
        self.compare.set_project(self.project)
        self.compare.graph_source = lambda i: g.graph if (g := self.inspections.get(i)) else None
        self.inspector.follow(self.project)
        self.recipe_view.follow(self.project)
        self.project.events.replaced.connect(self._on_project_replaced)

        self.context = ActionContext(
            self, self.project, self.tasks, self.status, self.settings, self.variants,
            self.inspections,
        )  # fmt: skip
        self.projects = ProjectActions(self.context)
        self.opening = OpenActions(self.context)
        self.opening.preview_shown.connect(self.show_graph_only)
        self.opening.preview_dropped.connect(self.show_current_variant)
        self.opening.file_opened.connect(lambda _path: self.refresh_recent_menu())
        self.actions = VariantActions(self.context)
        self.actions.overlay_ready.connect(self._on_overlay)
        self.actions.netron_ready.connect(self.tabs.show_netron)
        self.fix_loop = FixLoop(self.context, self.actions)  # right-click a node, run again
        self.graph_view.node_menu.connect(self.fix_loop.show_menu)
        self.training.run_finished.connect(self.actions.add_trained)
        self.training.running_changed.connect(
            lambda running: self.projects.training_changed(self.training.key, running)
        )
        self.training.run_failed.connect(self.projects.training_failed)
        self.training.state_changed.connect(
            lambda state: self.projects.training_paused(self.training.key, state)
        )

        self._build_menus()
        restore_layout(self, self.settings)
        self.status.detect_device()

    @property
    def current(self) -> Variant | None:
        """The variant selected in the tree."""
        return self.variants.current

    # -- construction ------------------------------------------------------------

    def _add_dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_menus(self) -> None:
        bar, keys = self.menuBar(), QKeySequence.StandardKey
        self.open_action = menu_action(self, "&Open…", self.opening.choose_file, keys.Open)
        demo = menu_action(self, "Open &Demo", lambda: self.open_source(DEMO_SOURCE))
        self.recent_menu = QMenu("Open &Recent", self)
        add_menu(bar, "&File", [
            self.open_action, demo, self.recent_menu, None,
            ("Export Graph &Image…", self.graph_view.export_dialog), None,
            ("&Quit", self.close, keys.Quit),
        ])  # fmt: skip
        self.refresh_recent_menu()
        self.save_action = menu_action(self, "&Save Project", self.projects.save, keys.Save)
        add_menu(bar, "&Project", [
            ("&Open Project…", self.projects.open, "Ctrl+Shift+O"),
            self.save_action,
            ("Save Project &As…", self.projects.save_as, "Ctrl+Shift+S"),
        ])  # fmt: skip
        add_menu(bar, "&Model", [
            ("&Benchmark", self.actions.benchmark, "Ctrl+B"),
            ("&Evaluate", self.actions.evaluate, "Ctrl+E"),
            ("Export &ONNX…", self.actions.export, "Ctrl+Shift+E"),
            ("Export &Recipe…", self.actions.export_recipe),
        ])  # fmt: skip
        wizards = [(text, lambda r=ref: self.actions.open_wizard(r)) for text, ref in WIZARDS]
        add_menu(bar, "&Compress", wizards).setEnabled(bool(WIZARDS))
        self.find_action = menu_action(self, "&Find in Graph…", self.tabs.find_in_graph, keys.Find)
        self.tabs.hand_search_keys_to_window()
        self.netron_action = menu_action(
            self, "Open in &Netron", self.actions.open_in_netron, "Ctrl+Shift+N"
        )
        docks = [dock.toggleViewAction() for dock in self.findChildren(QDockWidget)]
        add_menu(bar, "&View", [
            *docks, None, self.find_action, self.netron_action, None,
            ("&Full Screen", self._toggle_full_screen, "F11"),
        ])  # fmt: skip
        add_menu(
            bar, "&Help", [("&Plugins…", self.show_plugins), ("&About Workbench", self._about)]
        )
        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("toolbar-main")
        toolbar.addActions([self.open_action, demo])

    def refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        entries = recent_files(self.settings)
        for source in entries:
            self.recent_menu.addAction(
                menu_action(self, source, lambda s=source: self.open_source(s))
            )
        self.recent_menu.setEnabled(bool(entries))

    # -- showing -------------------------------------------------------------------

    def open_source(self, source: str, arch: str | None = None, trust: bool = False) -> None:
        """Open a model file or zoo:NAME in the background; the window stays responsive."""
        self.opening.open_source(source, arch=arch, trust=trust)

    def show_graph_only(self, graph: Graph, summary: dict[str, Any]) -> None:
        """Show a graph that is no variant yet (a prebuilt preview while its model loads)."""
        self.graph_view.set_graph(graph)
        self.model_page.show_model(graph, summary)
        self.inspector.show_model(summary)
        self.setWindowTitle(f"{graph.name} — Workbench")

    def show_current_variant(self) -> None:
        """Show the selected variant again (or nothing), e.g. after a preview came down."""
        self._show_variant(None)
        self._show_variant(self.current)

    def _show_variant(self, variant: Variant | None) -> None:
        if variant is None:
            self.model_page.clear()
            self.graph_view.clear()
            self.inspector.clear()
            self.setWindowTitle("Workbench")
            return
        inspection = self.inspections.get(variant.id)
        summary = inspection.summary if inspection else None
        if inspection is not None:
            if self.graph_view.graph is inspection.graph:  # an adopted preview: keep its view
                self.graph_view.attach_model(inspection.loaded)
            else:
                self.graph_view.set_graph(inspection.graph, inspection.loaded)
            overlay = self.compare.changed_overlay(variant.id)
            if overlay is not None:
                self.graph_view.add_overlay(overlay)  # "Changed versus parent"
            elif variant.parent is not None:
                self.compare.request_diff(variant.id)  # overlay_ready follows
            quantized = variant.metrics.get("quantization") or {}
            errors = quantized.get("error_by_node")
            if errors:
                from workbench.core.compress.quantization.node_error import error_overlay

                self.graph_view.add_overlay(error_overlay(errors, inspection.graph))
            blocks = quantized.get("error_by_block_node")
            if blocks:  # a decoder's layers: each coloured by the drift at its output
                from workbench.core.compress.quantization.node_error import block_error_overlay

                self.graph_view.add_overlay(block_error_overlay(blocks, inspection.graph))
            kept = channels_overlay(variant.metrics.get("layer_channels") or {}, inspection.graph)
            if kept is not None:  # channel pruning: each layer's share of channels kept
                self.graph_view.add_overlay(kept)
            loaded = inspection.loaded
            from workbench.core.measure.inputs import text_tokenization

            self.training.set_variant(
                variant.id,
                loaded.module if loaded.framework == "pytorch" else None,
                arch=loaded.arch,
                dataset=loaded.dataset,
                source=variant.source,
                name=variant.name,
                runs_dir=runs_folder(self.project, variant.id),
                image_size=loaded.image_size,
                text=text_tokenization(loaded),
            )
            self.model_page.show_model(inspection.graph, summary)
        self.inspector.show_variant(self.project, variant, summary)
        self.recipe_view.show_variant(self.project, variant)
        self.setWindowTitle(f"{variant.name} — Workbench")

    def _on_project_replaced(self, project: Project) -> None:
        self.setWindowTitle(f"Workbench — {project.name}")

    def _on_overlay(self, variant_id: str, overlay: Overlay) -> None:
        """An overlay for a variant's graph (changed versus parent, latency share)."""
        if self.current is None or self.current.id != variant_id:
            return
        self.graph_view.add_overlay(overlay)
        if overlay.name == "Latency share":  # asked for by Benchmark: shown at once
            self.graph_view.show_overlay(overlay.name)

    def _on_node_selected(self, node: Any) -> None:
        graph = self.graph_view.graph  # the current variant's, or a preview's
        if graph is not None:
            self.inspector.show_node(graph, node)

    # -- window ----------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_source(url.toLocalFile())
        event.acceptProposedAction()

    def show_plugins(self) -> None:
        from workbench.ui.plugins_dialog import PluginsDialog

        PluginsDialog(parent=self).open()

    def _toggle_full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About Workbench",
            f"Workbench {__version__}\nMake neural networks smaller and faster.",
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.training.is_running():
            answer = QMessageBox.question(
                self,
                "Stop training?",
                "A training run is in progress. Stop it (its last checkpoint is kept) and quit?",
            )
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
            self.training.request_stop_and_wait()
        self.projects.end_session()
        save_layout(self, self.settings)
        self.tasks.wait_all()
        self.netron.stop()
        super().closeEvent(event)
