"""Opening models: File > Open…, Open Demo, recent files, drops and the command line.

Every open runs in the window's TaskRunner. A file is parsed in a child process first
(``inspect_isolated``), so a crafted file that crashes a parser costs an error dialog,
not the app. A built-in zoo model's graph ships prebuilt (``core.graph.prebuilt``): it
is shown at once as a preview while torch and the module load, and the opened variant
adopts it, so its layout and view stay as the user left them. The window shows the
preview (``preview_shown``), takes it down (``preview_dropped``) and lists the file
among the recent ones (``file_opened``); the opened model becomes a root variant of the
project, whose views hear of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox

from workbench.core.errors import ArchitectureError, ArchitectureNeeded, TrustRequired
from workbench.core.folder_history import Recorded, folder_history, history_variants
from workbench.core.graph.model import Graph
from workbench.core.graph.prebuilt import preview
from workbench.core.inspection import Inspection
from workbench.core.io.isolated import inspect_isolated
from workbench.core.named_sources import is_named_source
from workbench.ui.action_context import ActionContext
from workbench.ui.app_words import in_app_words
from workbench.ui.arch_dialog import ask_architecture
from workbench.ui.settings import remember_file

MODEL_FILTER = "Models (*.onnx *.pt *.pth *.pt2 *.safetensors *.bin *.ckpt);;All files (*)"


class OpenActions(QObject):
    preview_shown = Signal(object, dict)  # a prebuilt Graph and its summary, no variant yet
    preview_dropped = Signal()  # its model did not open: show what was there before
    file_opened = Signal(str)  # a model file (not a zoo name), now among the recent ones

    def __init__(self, ctx: ActionContext) -> None:
        super().__init__(ctx.parent)
        self.ctx = ctx
        self._previews_pending: set[str] = set()  # zoo sources whose preview may still show
        self._preview: tuple[str, Graph] | None = None  # (source, graph) shown before loading

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.ctx.parent, "Open model", "", MODEL_FILTER)
        if path:
            self.open_source(path)

    def open_source(self, source: str, arch: str | None = None, trust: bool = False) -> None:
        """Open a model file or zoo:NAME in the background; the window stays responsive."""
        ctx = self.ctx
        label = source if is_named_source(source) else Path(source).name
        ctx.status.set_busy(f"Opening {label}…")
        if source.startswith("zoo:") and arch is None:
            self._previews_pending.add(source)
            ctx.tasks.start(
                lambda: preview(source),
                lambda shown: self._show_preview(source, shown),
                lambda _error: None,  # no preview; the open itself reports what failed
            )
        ctx.tasks.start_job(
            # A variant folder's records are read here too, off the GUI thread (JSON only).
            lambda run: (
                inspect_isolated(source, arch=arch, trust=trust, ctx=run),
                folder_history(source),
            ),
            lambda opened: self._opened(source, *opened),
            lambda error: self._failed(source, arch, trust, error),
            on_progress=ctx.status.report,
            on_cancelled=lambda: (ctx.status.set_busy(None), self._end_preview(source)),
        )

    def _show_preview(self, source: str, shown: tuple[Graph, dict[str, Any]] | None) -> None:
        if shown is None or source not in self._previews_pending:  # none, or already opened
            return
        graph, summary = shown
        self._preview = (source, graph)
        self.preview_shown.emit(graph, summary)

    def _end_preview(self, source: str, inspection: Inspection | None = None) -> Inspection | None:
        """Forget ``source``'s preview; an opened inspection adopts the graph it showed."""
        self._previews_pending.discard(source)
        if self._preview is None or self._preview[0] != source:
            return inspection
        shown, self._preview = self._preview[1], None
        if inspection is None:  # it did not open: show again what was there before
            self.preview_dropped.emit()
            return None
        if inspection.graph == shown:  # the very graph on screen keeps its layout and view
            return Inspection(inspection.loaded, shown, inspection.summary)
        return inspection

    def _opened(self, source: str, inspection: Inspection, history: list[Recorded]) -> None:
        ctx = self.ctx
        ctx.status.set_busy(None)
        inspection = self._end_preview(source, inspection)
        # A variant folder keeps the lineage, steps, metrics and dataset it records.
        *earlier, variant = history_variants(ctx.project, inspection.loaded, history)
        ctx.inspections[variant.id] = inspection  # before the views hear of the variant
        for item in [*earlier, variant]:
            ctx.project.add(item)
        if not is_named_source(source):
            remember_file(ctx.settings, str(Path(source).resolve()))
            self.file_opened.emit(str(Path(source).resolve()))
        ctx.status.showMessage(f"Opened {variant.name}", 5000)

    def _failed(self, source: str, arch: str | None, trust: bool, error: BaseException) -> None:
        self.ctx.status.set_busy(None)
        self._end_preview(source)
        if isinstance(error, TrustRequired) and not trust:
            if ask_trust(self.ctx.parent, error):
                self.open_source(source, arch=arch, trust=True)
            return
        # Weights without an architecture, or with one that does not fit: ask for one.
        weights_file = not is_named_source(source)
        if (
            weights_file
            and isinstance(error, ArchitectureError)
            and (isinstance(error, ArchitectureNeeded) or arch is not None)
        ):
            chosen = ask_architecture(self.ctx.parent, Path(source).name, error, arch)
            if chosen:
                self.open_source(source, arch=chosen, trust=trust)
            return
        self.ctx.show_error(f"Could not open {source}", error)


def ask_trust(parent: Any, error: TrustRequired) -> bool:
    """The one question before code from a file runs: the error names the file and what
    it would run; True when the user chose to open it anyway."""
    answer = QMessageBox.warning(
        parent,
        "Open a file that runs code?",
        f"{in_app_words(str(error))}\n\nOpening it runs that code with your permissions. "
        "Only continue if you trust where this file came from.",
        QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Open
