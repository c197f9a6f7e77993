"""The Netron tab: the current variant's ONNX served by the netron package, shown inline.

netron's server answers any request for a file beside the model it serves, so the model
is copied into a private temporary folder that holds nothing else, and the server is
bound to 127.0.0.1 on a free port. When QtWebEngine cannot start, the system browser
opens the same address instead. The server stops when the tab or the app closes.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

HOST = "127.0.0.1"


def web_engine_available() -> bool:
    try:
        from PySide6.QtWebEngineWidgets import QWebEngineView  # noqa: F401
    except ImportError:
        return False
    return True


def stage_model(model: Path) -> Path:
    """Copy a model file into a fresh private folder that holds nothing else."""
    folder = Path(tempfile.mkdtemp(prefix="workbench-netron-"))  # mode 0700
    shutil.copy2(model, folder / model.name)
    return folder / model.name


def stage_proto(model_proto: object, name: str) -> Path:
    """Write an in-memory ONNX model (external data already inlined) to a private folder.

    Serialising the loaded proto, rather than copying the file, means a model whose
    weights live in external-data files reaches netron as one self-contained file.
    """
    folder = Path(tempfile.mkdtemp(prefix="workbench-netron-"))
    path = folder / name
    path.write_bytes(model_proto.SerializeToString())  # type: ignore[attr-defined]
    return path


class NetronServer:
    """One netron server over one staged copy of a model."""

    def __init__(self, staged_model: Path) -> None:
        import netron

        self.model = staged_model
        self.address = netron.serve(str(staged_model), address=(HOST, 0), browse=False)
        self.url = f"http://{self.address[0]}:{self.address[1]}/"

    def stop(self) -> None:
        import netron

        netron.stop(self.address)
        shutil.rmtree(self.model.parent, ignore_errors=True)


class NetronTab(QWidget):
    """Shows a served model in a QWebEngineView, or hands the address to the browser."""

    fallback_used = Signal(str)  # the URL given to the system browser

    def __init__(self, parent: QWidget | None = None, *, use_web_engine: bool | None = None):
        super().__init__(parent)
        self.setObjectName("netron-tab")
        self.server: NetronServer | None = None
        self.message = QLabel("Open a variant in Netron with View ▸ Open in Netron.")
        self.message.setWordWrap(True)
        self.browser_button = QPushButton("Open in browser")
        self.browser_button.clicked.connect(self._open_in_browser)
        self.browser_button.setEnabled(False)
        bar = QHBoxLayout()
        bar.addWidget(self.message, 1)
        bar.addWidget(self.browser_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        self.view = None
        if use_web_engine if use_web_engine is not None else web_engine_available():
            from PySide6.QtWebEngineWidgets import QWebEngineView

            self.view = QWebEngineView(self)
            self.view.page().renderProcessTerminated.connect(self._render_process_died)
            layout.addWidget(self.view, 1)
        else:
            layout.addStretch(1)

    def show_server(self, server: NetronServer, title: str) -> None:
        """Display ``server`` (started off the GUI thread); the previous one is stopped."""
        self.stop()
        self.server = server
        self.browser_button.setEnabled(True)
        self.message.setText(f"{title} — served by netron at {server.url} (this machine only)")
        if self.view is not None:
            self.view.load(QUrl(server.url))
        else:
            self._open_in_browser()

    def _open_in_browser(self) -> None:
        if self.server is not None:
            QDesktopServices.openUrl(QUrl(self.server.url))
            self.fallback_used.emit(self.server.url)

    def _render_process_died(self, *_args: object) -> None:
        self.message.setText("The embedded view stopped; the model opens in your browser.")
        self._open_in_browser()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
            self.browser_button.setEnabled(False)

    def closeEvent(self, event) -> None:
        self.stop()
        super().closeEvent(event)
