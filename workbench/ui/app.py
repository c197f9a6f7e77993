"""Start the desktop app."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication

from workbench import __version__
from workbench.ui.main_window import DEMO_SOURCE, MainWindow


def run_app(model: str | None = None, arch: str | None = None, trust: bool = False) -> int:
    """Open the main window on ``model`` (or the built-in demo) and run the event loop."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Workbench")
    app.setApplicationVersion(__version__)
    window = MainWindow()
    window.show()
    window.open_source(model or DEMO_SOURCE, arch=arch, trust=trust)
    return app.exec()
