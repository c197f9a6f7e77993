"""The quantization fix loop, end to end: right-click the worst node of an INT8 variant
in the graph, keep it in float, and the re-run lands beside the first run."""

from __future__ import annotations

from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication

from workbench.core.compress.quantization.workflow import quantize_variant

WAIT_MS = 120_000


def _right_click(window, node_name: str) -> None:
    """A real right-click (a context-menu event) on the node's box on the canvas."""
    graph_view = window.graph_view
    node = next(n for n in graph_view.graph.nodes if n.name == node_name)
    graph_view.select_node(node.id)
    box = graph_view.node_item(node.id)
    view = graph_view.view
    at = view.mapFromScene(box.sceneBoundingRect().center())
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, at, view.viewport().mapToGlobal(at))
    QApplication.sendEvent(view.viewport(), event)


def test_keep_the_worst_node_in_float_and_run_again(qtbot, main_window) -> None:
    window = main_window
    window.open_source("zoo:digits_cnn")
    qtbot.waitUntil(lambda: window.current is not None, timeout=WAIT_MS)
    root = window.current
    config = {"samples": 32, "error_samples": 16, "per_channel": False}
    first = quantize_variant(root.loaded, "static", config, batches=(1,), seconds=0.1)
    window.actions.add_child(root, first.model, name=first.name(),
                             step={"pass": first.pass_name, "config": first.config},
                             metrics=first.variant_metrics(), artifacts={})  # fmt: skip
    qtbot.waitUntil(lambda: len(window.project.variants) == 2, timeout=WAIT_MS)
    child = next(v for v in window.project.variants.values() if v.parent == root.id)
    qtbot.waitUntil(lambda: window.current is child, timeout=WAIT_MS)
    errors = child.metrics["quantization"]["error_by_node"]
    worst = max(errors, key=errors.get)
    assert "Quantization error" in window.graph_view.overlays

    _right_click(window, worst)
    menu = window.fix_loop.menu
    assert menu is not None and menu.isVisible()
    labels = [a.text() for a in menu.actions()]
    assert labels[1:] == [f"Keep {worst} in float", "Quantize weights per channel (every layer)",
                          "Calibrate with minmax", "Calibrate with entropy"]  # fmt: skip
    menu.actions()[1].trigger()
    menu.close()
    qtbot.waitUntil(lambda: len(window.project.variants) == 3, timeout=WAIT_MS)
    again = next(v for v in window.project.variants.values() if v not in (root, child))
    assert again.parent == root.id  # beside the first run, from the same parent
    assert again.step["config"]["exclude"] == [worst]
    assert again.name.endswith(f"keep {worst.lower()} in float")
    figures = again.metrics["quantization"]
    assert figures["after"]["latency_ms"] and figures["after"]["size_bytes"]
    assert figures["after"]["top1"] is not None  # accuracy, latency and size, as the first
    qtbot.waitUntil(lambda: window.current is again, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "Quantization error" in window.graph_view.overlays, timeout=WAIT_MS)
    assert worst not in again.metrics["quantization"]["error_by_node"] or (
        again.metrics["quantization"]["error_by_node"][worst] <= errors[worst]
    )
    compare = window.tabs.compare
    assert compare.variant_list.count() == 3
