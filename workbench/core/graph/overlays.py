"""Per-node values the graph view colours boxes by: parameters, MACs, weight sparsity,
and any values other features measure (latency share, quantization error, changed
versus the parent variant), all through one ``Overlay`` shape.

An overlay maps node ids to numbers; a collapsed group shows its nodes' values combined
(``aggregate``), and the colour scale spans the values of the boxes in view.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.core.context import RunContext
from workbench.core.graph.hierarchy import GroupPath, Hierarchy
from workbench.core.graph.model import Graph
from workbench.core.io.loaded import LoadedModel, ModelFormat
from workbench.core.units import human_count

AGGREGATES = ("sum", "mean", "max", "param_mean")


@dataclass(frozen=True)
class ColorScale:
    """Maps values to 0..1 for a colour map; logarithmic for counts spanning decades."""

    low: float
    high: float
    log: bool = False
    kind: str = "count"  # how labels read: "count" (1.2 M), "percent", "plain"

    def position(self, value: float) -> float:
        low, high, v = self.low, self.high, value
        if self.log:
            low, high, v = (math.log10(max(x, 1.0)) for x in (low, high, value))
        if high <= low:
            return 1.0 if v >= high and value > 0 else 0.0
        return min(max((v - low) / (high - low), 0.0), 1.0)

    def label(self, value: float) -> str:
        return format_value(value, self.kind)


def format_value(value: float, kind: str) -> str:
    if kind == "percent":
        return f"{100 * value:.1f}%"
    if kind == "count":
        return human_count(value)
    return f"{value:.3g}"


@dataclass(frozen=True)
class Overlay:
    """Values by node id, with how to combine them in a group and how to label them."""

    name: str
    values: Mapping[str, float]
    title: str  # the legend's title, e.g. "Parameters per node"
    aggregate: str = "sum"  # sum | mean | max | param_mean (mean weighted by parameters)
    log_scale: bool = False
    kind: str = "plain"  # count | percent | plain
    fixed_range: tuple[float, float] | None = None  # e.g. (0, 1) for fractions

    def __post_init__(self) -> None:
        if self.aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {AGGREGATES}, not {self.aggregate!r}")

    def group_values(self, hierarchy: Hierarchy) -> dict[GroupPath, float]:
        """Each group's combined value (groups without any valued node are left out)."""
        nodes = hierarchy.graph.nodes
        sums: dict[GroupPath, list[float]] = {}  # path -> [total, weight, count, max]
        for leaf in range(hierarchy.node_count):
            value = self.values.get(nodes[leaf].id)
            if value is None or math.isnan(value):
                continue
            weight = float(nodes[leaf].params) if self.aggregate == "param_mean" else 1.0
            for path in hierarchy.ancestors(leaf):
                acc = sums.setdefault(path, [0.0, 0.0, 0, -math.inf])
                acc[0] += value * weight
                acc[1] += weight
                acc[2] += 1
                acc[3] = max(acc[3], value)
        result = {}
        for path, (total, weight, _count, biggest) in sums.items():
            if self.aggregate == "sum":
                result[path] = total
            elif self.aggregate == "max":
                result[path] = biggest
            elif weight > 0:
                result[path] = total / weight
        return result

    def scale(self, shown: Iterable[float]) -> ColorScale:
        """The colour scale for the values in view (or the fixed range)."""
        if self.fixed_range is not None:
            low, high = self.fixed_range
        else:
            values = [v for v in shown if v is not None and not math.isnan(v)]
            if self.log_scale:
                values = [v for v in values if v > 0]
            low, high = (min(values), max(values)) if values else (0.0, 1.0)
        return ColorScale(float(low), float(high), self.log_scale, self.kind)


def parameter_overlay(graph: Graph) -> Overlay:
    values = {n.id: float(n.params) for n in graph.nodes if n.params}
    return Overlay("Parameters", values, "Parameters", "sum", log_scale=True, kind="count")


def macs_overlay(graph: Graph) -> Overlay:
    values = {n.id: float(n.macs) for n in graph.nodes if n.macs}
    return Overlay("MACs", values, "MACs (batch 1)", "sum", log_scale=True, kind="count")


def sparsity_overlay(graph: Graph, loaded: LoadedModel, ctx: RunContext | None = None) -> Overlay:
    values = weight_sparsity(graph, loaded, ctx)
    return Overlay(
        "Weight sparsity", values, "Zero weights", "param_mean", kind="percent",
        fixed_range=(0.0, 1.0),
    )  # fmt: skip


def value_overlay(name: str, values: Mapping[str, float], title: str, **options: Any) -> Overlay:
    """An overlay of values another feature measured (latency share, error, changed)."""
    return Overlay(name, dict(values), title, **options)


def weight_sparsity(
    graph: Graph, loaded: LoadedModel, ctx: RunContext | None = None
) -> dict[str, float]:
    """Fraction of exactly-zero elements in the weights each node reads.

    Only tensors of two or more dimensions count (convolution kernels, matrices): what
    pruning zeroes; biases and norm scales are left out. Weights are read from the torch
    module's state_dict or the ONNX initializers; nodes without such weights are absent.
    """
    ctx = ctx or RunContext()
    zeros = _zero_counts(graph, loaded, ctx)
    result = {}
    for node in graph.nodes:
        counted = [zeros[w] for w in node.weights if w in zeros]
        total = sum(c[1] for c in counted)
        if total:
            result[node.id] = sum(c[0] for c in counted) / total
    return result


def _zero_counts(graph: Graph, loaded: LoadedModel, ctx: RunContext) -> dict[str, tuple[int, int]]:
    """Weight name -> (zero elements, elements) for the weights of 2+ dimensions."""
    wanted = {name for name, info in graph.weights.items() if len(info.shape) >= 2}
    counts: dict[str, tuple[int, int]] = {}
    if loaded.format is ModelFormat.ONNX:
        from onnx import numpy_helper

        initializers = [t for t in loaded.onnx_model.graph.initializer if t.name in wanted]
        for index, tensor in enumerate(initializers):
            ctx.check()
            array = numpy_helper.to_array(tensor)
            counts[tensor.name] = (int(array.size - np.count_nonzero(array)), int(array.size))
            ctx.report((index + 1) / max(len(initializers), 1), "counting zero weights")
        return counts
    module = loaded.module
    if module is None or not hasattr(module, "state_dict"):
        return counts
    import torch

    with torch.no_grad():
        state = module.state_dict(keep_vars=False)
        names = [name for name in state if name in wanted]
        for index, name in enumerate(names):
            ctx.check()
            tensor = state[name]
            counts[name] = (int(tensor.numel() - torch.count_nonzero(tensor)), int(tensor.numel()))
            ctx.report((index + 1) / max(len(names), 1), "counting zero weights")
    return counts
