"""The one way the app reports a failure: a dialog with a one-line reason."""

from __future__ import annotations

import traceback

from PySide6.QtWidgets import QMessageBox, QWidget

from workbench.core.errors import WorkbenchError
from workbench.ui.app_words import error_line


def show_error(parent: QWidget, title: str, error: BaseException) -> QMessageBox:
    """One-line reason, details behind the dialog's "Show Details…"; the app goes on."""
    box = QMessageBox(parent)
    box.setObjectName("error-dialog")
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    if isinstance(error, WorkbenchError):
        box.setText(error_line(error))  # the app's words: no command-line flags
        box.setDetailedText(error.details or "")
    else:  # a bug rather than bad input: keep the traceback for the report
        box.setText(error_line(error))
        box.setDetailedText("".join(traceback.format_exception(error)))
    box.open()
    return box
