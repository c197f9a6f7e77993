"""The Netron tab: the current variant's ONNX served by the netron package, shown inline.

netron's server answers any request for a file beside the model it serves, so the model
is copied into a private temporary folder that holds nothing else, and the server is
bound to 127.0.0.1 on a free port. When QtWebEngine cannot start, the system browser
opens the same address instead. The server stops when the tab or the app closes.

The embedded page talks to nothing but that server: its profile is off the record,
requests to any other host are blocked (netron's page would otherwise look up the
user's country and send usage telemetry), and netron's cookie banner is answered in
advance with the cookie its own Accept button sets, so the model shows at once.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

HOST = "127.0.0.1"
LOCAL_SCHEMES = ("data", "blob", "about")


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


def _local_only_profile(parent: QWidget) -> object:
    """An off-the-record web profile whose pages reach only the loopback server."""
    from PySide6.QtWebEngineCore import QWebEngineProfile, QWebEngineUrlRequestInterceptor

    class LoopbackOnly(QWebEngineUrlRequestInterceptor):
        def __init__(self, parent: object) -> None:
            super().__init__(parent)
            self.blocked: list[str] = []  # hosts refused, for the curious (and the tests)

        def interceptRequest(self, info) -> None:
            url = info.requestUrl()
            if url.scheme() not in LOCAL_SCHEMES and url.host() != HOST:
                self.blocked.append(url.host())
                info.block(True)

    profile = QWebEngineProfile(parent)  # no storage name: off the record
    profile.interceptor = LoopbackOnly(profile)  # kept alive with the profile
    profile.setUrlRequestInterceptor(profile.interceptor)
    return profile


def _answer_cookie_banner(profile: object, url: str) -> None:
    """Set the ``consent`` cookie netron's Accept button would set (a timestamp in ms)."""
    from PySide6.QtNetwork import QNetworkCookie

    cookie = QNetworkCookie(b"consent", str(int(time.time() * 1000)).encode())
    cookie.setDomain(HOST)
    cookie.setPath("/")
    profile.cookieStore().setCookie(cookie, QUrl(url))  # type: ignore[attr-defined]


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
        bar.setContentsMargins(8, 4, 4, 4)
        bar.addWidget(self.message, 1)
        bar.addWidget(self.browser_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        self.view = None
        if use_web_engine if use_web_engine is not None else web_engine_available():
            from PySide6.QtWebEngineCore import QWebEnginePage
            from PySide6.QtWebEngineWidgets import QWebEngineView

            self.view = QWebEngineView(self)
            # Made after the view, so Qt deletes it after the view's page (children go
            # in creation order): a profile must outlive its pages.
            self.profile = _local_only_profile(self)
            self.view.setPage(QWebEnginePage(self.profile, self.view))
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
            _answer_cookie_banner(self.profile, server.url)
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
