"""The one graph model both frameworks are described in.

ONNX graphs and torch.export graphs are translated into these plain dataclasses, so
the graph view, the inspector, `workbench inspect` and the comparisons read one shape.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

Dim = int | str | None  # a concrete size, a symbolic name, or unknown


@dataclass
class TensorInfo:
    """A value flowing along an edge (or a graph input/output)."""

    name: str
    shape: tuple[Dim, ...] | None = None  # None: rank unknown
    dtype: str | None = None

    def describe(self) -> str:
        if self.shape is None:
            dims = "?"
        else:
            dims = "x".join("?" if d is None else str(d) for d in self.shape)
        return f"{self.dtype or '?'}[{dims}]"


@dataclass
class WeightInfo:
    """A parameter or constant tensor (ONNX initializer, torch parameter or buffer)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    numel: int
    trainable: bool = True  # False for buffers (BN running stats) and ONNX-only constants


@dataclass
class Node:
    """One operation."""

    id: str  # unique within the graph
    name: str  # the framework's own name for it
    op_type: str  # ONNX op type ("Conv") or aten op ("convolution")
    scope: tuple[str, ...] = ()  # hierarchy path: module path or ONNX name prefix
    attributes: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)  # tensor names (weights included)
    outputs: list[str] = field(default_factory=list)
    weights: list[str] = field(default_factory=list)  # names in Graph.weights it reads
    params: int = 0  # elements of the weights it reads (shared weights count once per node)
    macs: int = 0  # multiply-accumulates for the example input (batch 1)


@dataclass
class Graph:
    """A whole model as nodes, tensors and weights."""

    name: str
    framework: str  # "onnx" or "pytorch"
    nodes: list[Node] = field(default_factory=list)
    tensors: dict[str, TensorInfo] = field(default_factory=dict)
    weights: dict[str, WeightInfo] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)  # tensor names, weights excluded
    outputs: list[str] = field(default_factory=list)
    opset: int | None = None
    producer: str = ""
    notes: list[str] = field(default_factory=list)  # what the translation could not do

    @property
    def param_count(self) -> int:
        """Elements of every weight (ONNX initializers; torch parameters and buffers)."""
        return sum(w.numel for w in self.weights.values())

    @property
    def trainable_param_count(self) -> int:
        return sum(w.numel for w in self.weights.values() if w.trainable)

    @property
    def macs(self) -> int:
        return sum(n.macs for n in self.nodes)

    def op_histogram(self) -> dict[str, int]:
        """Op type -> count, most common first."""
        return dict(Counter(n.op_type for n in self.nodes).most_common())

    def node(self, node_id: str) -> Node:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)

    def producers(self) -> dict[str, str]:
        """Tensor name -> id of the node that writes it."""
        return {t: n.id for n in self.nodes for t in n.outputs}

    def consumers(self) -> dict[str, list[str]]:
        """Tensor name -> ids of the nodes that read it."""
        result: dict[str, list[str]] = {}
        for n in self.nodes:
            for t in n.inputs:
                result.setdefault(t, []).append(n.id)
        return result
