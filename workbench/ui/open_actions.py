"""Opening models: File > Open…, Open Demo, recent files, drops and the command line.

Every open runs in the window's TaskRunner. A file is parsed in a child process first
(``inspect_isolated``), so a crafted file that crashes a parser costs an error dialog,
not the app. A built-in zoo model's graph ships prebuilt (``core.graph.prebuilt``): it
is shown at once as a preview while torch and the module load, and the opened variant
adopts it, so its layout and view stay as the user left them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QFileDialog, QMessageBox

from workbench.core.errors import TrustRequired
from workbench.core.graph.model import Graph
from workbench.core.graph.prebuilt import preview
from workbench.core.inspection import Inspection
from workbench.core.io.isolated import inspect_isolated
from workbench.ui.settings import remember_file

if TYPE_CHECKING:
    from workbench.ui.main_window import MainWindow

MODEL_FILTER = "Models (*.onnx *.pt *.pth *.pt2 *.safetensors *.bin *.ckpt);;All files (*)"


class OpenActions:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self._previews_pending: set[str] = set()  # zoo sources whose preview may still show
        self._preview: tuple[str, Graph] | None = None  # (source, graph) shown before loading

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open model", "", MODEL_FILTER)
        if path:
            self.open_source(path)

    def open_source(self, source: str, arch: str | None = None, trust: bool = False) -> None:
        """Open a model file or zoo:NAME in the background; the window stays responsive."""
        window = self.window
        label = source if source.startswith("zoo:") else Path(source).name
        window.set_busy(f"Opening {label}…")
        if source.startswith("zoo:") and arch is None:
            self._previews_pending.add(source)
            window.tasks.start(
                lambda: preview(source),
                lambda shown: self._show_preview(source, shown),
                lambda _error: None,  # no preview; the open itself reports what failed
            )
        window.tasks.start_job(
            lambda ctx: inspect_isolated(source, arch=arch, trust=trust, ctx=ctx),
            lambda inspection: self._opened(source, inspection),
            lambda error: self._failed(source, arch, trust, error),
            on_progress=lambda _fraction, message: window.task_label.setText(message),
            on_cancelled=lambda: (window.set_busy(None), self._end_preview(source)),
        )

    def _show_preview(self, source: str, shown: tuple[Graph, dict[str, Any]] | None) -> None:
        if shown is None or source not in self._previews_pending:  # none, or already opened
            return
        graph, summary = shown
        self._preview = (source, graph)
        self.window.show_graph_only(graph, summary)

    def _end_preview(self, source: str, inspection: Inspection | None = None) -> Inspection | None:
        """Forget ``source``'s preview; an opened inspection adopts the graph it showed."""
        self._previews_pending.discard(source)
        if self._preview is None or self._preview[0] != source:
            return inspection
        shown, self._preview = self._preview[1], None
        if inspection is None:  # it did not open: show again what was there before
            self.window.show_current_variant()
            return None
        if inspection.graph == shown:  # the very graph on screen keeps its layout and view
            return Inspection(inspection.loaded, shown, inspection.summary)
        return inspection

    def _opened(self, source: str, inspection: Inspection) -> None:
        window = self.window
        window.set_busy(None)
        inspection = self._end_preview(source, inspection)
        variant = window.project.add_root(inspection.loaded)
        window.add_variant_item(variant, inspection)
        if not source.startswith("zoo:"):
            remember_file(window.settings, str(Path(source).resolve()))
            window.refresh_recent_menu()
        window.statusBar().showMessage(f"Opened {variant.name}", 5000)

    def _failed(self, source: str, arch: str | None, trust: bool, error: BaseException) -> None:
        window = self.window
        window.set_busy(None)
        self._end_preview(source)
        if isinstance(error, TrustRequired) and not trust:
            if ask_trust(window, error):
                self.open_source(source, arch=arch, trust=True)
            return
        window.show_error(f"Could not open {source}", error)


def ask_trust(parent: Any, error: TrustRequired) -> bool:
    """The one question before code from a file runs: the error names the file and what
    it would run; True when the user chose to open it anyway."""
    answer = QMessageBox.warning(
        parent,
        "Open a file that runs code?",
        f"{error}\n\nOpening it runs that code with your permissions. "
        "Only continue if you trust where this file came from.",
        QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Open
