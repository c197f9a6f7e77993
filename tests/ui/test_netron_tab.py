"""The Netron tab serves only a private copy of the model on loopback and shows it."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from workbench.ui.netron_tab import NetronServer, NetronTab, stage_model


@pytest.fixture
def small_onnx(tmp_path: Path) -> Path:
    weight = numpy_helper.from_array(np.ones((4, 2), np.float32), "W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["y"], name="matmul")],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "secret.txt").write_text("not for the server")
    path = folder / "tiny.onnx"
    onnx.save(model, path)
    return path


def test_server_serves_the_model_and_nothing_beside_it(small_onnx: Path) -> None:
    staged = stage_model(small_onnx)
    assert staged.parent != small_onnx.parent
    assert sorted(p.name for p in staged.parent.iterdir()) == ["tiny.onnx"]
    server = NetronServer(staged)
    try:
        assert server.address[0] == "127.0.0.1"
        page = urllib.request.urlopen(server.url, timeout=10).read().decode()
        assert "netron" in page.lower()
        model = urllib.request.urlopen(server.url + "data/tiny.onnx", timeout=10).read()
        assert model == small_onnx.read_bytes()
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(server.url + "data/secret.txt", timeout=10)
    finally:
        server.stop()
    assert not staged.parent.exists()
    with pytest.raises(OSError):
        urllib.request.urlopen(server.url, timeout=2)


def test_tab_loads_the_page_in_web_engine(qtbot, small_onnx: Path) -> None:
    tab = NetronTab(use_web_engine=True)
    qtbot.addWidget(tab)
    tab.show()
    assert tab.view is not None
    with qtbot.waitSignal(tab.view.loadFinished, timeout=60_000) as loaded:
        tab.show_server(NetronServer(stage_model(small_onnx)), "tiny.onnx")
    assert loaded.args == [True]
    assert tab.view.url().host() == "127.0.0.1"
    qtbot.waitUntil(lambda: "netron" in tab.view.title().lower(), timeout=30_000)
    tab.stop()
    assert tab.server is None


def test_without_web_engine_the_browser_fallback_is_taken(
    qtbot, small_onnx: Path, monkeypatch
) -> None:
    from PySide6.QtGui import QDesktopServices

    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toString()))
    tab = NetronTab(use_web_engine=False)
    qtbot.addWidget(tab)
    with qtbot.waitSignal(tab.fallback_used, timeout=10_000):
        tab.show_server(NetronServer(stage_model(small_onnx)), "tiny.onnx")
    assert opened and opened[0].startswith("http://127.0.0.1:")
    tab.stop()


def _page_state(qtbot, tab: NetronTab) -> dict:
    found: dict = {}
    script = (
        "JSON.stringify({body: document.body.className,"
        " message: (document.getElementById('message-text') || {}).innerText || '',"
        " cookie: document.cookie})"
    )
    tab.view.page().runJavaScript(script, 0, lambda value: found.update(json=value))
    qtbot.waitUntil(lambda: "json" in found, timeout=10_000)
    import json

    return json.loads(found["json"])


def test_netron_shows_the_model_without_its_cookie_banner_and_reaches_only_loopback(
    qtbot, small_onnx: Path
) -> None:
    tab = NetronTab(use_web_engine=True)
    qtbot.addWidget(tab)
    tab.show()
    with qtbot.waitSignal(tab.view.loadFinished, timeout=60_000):
        tab.show_server(NetronServer(stage_model(small_onnx)), "tiny.onnx")
    # netron draws the graph into #canvas once the model is open; the banner would hold it
    qtbot.waitUntil(lambda: "default" in _page_state(qtbot, tab)["body"], timeout=30_000)
    state = _page_state(qtbot, tab)
    assert "cookies" not in state["message"] and "consent=" in state["cookie"]
    assert all(host != "127.0.0.1" for host in tab.profile.interceptor.blocked)
    tab.stop()
