"""What the menu actions work with, instead of the main window: the project, the
background tasks, the status bar, a parent for their dialogs, and the selection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget

from workbench.core.inspection import Inspection
from workbench.core.project import Project
from workbench.ui.error_dialog import show_error
from workbench.ui.status_bar import StatusBar
from workbench.ui.variants_view import VariantsView
from workbench.ui.workers import TaskRunner


@dataclass
class ActionContext:
    parent: QWidget  # what their dialogs open over
    project: Project  # the one project of the window; opening another replaces its variants
    tasks: TaskRunner
    status: StatusBar
    settings: QSettings
    variants: VariantsView  # the selected variant: ``variants.current``
    # What was opened for each variant (model, graph, summary), by id: filled in before
    # the variant is added to the project, so that its listeners find it.
    inspections: dict[str, Inspection]

    def show_error(self, title: str, error: BaseException) -> None:
        show_error(self.parent, title, error)

    def failure(self, title: str) -> Callable[[BaseException], None]:
        """An ``on_failure`` for a task: the busy bar goes, the error shows."""

        def failed(error: BaseException) -> None:
            self.status.set_busy(None)
            show_error(self.parent, title, error)

        return failed
