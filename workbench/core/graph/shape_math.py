"""Shape arithmetic: the nodes of an exported graph that compute sizes, not activations.

A transformer exported to ONNX computes its reshape targets at run time: ``Shape`` of a
tensor, ``Gather`` of one dimension, ``Unsqueeze``, ``Concat`` with constants, then
``Reshape``. A BERT export is half such nodes (and ``Constant`` feeding them), which
bury the matrix multiplications a person opened the graph to see. A node is shape
arithmetic when its value does not depend on the activations' values: a ``Shape`` or
``Size`` of anything, a ``Constant``, or one of the integer and index ops below whose
every input is an initializer or such a node. Weight-side work (a ``Transpose`` or
``DequantizeLinear`` of an initializer) is not in the op list, so it stays in view.

``without_shape_math`` gives the graph a person reads; the nodes left read the
computed values as constants (no edge), as onnx-simplifier's folded models do.
Hand-written because the libraries that fold these (onnx-simplifier, ORT's optimiser)
rewrite the model, and here the file stays as it is; only the view changes.
"""

from __future__ import annotations

import dataclasses

from workbench.core.graph.model import Graph, Node

SOURCES = frozenset({"Shape", "Size", "Constant"})
SHAPE_OPS = frozenset({
    "Add", "Cast", "Ceil", "Concat", "ConstantOfShape", "Div", "Equal", "Expand", "Floor",
    "Gather", "Greater", "Identity", "Less", "Max", "Min", "Mod", "Mul", "Neg", "Not",
    "Range", "ReduceMax", "ReduceMin", "ReduceProd", "Reshape", "Slice", "Sqrt", "Squeeze",
    "Sub", "Unsqueeze", "Where",
})  # fmt: skip


def shape_math_nodes(graph: Graph) -> set[str]:
    """Ids of the nodes that compute shapes or constants only (see the module doc)."""
    constant = set(graph.weights)  # initializers, and the outputs found below
    found: set[str] = set()
    for node in graph.nodes:  # graphs are stored in topological order
        sources = node.op_type in SOURCES
        data = [name for name in node.inputs if name and name not in constant]
        if sources or (node.op_type in SHAPE_OPS and not data and node.inputs):
            found.add(node.id)
            constant.update(node.outputs)
    return found


def without_shape_math(graph: Graph) -> Graph:
    """``graph`` less its shape arithmetic; the same graph when it has none."""
    hidden = shape_math_nodes(graph)
    if not hidden:
        return graph
    kept = [node for node in graph.nodes if node.id not in hidden]
    used = {name for node in kept for name in (*node.inputs, *node.outputs)}
    used.update(graph.inputs)
    used.update(graph.outputs)
    tensors = {name: info for name, info in graph.tensors.items() if name in used}
    note = f"{len(hidden)} shape-arithmetic nodes hidden (Shape, Gather, Concat, ...)"
    return dataclasses.replace(graph, nodes=kept, tensors=tensors, notes=[*graph.notes, note])


class ShapeMathIndex:
    """For one graph: which shape-arithmetic nodes feed each node (what hiding them folds
    into it), so the inspector can list them where the canvas shows none."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.hidden = shape_math_nodes(graph)
        self._producer = {t: n for n in graph.nodes if n.id in self.hidden for t in n.outputs}

    def feeding(self, node: Node) -> list[Node]:
        """The shape arithmetic ``node`` reads, directly or through more of it, in model
        order (empty for a node of it or one that reads none)."""
        if node.id in self.hidden:
            return []
        found: dict[str, Node] = {}
        stack = [self._producer[t] for t in node.inputs if t in self._producer]
        while stack:
            source = stack.pop()
            if source.id not in found:
                found[source.id] = source
                stack.extend(self._producer[t] for t in source.inputs if t in self._producer)
        order = {n.id: i for i, n in enumerate(self.graph.nodes) if n.id in found}
        return sorted(found.values(), key=lambda n: order[n.id])
