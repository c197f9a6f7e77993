"""File menu actions on the whole project: Open Project…, Save Project, Save Project As….

Saving writes model files, so it runs in the window's TaskRunner like every other
piece of work; so does opening, which loads and describes every variant.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QFileDialog

if TYPE_CHECKING:
    from workbench.ui.main_window import MainWindow


class ProjectActions:
    def __init__(self, window: MainWindow) -> None:
        self.window = window

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

    def _save(self, folder: Path) -> None:
        from workbench.core.project_files import save_project

        window = self.window
        if not window.project.variants:
            window.statusBar().showMessage("Nothing to save: open a model first", 5000)
            return
        project = window.project
        if project.name == "untitled":
            project.name = folder.name
        window._set_busy(f"Saving project to {folder}…")
        window.tasks.start_job(
            lambda ctx: save_project(project, folder, ctx),
            lambda path: self._saved(path),
            lambda error: self._failed("Save project", error),
            on_progress=lambda _f, message: window.task_label.setText(message),
            on_cancelled=lambda: window._set_busy(None),
        )

    def _saved(self, path: Any) -> None:
        window = self.window
        window._set_busy(None)
        window.setWindowTitle(f"Workbench — {window.project.name}")
        window.statusBar().showMessage(f"Saved {path}", 8000)

    def open(self, folder: str | None = None) -> None:
        from workbench.core.project_files import open_project

        window = self.window
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self.window, "Open Project Folder")
            if not folder:
                return
        window._set_busy(f"Opening project {folder}…")
        window.tasks.start_job(
            lambda ctx: open_project(Path(folder), ctx),
            self._opened,
            lambda error: self._failed("Open project", error),
            on_progress=lambda _f, message: window.task_label.setText(message),
            on_cancelled=lambda: window._set_busy(None),
        )

    def _opened(self, result: tuple[Any, dict[str, Any]]) -> None:
        project, inspections = result
        window = self.window
        window._set_busy(None)
        window.variants.clear()
        window.inspections.clear()
        window.current = None
        window.project = project
        # Parents before children, so each item finds its parent's.
        ordered = sorted(project.variants.values(), key=lambda v: len(project.lineage(v.id)))
        for variant in ordered:
            window.add_variant_item(variant, inspections[variant.id])
        window.setWindowTitle(f"Workbench — {project.name}")
        window.statusBar().showMessage(
            f"Opened project {project.name} ({len(project.variants)} variants)", 8000
        )

    def _failed(self, title: str, error: BaseException) -> None:
        self.window._set_busy(None)
        self.window.show_error(title, error)
