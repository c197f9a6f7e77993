"""The fix loop, end to end: right-click the worst node of an INT8 variant in the graph,
keep it in float, or a layer of a channel-pruned variant, leave it unpruned or give it
its own amount; the re-run lands beside the first run, measured as it was."""

from __future__ import annotations

from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication

from workbench.core.compress.pruning.graph_nodes import CHANNELS_OVERLAY
from workbench.core.compress.pruning.variant import run_pruning
from workbench.core.compress.quantization.workflow import quantize_variant
from workbench.core.compress.refine import node_changes
from workbench.core.measure.inputs import as_target, resolve_dataset

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


def _reveal(qtbot, window, node_name: str) -> None:
    """Expand the groups around the node (a torch graph nests layers in modules)."""
    node = next(n for n in window.graph_view.graph.nodes if n.name == node_name)
    window.graph_view.select_node(node.id)
    qtbot.waitUntil(lambda: window.graph_view.node_item(node.id) is not None, timeout=WAIT_MS)


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
    _reveal(qtbot, window, worst)  # its graph is laid out off the GUI thread: wait for it
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


def _pruned_child(qtbot, window):
    """zoo:digits_cnn opened, and half its channels removed as the pruning wizard does
    (``run_pruning``, its result added as the root's child); the child is selected."""
    window.open_source("zoo:digits_cnn")
    qtbot.waitUntil(lambda: window.current is not None, timeout=WAIT_MS)
    root = window.current
    dataset = resolve_dataset(None, as_target(root.loaded))
    first = run_pruning(root.loaded, "channel-prune", {"amount": 0.5}, dataset=dataset,
                        batches=(1,), seconds=0.1)  # fmt: skip
    window.actions.add_child(root, first.model, name=first.name("digits_cnn"), step=first.step,
                             metrics=first.metrics, artifacts={})  # fmt: skip
    qtbot.waitUntil(lambda: len(window.project.variants) == 2, timeout=WAIT_MS)
    child = next(v for v in window.project.variants.values() if v.parent == root.id)
    qtbot.waitUntil(lambda: window.current is child, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.graph_view.scene.layout is not None, timeout=WAIT_MS)
    return root, child


def _choose(qtbot, window, layer: str, label: str):
    """Right-click ``layer``'s node in the graph, pick ``label``, wait for the new variant."""
    count = len(window.project.variants)
    _reveal(qtbot, window, layer)
    _right_click(window, layer)
    menu = window.fix_loop.menu
    assert menu is not None and menu.isVisible()
    next(a for a in menu.actions() if a.text() == label).trigger()
    menu.close()
    qtbot.waitUntil(lambda: len(window.project.variants) == count + 1, timeout=WAIT_MS)
    made = list(window.project.variants.values())[-1]
    qtbot.waitUntil(lambda: window.current is made, timeout=WAIT_MS)
    return made


def test_leave_a_layer_unpruned_or_give_it_its_own_amount(qtbot, main_window) -> None:
    window = main_window
    root, child = _pruned_child(qtbot, window)
    layer = "features.1.0"
    full = root.loaded.module.get_submodule(layer).out_channels
    assert child.loaded.module.get_submodule(layer).out_channels == full // 2
    assert CHANNELS_OVERLAY in window.graph_view.overlays

    _reveal(qtbot, window, layer)
    _right_click(window, layer)
    labels = [a.text() for a in window.fix_loop.menu.actions()]
    assert labels == [f"{layer}: run channel-prune again with…", f"Leave {layer} unpruned",
                      f"Prune {layer} by 25%", f"Prune {layer} by 75%"]  # fmt: skip
    window.fix_loop.menu.close()

    left = _choose(qtbot, window, layer, f"Leave {layer} unpruned")
    assert left.parent == root.id and left.step["config"]["ignore"] == [layer]
    assert left.loaded.module.get_submodule(layer).out_channels == full  # kept, really
    assert left.loaded.module.get_submodule("features.0.0").out_channels < 32  # others not
    after = left.metrics["after"]
    assert after["latency_ms"]["1"] > 0 and after["weights_bytes"] > 0
    assert after["accuracy"] is not None and left.metrics["latency"]  # as the first run
    node = next(n for n in window.graph_view.graph.nodes if n.name == layer)
    qtbot.waitUntil(lambda: CHANNELS_OVERLAY in window.graph_view.overlays, timeout=WAIT_MS)
    assert window.graph_view.overlays[CHANNELS_OVERLAY].values[node.id] == 1.0  # its own

    window.variants.select(child.id)
    qtbot.waitUntil(lambda: window.current is child, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.graph_view.scene.layout is not None, timeout=WAIT_MS)
    own = _choose(qtbot, window, layer, f"Prune {layer} by 25%")
    assert own.parent == root.id and own.step["config"]["layer_amounts"] == [f"{layer}=0.25"]
    assert own.loaded.module.get_submodule(layer).out_channels == full - full // 4
    assert own.metrics["after"]["latency_ms"]["1"] > 0
    assert window.tabs.compare.variant_list.count() == 4  # all beside each other


def test_a_node_pruning_leaves_alone_offers_no_pruning_change(qtbot, main_window) -> None:
    window = main_window
    _root, child = _pruned_child(qtbot, window)
    window.fix_loop.menu = None
    _reveal(qtbot, window, "features.1.1")
    _right_click(window, "features.1.1")  # the BatchNorm: it follows its convolution
    assert window.fix_loop.menu is None
    _reveal(qtbot, window, "fc")
    _right_click(window, "fc")  # the classifier: a line says why, nothing to pick
    labels = [(a.text(), a.isEnabled()) for a in window.fix_loop.menu.actions()]
    assert labels == [("fc: the classifier keeps its outputs (the classes)", False)]
    window.fix_loop.menu.close()
    # The re-run is cancellable: nothing is added, the status bar is free again.
    change = node_changes(child.step, _node(window, "head.1"), child.loaded.module).changes[0]
    handle = window.fix_loop.rerun(child, change)
    handle.cancel()
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=WAIT_MS)
    assert len(window.project.variants) == 2


def _node(window, name: str):
    return next(n for n in window.graph_view.graph.nodes if n.name == name)
