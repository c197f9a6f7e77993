"""The main window as a user meets it: the demo opens, nodes inspect, bad files explain."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QScrollArea

from workbench.ui.main_window import DEMO_SOURCE
from workbench.ui.settings import open_settings, recent_files

WAIT_MS = 60_000


def _wait_opened(qtbot, window, count: int = 1) -> None:
    qtbot.waitUntil(lambda: window.variants.topLevelItemCount() == count, timeout=WAIT_MS)


def _node_items(view) -> list:
    from workbench.ui.structure_view import NODE_ROLE

    items, stack = [], [view.topLevelItem(i) for i in range(view.topLevelItemCount())]
    while stack:
        item = stack.pop()
        if item.data(0, NODE_ROLE) is not None:
            items.append(item)
        stack.extend(item.child(i) for i in range(item.childCount()))
    return items


def test_demo_opens_with_its_graph_and_inspector(qtbot, main_window) -> None:
    main_window.open_source(DEMO_SOURCE)
    _wait_opened(qtbot, main_window)
    inspection = next(iter(main_window.inspections.values()))
    nodes = _node_items(main_window.structure)
    assert len(nodes) == len(inspection.graph.nodes) > 5
    assert "digits_cnn" in main_window.windowTitle()
    assert "parameters" in main_window.summary_label.text()

    conv = next(item for item in nodes if "conv" in item.text(1).lower())
    main_window.structure.setCurrentItem(conv)
    sections = [
        main_window.inspector.topLevelItem(i).text(0)
        for i in range(main_window.inspector.topLevelItemCount())
    ]
    assert sections[0] == "Node" and "Inputs" in sections and "Outputs" in sections
    op_row = main_window.inspector.topLevelItem(0).child(1)
    assert (op_row.text(0), op_row.text(1)) == ("op type", conv.text(1))
    params_row = main_window.inspector.topLevelItem(0).child(3)
    assert params_row.text(0) == "parameters" and params_row.text(1) != "0"


def test_bad_file_shows_a_dialog_and_the_app_keeps_running(
    qtbot, main_window, tmp_path: Path
) -> None:
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x00\x01garbage" * 10)
    main_window.open_source(str(bad))
    qtbot.waitUntil(
        lambda: main_window.findChild(QMessageBox, "error-dialog") is not None, timeout=WAIT_MS
    )
    box = main_window.findChild(QMessageBox, "error-dialog")
    assert "broken.onnx" in box.text()
    assert "\n" not in box.text()  # one line; details go behind "Show Details"
    box.close()
    main_window.open_source(DEMO_SOURCE)  # still usable
    _wait_opened(qtbot, main_window)


def test_opened_files_are_remembered(qtbot, main_window, tmp_path: Path) -> None:
    import torch

    from workbench.core.catalogue import get_registry

    model = get_registry().model("digits_mlp").build(seed=1)
    path = tmp_path / "mlp.pt"
    torch.save(model.state_dict(), path)
    main_window.open_source(str(path), arch="digits_mlp")
    _wait_opened(qtbot, main_window)
    assert recent_files(open_settings())[0] == str(path.resolve())
    assert [a.text() for a in main_window.recent_menu.actions()] == [str(path.resolve())]


def test_open_in_netron_shows_the_onnx_variant(qtbot, main_window, tmp_path: Path) -> None:
    import torch

    from workbench.core.catalogue import get_registry

    model = get_registry().model("digits_mlp").build(seed=0)
    path = tmp_path / "mlp.onnx"
    torch.onnx.export(model, (torch.zeros(1, 1, 8, 8),), str(path), dynamo=False)
    main_window.open_source(str(path))
    _wait_opened(qtbot, main_window)
    main_window.netron_action.trigger()
    qtbot.waitUntil(lambda: main_window.netron.server is not None, timeout=WAIT_MS)
    assert main_window.tabs.currentWidget() is main_window.netron
    served = main_window.netron.server.model
    assert served.name == "mlp.onnx" and served.parent != tmp_path
    main_window.close()
    assert not served.parent.exists()  # closing the app stopped the server and cleaned up


def test_graph_tab_shows_the_opened_model_and_feeds_the_inspector(qtbot, main_window) -> None:
    main_window.open_source(DEMO_SOURCE)
    _wait_opened(qtbot, main_window)
    graph = main_window.graph_view
    qtbot.waitUntil(lambda: graph.visible_box_count() > 0, timeout=WAIT_MS)
    assert main_window.tabs.widget(0) is graph
    node = next(iter(main_window.inspections.values())).graph.nodes[0]
    with qtbot.waitSignal(graph.node_selected, timeout=10_000):
        graph.select_node(node.id)
    assert main_window.inspector.topLevelItem(0).text(0) == "Node"


def test_benchmarking_an_onnx_variant_colours_the_graph_by_latency_share(
    qtbot, main_window, tmp_path: Path
) -> None:
    import torch

    from workbench.core.catalogue import get_registry

    model = get_registry().model("digits_cnn").build(seed=0)
    path = tmp_path / "cnn.onnx"
    torch.onnx.export(model, (torch.zeros(1, 1, 8, 8),), str(path), dynamo=False)
    main_window.open_source(str(path))
    _wait_opened(qtbot, main_window)
    graph = main_window.graph_view
    qtbot.waitUntil(lambda: graph.visible_box_count() > 0, timeout=WAIT_MS)
    main_window.actions.benchmark()
    qtbot.waitUntil(lambda: "Latency share" in graph.overlays, timeout=120_000)
    shares = graph.overlays["Latency share"].values
    node_ids = {n.id for n in main_window.inspections[main_window.current.id].graph.nodes}
    assert shares and set(shares) <= node_ids
    # Shares of the profiled run time; on so small a model much of it is the runtime's
    # own overhead, which no graph node gets, so only the bound is certain.
    assert 0 < sum(shares.values()) <= 1.0 + 1e-6
    assert any("Conv" in node for node in shares)  # the convolutions' time is attributed
    assert graph.overlay is not None and graph.overlay.name == "Latency share"
    assert main_window.current.metrics["latency"]["ort"]["profile"] is not None


@pytest.fixture
def held_open(monkeypatch):
    """Opening waits for ``release`` (or raises ``fail`` once released): the preview is
    seen alone first, whatever the thread timing."""
    from workbench.ui import open_actions as module

    gate = {"release": threading.Event(), "fail": None}
    real = module.inspect_isolated

    def held(source, **kwargs):
        assert gate["release"].wait(WAIT_MS / 1000)
        if gate["fail"] is not None:
            raise gate["fail"]
        return real(source, **kwargs)

    monkeypatch.setattr(module, "inspect_isolated", held)
    return gate


def test_the_demo_graph_shows_and_inspects_before_its_model_has_loaded(
    qtbot, main_window, held_open
) -> None:
    graph_view = main_window.graph_view
    main_window.open_source(DEMO_SOURCE)
    qtbot.waitUntil(lambda: graph_view.visible_box_count() > 0, timeout=WAIT_MS)
    assert main_window.variants.topLevelItemCount() == 0  # still loading
    assert main_window.status.progress.isVisible()
    assert "digits_cnn" in main_window.windowTitle()
    assert "90,090 parameters" in main_window.summary_label.text()
    model = main_window.inspector.topLevelItem(0)
    assert model.text(0) == "Model" and model.child(3).text(1) == "90,090"
    preview = graph_view.graph
    conv = next(node for node in preview.nodes if node.op_type == "conv2d")
    with qtbot.waitSignal(graph_view.node_selected, timeout=10_000):
        graph_view.select_node(conv.id)
    assert main_window.inspector.topLevelItem(0).text(0) == "Node"
    boxes = graph_view.scene.items()

    held_open["release"].set()
    _wait_opened(qtbot, main_window)
    # The variant adopted the graph on screen: no second layout, same boxes.
    assert main_window.inspections[main_window.current.id].graph is preview
    assert graph_view.scene.items() == boxes
    assert graph_view.loaded is not None  # the sparsity overlay can count weights now
    assert graph_view.overlay_box.findText("Weight sparsity") >= 0
    assert not main_window.status.progress.isVisible()


def test_a_preview_whose_model_fails_to_open_is_taken_down(qtbot, main_window, held_open) -> None:
    from workbench.core.errors import ModelLoadError

    main_window.open_source(DEMO_SOURCE)
    qtbot.waitUntil(lambda: main_window.graph_view.visible_box_count() > 0, timeout=WAIT_MS)
    held_open["fail"] = ModelLoadError("torch could not be imported")
    held_open["release"].set()
    qtbot.waitUntil(
        lambda: main_window.findChild(QMessageBox, "error-dialog") is not None, timeout=WAIT_MS
    )
    assert main_window.graph_view.graph is None
    assert main_window.graph_view.visible_box_count() == 0
    assert main_window.structure.topLevelItemCount() == 0
    assert main_window.inspector.topLevelItemCount() == 0
    assert main_window.windowTitle() == "Workbench"


@pytest.mark.parametrize("width", [1280, 1256])  # 1256: the first window on a 1366x768 laptop
def test_every_tab_fits_beside_the_docks_in_a_1280_px_window(qtbot, main_window, width) -> None:
    from PySide6.QtWidgets import QDockWidget

    from workbench.ui.window_layout import DOCK_WIDTH

    main_window.resize(width, 800)
    qtbot.wait(20)
    sides = [d for d in main_window.findChildren(QDockWidget) if d.isVisible()]
    main_window.resizeDocks(sides, [DOCK_WIDTH] * len(sides), Qt.Orientation.Horizontal)
    main_window.training.title.setText("digits_cnn (int8): training needs a PyTorch variant")
    for index in range(main_window.tabs.count()):
        main_window.tabs.setCurrentIndex(index)
        page = main_window.tabs.currentWidget()
        qtbot.wait(20)
        assert main_window.width() == width
        if isinstance(page, QScrollArea):  # a dense tab scrolls rather than clips
            name = main_window.tabs.tabText(index)
            assert not page.horizontalScrollBar().isVisible(), f"{name} needs a scrollbar"
