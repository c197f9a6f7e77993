"""From a node of the graph to the layer a pruning config names, and back.

A pruning config names layers by module path (``ignore``, ``layer_amounts``, the
pass's ``layer_channels``); the graph shows operations. torch.export names the op of a
built-in leaf module by the module's path (``features.0.0``), and both torch graphs and
ONNX exports keep that path in the names of the weights a node reads
(``features.0.0.weight``), so either gives the layer. The fix loop's right-click and the
"Channels kept" overlay both go through ``layer_of``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from workbench.core.graph.model import Graph, Node
from workbench.core.graph.overlays import Overlay, value_overlay

CHANNELS_OVERLAY = "Channels kept"


def layer_of(node: Node, layers: Collection[str]) -> str | None:
    """The layer among ``layers`` (module paths) whose operation ``node`` is, or None."""
    if node.name in layers:
        return node.name
    for weight in node.weights:
        owner, _, leaf = weight.rpartition(".")
        if leaf == "weight" and owner in layers:
            return owner
    return None


def channels_overlay(layer_channels: Mapping[str, Sequence[int]], graph: Graph) -> Overlay | None:
    """Each pruned layer's node coloured by the share of its output channels kept
    (``layer_channels``: layer -> [before, after], as channel pruning records it)."""
    values: dict[str, float] = {}
    for node in graph.nodes:
        layer = layer_of(node, layer_channels)
        if layer is not None and layer_channels[layer][0]:
            before, after = layer_channels[layer][:2]
            values[node.id] = after / before
    if not values:
        return None
    return value_overlay(CHANNELS_OVERLAY, values, "Output channels kept", aggregate="mean",
                         kind="percent", fixed_range=(0.0, 1.0))  # fmt: skip
