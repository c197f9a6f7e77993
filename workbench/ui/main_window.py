"""The main window: variants on the left, the model in the middle, details on the right."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QTabWidget,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench import __version__
from workbench.core.errors import WorkbenchError
from workbench.core.graph.model import Graph
from workbench.core.inspection import Inspection
from workbench.core.project import Project, Variant
from workbench.core.project_files import runs_folder
from workbench.core.units import human_count
from workbench.ui.compare import CompareTab
from workbench.ui.graph_view import GraphWidget
from workbench.ui.inspector import Inspector
from workbench.ui.netron_tab import NetronServer, NetronTab, stage_proto
from workbench.ui.open_actions import OpenActions
from workbench.ui.project_actions import ProjectActions
from workbench.ui.recipe_view import RecipeView
from workbench.ui.settings import open_settings, recent_files
from workbench.ui.structure_view import StructureView
from workbench.ui.training.training_tab import TrainingTab
from workbench.ui.variant_actions import VariantActions
from workbench.ui.wizards import WIZARDS
from workbench.ui.workers import TaskRunner

DEMO_SOURCE = "zoo:digits_cnn"
VARIANT_ROLE = Qt.ItemDataRole.UserRole + 1


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("main-window")
        self.setWindowTitle("Workbench")
        self.setAcceptDrops(True)
        self.resize(1280, 800)
        self.settings = open_settings()
        self.tasks = TaskRunner(self)
        self.project = Project()
        self.inspections: dict[str, Inspection] = {}  # variant id -> what was opened
        self.current: Variant | None = None

        self.structure = StructureView()
        self.summary_label = QLabel()
        self.summary_label.setObjectName("summary")
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary_label.setWordWrap(True)
        model_page = QWidget()
        layout = QVBoxLayout(model_page)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.structure)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("tabs")
        self.graph_view = GraphWidget(tasks=self.tasks)
        self.graph_view.failed.connect(lambda error: self.show_error("Graph layout", error))
        self.tabs.addTab(self.graph_view, "Graph")
        self.tabs.addTab(model_page, "Structure")
        self.projects = ProjectActions(self)
        self.opening = OpenActions(self)
        self.training = TrainingTab()
        self.tabs.addTab(_scrolling(self.training), "Training")
        self.actions = VariantActions(self)
        self.training.run_finished.connect(self.actions.add_trained)
        self.training.running_changed.connect(self.projects.training_changed)
        self.training.run_failed.connect(self.projects.training_failed)
        self.compare = CompareTab(tasks=self.tasks)
        self.compare.failed.connect(lambda error: self.show_error("Compare", error))
        self.compare.overlay_ready.connect(self._on_changed_overlay)
        self.tabs.addTab(_scrolling(self.compare), "Compare")
        self.compare.set_project(self.project)
        self.netron = NetronTab()
        self.tabs.addTab(self.netron, "Netron")
        self.setCentralWidget(self.tabs)

        self.variants = QTreeWidget()
        self.variants.setObjectName("variants")
        self.variants.setHeaderLabels(("Variant", "State"))
        self.variants.currentItemChanged.connect(self._on_variant_changed)
        self.inspector = Inspector()
        self._add_dock("Variants", self.variants, Qt.DockWidgetArea.LeftDockWidgetArea)
        self._add_dock("Inspector", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea)
        self.recipe_view = RecipeView()
        self._add_dock("Recipe", self.recipe_view, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.structure.node_selected.connect(self._on_node_selected)
        self.graph_view.node_selected.connect(self._on_node_selected)

        self.device_label = QLabel("device: …")
        self.task_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setRange(0, 0)  # busy indicator: loading reports no fraction
        self.progress.hide()
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop the background task")
        self.cancel_button.clicked.connect(self.tasks.cancel_all)
        self.cancel_button.hide()
        self.statusBar().addWidget(self.task_label, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_button)
        self.statusBar().addPermanentWidget(self.device_label)

        self._build_menus()
        self._restore_layout()
        self._detect_device()

    # -- construction ------------------------------------------------------------

    def _add_dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot: Any, shortcut: Any = None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        # triggered(checked) would hand ``False`` to a slot whose first parameter is
        # optional (Open Project's folder, Save As's folder): call it with nothing.
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _build_menus(self) -> None:
        self.open_action = self._action(
            "&Open…", self.opening.choose_file, QKeySequence.StandardKey.Open
        )
        demo = self._action("Open &Demo", lambda: self.open_source(DEMO_SOURCE))
        quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addActions([self.open_action, demo])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        file_menu.addSeparator()
        file_menu.addAction(self._action("Export Graph &Image…", self.graph_view.export_dialog))
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        self.refresh_recent_menu()

        project_menu = self.menuBar().addMenu("&Project")
        project_menu.addAction(self._action("&Open Project…", self.projects.open, "Ctrl+Shift+O"))
        self.save_action = self._action(
            "&Save Project", self.projects.save, QKeySequence.StandardKey.Save
        )
        project_menu.addAction(self.save_action)
        project_menu.addAction(
            self._action("Save Project &As…", self.projects.save_as, "Ctrl+Shift+S")
        )

        model_menu = self.menuBar().addMenu("&Model")
        model_menu.addAction(self._action("&Benchmark", self.actions.benchmark, "Ctrl+B"))
        model_menu.addAction(self._action("&Evaluate", self.actions.evaluate, "Ctrl+E"))
        model_menu.addAction(self._action("Export &ONNX…", self.actions.export, "Ctrl+Shift+E"))
        model_menu.addAction(self._action("Export &Recipe…", self.actions.export_recipe))

        compress_menu = self.menuBar().addMenu("&Compress")
        for text, reference in WIZARDS:
            compress_menu.addAction(
                self._action(text, lambda _=False, r=reference: self.actions.open_wizard(r))
            )
        compress_menu.setEnabled(bool(WIZARDS))

        view_menu = self.menuBar().addMenu("&View")
        for dock in self.findChildren(QDockWidget):
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        self.find_action = self._action(
            "&Find in Graph…", self._find_in_graph, QKeySequence.StandardKey.Find
        )
        view_menu.addAction(self.find_action)
        self.netron_action = self._action("Open in &Netron", self.open_in_netron, "Ctrl+Shift+N")
        view_menu.addAction(self.netron_action)
        view_menu.addSeparator()
        view_menu.addAction(self._action("&Full Screen", self._toggle_full_screen, "F11"))

        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self._action("&Plugins…", self.show_plugins))
        help_menu.addAction(self._action("&About Workbench", self._about))

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("toolbar-main")
        toolbar.addAction(self.open_action)
        toolbar.addAction(demo)

    def refresh_recent_menu(self) -> None:
        self.recent_menu.clear()
        entries = recent_files(self.settings)
        for source in entries:
            self.recent_menu.addAction(
                self._action(source, lambda _=False, s=source: self.open_source(s))
            )
        self.recent_menu.setEnabled(bool(entries))

    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.restoreState(state)

    def _detect_device(self) -> None:
        from workbench.core.device import describe_device

        self.tasks.start(
            describe_device,
            lambda label: self.device_label.setText(f"device: {label}"),
            lambda error: self.device_label.setText(f"device: unknown ({error})"),
        )

    # -- opening (OpenActions does the work) ----------------------------------------

    def open_source(self, source: str, arch: str | None = None, trust: bool = False) -> None:
        """Open a model file or zoo:NAME in the background; the window stays responsive."""
        self.opening.open_source(source, arch=arch, trust=trust)

    def show_graph_only(self, graph: Graph, summary: dict[str, Any]) -> None:
        """Show a graph that is no variant yet (a prebuilt preview while its model loads)."""
        self.graph_view.set_graph(graph)
        self.structure.show_graph(graph)
        self.summary_label.setText(_summary_line(summary))
        self.inspector.show_model(summary)
        self.setWindowTitle(f"{graph.name} — Workbench")

    def show_current_variant(self) -> None:
        """Show the selected variant again (or nothing), e.g. after a preview came down."""
        self.structure.clear()
        self.summary_label.clear()
        self.graph_view.clear()
        self.inspector.clear()
        self.setWindowTitle("Workbench")
        item = self.variants.currentItem()
        if item is not None:
            self._on_variant_changed(item, None)

    def add_variant_item(self, variant: Variant, inspection: Inspection) -> None:
        """Show a variant in the tree (under its parent) and select it."""
        self.inspections[variant.id] = inspection
        item = QTreeWidgetItem([variant.name, variant.state])
        item.setData(0, VARIANT_ROLE, variant.id)
        parent_item = self._variant_item(variant.parent) if variant.parent else None
        if parent_item is not None:
            parent_item.addChild(item)
            parent_item.setExpanded(True)
        else:
            self.variants.addTopLevelItem(item)
        if self.compare.project is not self.project:  # Open Project replaced it
            self.compare.set_project(self.project)
        self.compare.set_graph(variant.id, inspection.graph)
        self.compare.refresh()
        self.variants.setCurrentItem(item)
        self.projects.changed()

    def set_variant_state(self, variant: Variant) -> None:
        item = self._variant_item(variant.id)
        if item is not None:
            item.setText(1, variant.state)

    def _variant_item(self, variant_id: str) -> QTreeWidgetItem | None:
        for item in self.variants.findItems(
            "*", Qt.MatchFlag.MatchWildcard | Qt.MatchFlag.MatchRecursive
        ):
            if item.data(0, VARIANT_ROLE) == variant_id:
                return item
        return None

    def show_error(self, title: str, error: BaseException) -> None:
        """One-line reason, details behind the dialog's "Show Details…"; the app goes on."""
        box = QMessageBox(self)
        box.setObjectName("error-dialog")
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle(title)
        if isinstance(error, WorkbenchError):
            box.setText(error.message)
            box.setDetailedText(error.details or "")
        else:  # a bug rather than bad input: keep the traceback for the report
            box.setText(f"{type(error).__name__}: {error}")
            box.setDetailedText("".join(traceback.format_exception(error)))
        box.open()

    def set_busy(self, message: str | None) -> None:
        self.task_label.setText(message or "")
        self.progress.setVisible(message is not None)
        self.cancel_button.setVisible(message is not None)

    # -- netron ---------------------------------------------------------------------

    def open_in_netron(self) -> None:
        """Serve the current variant's ONNX to the Netron tab (staged off the GUI thread)."""
        variant = self.current
        if variant is None:
            return
        inspection = self.inspections.get(variant.id)
        loaded = inspection.loaded if inspection else None
        if loaded is None or loaded.onnx_model is None or loaded.path is None:
            self.show_error(
                "Open in Netron",
                WorkbenchError(
                    f"{variant.name} is a PyTorch model; Netron shows ONNX files. "
                    "Export it to ONNX first (File ▸ Export ONNX…)."
                ),
            )
            return
        proto, name = loaded.onnx_model, Path(loaded.path).name
        self.set_busy(f"Starting Netron for {variant.name}…")
        self.tasks.start(
            lambda: NetronServer(stage_proto(proto, name)),
            lambda server: self._netron_ready(server, variant.name),
            lambda error: (self.set_busy(None), self.show_error("Open in Netron", error)),
        )

    def _netron_ready(self, server: NetronServer, title: str) -> None:
        self.set_busy(None)
        self.netron.show_server(server, title)
        self.tabs.setCurrentWidget(self.netron)

    # -- selection -----------------------------------------------------------------

    def _on_variant_changed(self, item: QTreeWidgetItem | None, _previous: Any) -> None:
        if item is None:
            return
        variant = self.project.variants[item.data(0, VARIANT_ROLE)]
        self.current = variant
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
            errors = (variant.metrics.get("quantization") or {}).get("error_by_node")
            if errors:
                from workbench.core.compress.quantization.node_error import error_overlay

                self.graph_view.add_overlay(error_overlay(errors, inspection.graph))
            loaded = inspection.loaded
            self.training.set_variant(
                variant.id,
                loaded.module if loaded.framework == "pytorch" else None,
                arch=loaded.arch,
                dataset=loaded.dataset,
                source=variant.source,
                name=variant.name,
                runs_dir=runs_folder(self.project, variant.id),
            )
            self.structure.show_graph(inspection.graph)
            self.summary_label.setText(_summary_line(summary))
        self.inspector.show_variant(self.project, variant, summary)
        self.recipe_view.show_variant(self.project, variant)
        self.setWindowTitle(f"{variant.name} — Workbench")

    def _on_changed_overlay(self, variant_id: str, overlay: Any) -> None:
        if self.current is not None and self.current.id == variant_id:
            self.graph_view.add_overlay(overlay)

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

    def _find_in_graph(self) -> None:
        self.tabs.setCurrentWidget(self.graph_view)
        self.graph_view.focus_search()

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
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()
        self.tasks.wait_all()
        self.netron.stop()
        super().closeEvent(event)


def _scrolling(widget: QWidget) -> QScrollArea:
    """A dense tab in a scroll area, so its minimum width does not set the window's."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(widget)
    return area


def _summary_line(summary: dict[str, Any] | None) -> str:
    if not summary:
        return ""
    inputs = ", ".join(
        f"{t['name']} {'x'.join('?' if d is None else str(d) for d in (t['shape'] or []))}"
        for t in summary["inputs"]
    )
    return (
        f"<b>{summary['name']}</b> — {summary['format']}, {summary['node_count']:,} nodes, "
        f"{summary['parameters']:,} parameters, {human_count(summary['macs'])} MACs; "
        f"inputs: {inputs}"
    )
