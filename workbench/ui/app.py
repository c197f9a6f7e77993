"""Start the desktop app."""

from __future__ import annotations

import contextlib
import logging
import os
import sys

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication

from workbench import __version__
from workbench.ui.main_window import DEMO_SOURCE, MainWindow


def prepare_qt() -> None:
    """What must happen before the QApplication exists.

    QtWebEngine needs shared GL contexts set (or its module imported) before the
    application object is made; Chromium refuses to start as root without its sandbox
    switched off, which only matters in containers and CI.
    """
    # Layouts, loads and training run in Python worker threads; each time the GUI thread
    # comes back from Qt to Python it waits for the GIL up to the switch interval. At
    # CPython's default 5 ms a 10,000-node layout in a worker stalled the GUI 150-250 ms;
    # at 1 ms it does not. The extra switching only happens while both want to run Python.
    sys.setswitchinterval(0.001)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    # Without WebEngine the Netron tab falls back to the system browser.
    with contextlib.suppress(ImportError):
        import PySide6.QtWebEngineWidgets  # noqa: F401 - registers before QApplication


def run_app(model: str | None = None, arch: str | None = None, trust: bool = False) -> int:
    """Open the main window on ``model`` (or the built-in demo) and run the event loop."""
    # netron configures the root logger at INFO when nobody has; keep the console quiet.
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    prepare_qt()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Workbench")
    app.setApplicationVersion(__version__)
    window = MainWindow()
    window.show()
    # After a crash with no model asked for, the last project comes back instead of the demo.
    if not window.projects.start_session(reopen=model is None):
        window.open_source(model or DEMO_SOURCE, arch=arch, trust=trust)
    return app.exec()
