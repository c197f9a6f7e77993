"""The Project menu: Open Project…, Save Project, Save Project As…, autosave, recovery.

Saving writes model files, so it runs in the window's TaskRunner like every other
piece of work; so does opening, which loads and describes every variant. Once a
project has a folder, every change (a new variant, a training run starting or ending)
saves it again, and training runs go into its ``runs/`` folder, so a crash loses at
most the current epoch: the next start reopens the project (the session was not
closed cleanly) and the run is marked interrupted, ready to resume from its checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QFileDialog

if TYPE_CHECKING:
    from workbench.ui.main_window import MainWindow


SESSION_PROJECT = "session/project"  # the folder of the project last saved or opened
SESSION_CLEAN = "session/clean"  # False while the app runs; True after a normal close


class ProjectActions:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self._saving = False
        self._again = False
        self._loading = False  # rebuilding the tree from a file: nothing new to save
        self._run_failed = False

    # -- session -------------------------------------------------------------------

    def start_session(self, reopen: bool = True) -> bool:
        """Mark the session open; after a crash, reopen its project (True if so)."""
        settings = self.window.settings
        crashed = settings.value(SESSION_CLEAN, "true") in (False, "false")
        folder = settings.value(SESSION_PROJECT, "")
        settings.setValue(SESSION_CLEAN, "false")
        settings.sync()
        if reopen and crashed and folder and (Path(str(folder)) / "project.json").is_file():
            self.open(str(folder))
            self.window.statusBar().showMessage(
                f"The last session ended unexpectedly; reopened {folder}", 10000
            )
            return True
        return False

    def end_session(self) -> None:
        self.window.settings.setValue(SESSION_CLEAN, "true")
        self.window.settings.sync()

    def changed(self) -> None:
        """Autosave a project that has a folder; one save at a time, the latest wins."""
        if self.window.project.folder is None or self._loading:
            return
        if self._saving:
            self._again = True
            return
        self._save(self.window.project.folder, quiet=True)

    def save(self, folder: str | None = None) -> None:
        """Save into the project's folder, asking for one the first time."""
        window = self.window
        target = folder or (str(window.project.folder) if window.project.folder else None)
        if target is None:
            self.save_as()
            return
        self._save(Path(target))

    def save_as(self, folder: str | None = None) -> None:
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self.window, "Save Project in Folder")
            if not folder:
                return
        self._save(Path(folder))

    def _save(self, folder: Path, quiet: bool = False) -> None:
        from workbench.core.project_files import save_project

        window = self.window
        if not window.project.variants:
            window.statusBar().showMessage("Nothing to save: open a model first", 5000)
            return
        project = window.project
        if project.name == "untitled":
            project.name = folder.name
        if not quiet:
            window.set_busy(f"Saving project to {folder}…")
        self._saving = True
        window.tasks.start_job(
            lambda ctx: save_project(project, folder, ctx),
            lambda path: self._saved(path, quiet),
            lambda error: self._failed("Save project", error),
            on_progress=None if quiet else lambda _f, m: window.task_label.setText(m),
            on_cancelled=lambda: self._failed_quietly(),
        )

    def _saved(self, path: Any, quiet: bool) -> None:
        window = self.window
        self._saving = False
        window.settings.setValue(SESSION_PROJECT, str(Path(path).parent))
        if not quiet:
            window.set_busy(None)
        window.statusBar().showMessage(f"{'Autosaved' if quiet else 'Saved'} {path}", 5000)
        if self._again:
            self._again = False
            self.changed()

    def _failed_quietly(self) -> None:
        self._saving = False
        self.window.set_busy(None)

    def open(self, folder: str | None = None, trust: bool = False) -> None:
        from workbench.core.project_files import open_project

        window = self.window
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self.window, "Open Project Folder")
            if not folder:
                return
        window.set_busy(f"Opening project {folder}…")
        window.tasks.start_job(
            lambda ctx: open_project(Path(folder), ctx, trust=trust),
            self._opened,
            lambda error: self._open_failed(folder, trust, error),
            on_progress=lambda _f, message: window.task_label.setText(message),
            on_cancelled=lambda: window.set_busy(None),
        )

    def _opened(self, result: tuple[Any, dict[str, Any]]) -> None:
        project, inspections = result
        window = self.window
        window.set_busy(None)
        window.settings.setValue(SESSION_PROJECT, str(project.folder))
        window.variants.clear()
        window.inspections.clear()
        window.current = None
        window.project = project
        # Parents before children, so each item finds its parent's.
        ordered = sorted(project.variants.values(), key=lambda v: len(project.lineage(v.id)))
        self._loading = True
        try:
            for variant in ordered:
                window.add_variant_item(variant, inspections[variant.id])
        finally:
            self._loading = False
        window.setWindowTitle(f"Workbench — {project.name}")
        window.statusBar().showMessage(
            f"Opened project {project.name} ({len(project.variants)} variants)", 8000
        )

    def _open_failed(self, folder: str, trust: bool, error: BaseException) -> None:
        """A project that names code (a ``module:factory`` architecture) asks first."""
        from workbench.core.errors import TrustRequired
        from workbench.ui.open_actions import ask_trust

        if isinstance(error, TrustRequired) and not trust:
            self.window.set_busy(None)
            if ask_trust(self.window, error):
                self.open(folder, trust=True)
            return
        self._failed("Open project", error)

    def training_failed(self, _error: BaseException) -> None:
        self._run_failed = True  # the tab already shows why; the tree says "failed"

    def training_changed(self, running: bool) -> None:
        """The variant being trained shows "running" (saved, so a crash leaves the mark),
        then "ready", or "failed" when its last run failed."""
        window = self.window
        variant = window.project.variants.get(window.training.key or "")
        if variant is None:
            return
        if running:
            self._run_failed = False
        variant.state = "running" if running else "failed" if self._run_failed else "ready"
        window.set_variant_state(variant)
        self.changed()

    def _failed(self, title: str, error: BaseException) -> None:
        self._saving = False
        self.window.set_busy(None)
        self.window.show_error(title, error)
