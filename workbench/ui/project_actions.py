"""The Project menu: Open Project…, Save Project, Save Project As…, autosave, recovery.

Saving writes model files, so it runs in the window's TaskRunner like every other
piece of work; so does opening, which loads and describes every variant. Once a
project has a folder, every change (a new variant, a training run starting or ending)
saves it again, and training runs go into its ``runs/`` folder, so a crash loses at
most the current epoch: the next start reopens the project (the session was not
closed cleanly) and the run is marked interrupted, ready to resume from its checkpoint.

Autosave listens to the project's events; an opened project replaces the variants of
the window's one (``Project.replace_with``), so the views follow it without being told.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog

from workbench.core.errors import TrustRequired
from workbench.core.project_files import open_project, save_project
from workbench.ui.action_context import ActionContext
from workbench.ui.open_actions import ask_trust

SESSION_PROJECT = "session/project"  # the folder of the project last saved or opened
SESSION_CLEAN = "session/clean"  # False while the app runs; True after a normal close


class ProjectActions:
    def __init__(self, ctx: ActionContext) -> None:
        self.ctx = ctx
        self._saving = False
        self._again = False
        self._run_failed = False
        events = ctx.project.events  # an opened project ("replaced") has nothing new
        for signal in (events.variant_added, events.variant_changed, events.variant_removed):
            signal.connect(self._on_project_changed)
        events.state_changed.connect(self._on_project_changed)

    def _on_project_changed(self, _variant: Any) -> None:
        self.changed()

    # -- session -------------------------------------------------------------------

    def start_session(self, reopen: bool = True) -> bool:
        """Mark the session open; after a crash, reopen its project (True if so)."""
        settings = self.ctx.settings
        crashed = settings.value(SESSION_CLEAN, "true") in (False, "false")
        folder = settings.value(SESSION_PROJECT, "")
        settings.setValue(SESSION_CLEAN, "false")
        settings.sync()
        if reopen and crashed and folder and (Path(str(folder)) / "project.json").is_file():
            self.open(str(folder))
            self.ctx.status.showMessage(
                f"The last session ended unexpectedly; reopened {folder}", 10000
            )
            return True
        return False

    def end_session(self) -> None:
        self.ctx.settings.setValue(SESSION_CLEAN, "true")
        self.ctx.settings.sync()

    def changed(self) -> None:
        """Autosave a project that has a folder; one save at a time, the latest wins."""
        if self.ctx.project.folder is None:
            return
        if self._saving:
            self._again = True
            return
        self._save(self.ctx.project.folder, quiet=True)

    def save(self, folder: str | None = None) -> None:
        """Save into the project's folder, asking for one the first time."""
        project = self.ctx.project
        target = folder or (str(project.folder) if project.folder else None)
        if target is None:
            self.save_as()
            return
        self._save(Path(target))

    def save_as(self, folder: str | None = None) -> None:
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self.ctx.parent, "Save Project in Folder")
            if not folder:
                return
        self._save(Path(folder))

    def _save(self, folder: Path, quiet: bool = False) -> None:
        project, status = self.ctx.project, self.ctx.status
        if not project.variants:
            status.showMessage("Nothing to save: open a model first", 5000)
            return
        if project.name == "untitled":
            project.name = folder.name
        if not quiet:
            status.set_busy(f"Saving project to {folder}…")
        self._saving = True
        self.ctx.tasks.start_job(
            lambda ctx: save_project(project, folder, ctx),
            lambda path: self._saved(path, quiet),
            lambda error: self._failed("Save project", error),
            on_progress=None if quiet else status.report,
            on_cancelled=lambda: self._failed_quietly(),
        )

    def _saved(self, path: Any, quiet: bool) -> None:
        self._saving = False
        self.ctx.settings.setValue(SESSION_PROJECT, str(Path(path).parent))
        if not quiet:
            self.ctx.status.set_busy(None)
        self.ctx.status.showMessage(f"{'Autosaved' if quiet else 'Saved'} {path}", 5000)
        if self._again:
            self._again = False
            self.changed()

    def _failed_quietly(self) -> None:
        self._saving = False
        self.ctx.status.set_busy(None)

    def open(self, folder: str | None = None, trust: bool = False) -> None:
        status = self.ctx.status
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self.ctx.parent, "Open Project Folder")
            if not folder:
                return
        status.set_busy(f"Opening project {folder}…")
        self.ctx.tasks.start_job(
            lambda ctx: open_project(Path(folder), ctx, trust=trust),
            self._opened,
            lambda error: self._open_failed(folder, trust, error),
            on_progress=status.report,
            on_cancelled=lambda: status.set_busy(None),
        )

    def _opened(self, result: tuple[Any, dict[str, Any]]) -> None:
        opened, inspections = result
        ctx = self.ctx
        ctx.status.set_busy(None)
        ctx.settings.setValue(SESSION_PROJECT, str(opened.folder))
        ctx.inspections.clear()
        ctx.inspections.update(inspections)  # before the views hear of the variants
        ctx.project.replace_with(opened)
        ctx.status.showMessage(
            f"Opened project {opened.name} ({len(opened.variants)} variants)", 8000
        )

    def _open_failed(self, folder: str, trust: bool, error: BaseException) -> None:
        """A project that names code (a ``module:factory`` architecture) asks first."""
        if isinstance(error, TrustRequired) and not trust:
            self.ctx.status.set_busy(None)
            if ask_trust(self.ctx.parent, error):
                self.open(folder, trust=True)
            return
        self._failed("Open project", error)

    def training_failed(self, _error: BaseException) -> None:
        self._run_failed = True  # the tab already shows why; the tree says "failed"

    def training_changed(self, variant_id: str | None, running: bool) -> None:
        """The variant being trained shows "running" (saved, so a crash leaves the mark),
        then "ready", or "failed" when its last run failed."""
        variant = self.ctx.project.variants.get(variant_id or "")
        if variant is None:
            return
        if running:
            self._run_failed = False
        state = "running" if running else "failed" if self._run_failed else "ready"
        self.ctx.project.set_state(variant, state)  # the tree shows it; autosave saves it

    def training_paused(self, variant_id: str | None, state: str) -> None:
        """A paused run shows "paused" in the tree and the inspector, "running" again
        once resumed (the start and the end go through ``training_changed``)."""
        live = ("paused", "running")
        variant = self.ctx.project.variants.get(variant_id or "")
        if variant is not None and state in live and variant.state in live:
            self.ctx.project.set_state(variant, state)

    def _failed(self, title: str, error: BaseException) -> None:
        self._saving = False
        self.ctx.failure(title)(error)
