"""Which node of a child variant's graph is which node of its parent's, and what changed.

Matching, in order: the same node name (ONNX node names and torch module paths survive
pruning and QDQ quantization); a child node named after an unmatched parent node plus
a suffix with a compatible op (ONNX Runtime's dynamic quantization turns ``X/Conv``
into ``X/Conv_quant`` of type ConvInteger); the same module path and op family (a
PyTorch parent's ``features.0.0`` conv2d is its ONNX child's
``/features/features.0/features.0.0/Conv``); then ``difflib.SequenceMatcher`` over the
op families of what is left, in graph order (renumbered but equal graphs). Unmatched
parent nodes were removed (fused, folded), unmatched child nodes were added (Q/DQ
pairs, scale multiplies). A quantized node reads its weights through
DequantizeLinear nodes; their initializers count as the node's own weights here, so
a QDQ Conv keeps its parameter count and shows its weights turned int8.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass, field

from workbench.core.graph.model import Graph, Node
from workbench.core.graph.op_families import op_family
from workbench.core.graph.overlays import Overlay, value_overlay
from workbench.core.units import format_shape, human_count

ADDED, REMOVED, CHANGED, SAME = "added", "removed", "changed", "same"
DEQUANTIZE = {"DequantizeLinear"}
Q_DQ = {"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"}


@dataclass
class Layer:
    """What one node computes with: weights (through any DequantizeLinear), MACs, output."""

    id: str
    name: str
    op_type: str
    params: int
    weight_bytes: int
    weight_dtypes: tuple[str, ...]
    macs: int
    output_shape: str


@dataclass
class NodeDiff:
    status: str  # added | removed | changed | same
    parent: Layer | None
    child: Layer | None
    changes: list[str] = field(default_factory=list)  # what changed, in words

    @property
    def name(self) -> str:
        layer = self.child or self.parent
        return layer.name or layer.id


@dataclass
class GraphDiff:
    parent_name: str
    child_name: str
    nodes: list[NodeDiff]

    def counts(self) -> Counter:
        return Counter(d.status for d in self.nodes)

    def status_by_parent_id(self) -> dict[str, str]:
        return {d.parent.id: d.status for d in self.nodes if d.parent is not None}

    def status_by_child_id(self) -> dict[str, str]:
        return {d.child.id: d.status for d in self.nodes if d.child is not None}

    def partner_in_child(self) -> dict[str, str]:
        """Parent node id -> child node id, for matched nodes (synchronised navigation)."""
        return {d.parent.id: d.child.id for d in self.nodes if d.parent and d.child}

    def layers(self, with_weights_only: bool = False) -> list[NodeDiff]:
        """The per-layer rows: every node that is not the same, and weighted ones that are."""
        rows = [d for d in self.nodes if d.status != SAME or _weighted(d)]
        return [d for d in rows if _weighted(d)] if with_weights_only else rows

    def summary(self) -> str:
        c = self.counts()
        return f"{c[CHANGED]} changed, {c[ADDED]} added, {c[REMOVED]} removed, {c[SAME]} unchanged"


def _weighted(d: NodeDiff) -> bool:
    return any(layer is not None and (layer.params or layer.macs) for layer in (d.parent, d.child))


def layers_of(graph: Graph) -> dict[str, Layer]:
    """Each node's computing figures; DequantizeLinear-fed weights count as the reader's."""
    producers = {t: n for n in graph.nodes for t in n.outputs}
    result = {}
    for node in graph.nodes:
        names = list(node.weights)
        if node.op_type not in Q_DQ:
            for tensor in node.inputs:
                source = producers.get(tensor)
                if source is not None and source.op_type in DEQUANTIZE and source.weights:
                    names.extend(source.weights)
        weights = [graph.weights[w] for w in dict.fromkeys(names) if w in graph.weights]
        result[node.id] = Layer(
            id=node.id,
            name=node.name,
            op_type=node.op_type,
            params=sum(w.numel for w in weights if _is_data(w.shape)),
            weight_bytes=sum(w.numel * _itemsize(w.dtype) for w in weights),
            weight_dtypes=tuple(sorted({w.dtype for w in weights if _is_data(w.shape)})),
            macs=node.macs,
            output_shape=_output_shape(graph, node),
        )
    return result


def _is_data(shape: tuple[int, ...]) -> bool:
    """Weights with elements worth counting (a scalar scale or zero point is not a layer's)."""
    return len(shape) >= 1 and (len(shape) > 1 or shape[0] > 1)


def _itemsize(dtype: str) -> int:
    text = (dtype or "").lower()
    for bits in ("64", "32", "16", "8", "4"):
        if bits in text:
            return max(1, int(bits) // 8)
    return 1 if "bool" in text else 4


def _output_shape(graph: Graph, node: Node) -> str:
    info = graph.tensors.get(node.outputs[0]) if node.outputs else None
    return format_shape(info.shape) if info is not None and info.shape is not None else "?"


def diff_graphs(parent: Graph, child: Graph) -> GraphDiff:
    """Match ``child``'s nodes to ``parent``'s and say, for each, what happened to it."""
    before, after = layers_of(parent), layers_of(child)
    pairs = _match(parent.nodes, child.nodes)
    matched_child = set(pairs.values())
    nodes: list[NodeDiff] = []
    for node in parent.nodes:
        old = before[node.id]
        if node.id in pairs:
            new = after[pairs[node.id]]
            changes = _changes(old, new)
            nodes.append(NodeDiff(CHANGED if changes else SAME, old, new, changes))
        else:
            nodes.append(NodeDiff(REMOVED, old, None, [f"{node.op_type} no longer in the graph"]))
    for node in child.nodes:
        if node.id not in matched_child:
            nodes.append(NodeDiff(ADDED, None, after[node.id], [f"new {node.op_type}"]))
    return GraphDiff(parent.name, child.name, nodes)


def _match(old: list[Node], new: list[Node]) -> dict[str, str]:
    """Parent node id -> child node id."""
    pairs: dict[str, str] = {}
    by_name = Counter(n.name for n in new if n.name)
    unique_new = {n.name: n for n in new if n.name and by_name[n.name] == 1}
    for node in old:
        partner = unique_new.get(node.name) if node.name else None
        if partner is not None:
            pairs[node.id] = partner.id
    taken = set(pairs.values())
    # renamed by a rewrite: "X/Conv" -> "X/Conv_quant" (ConvInteger); the heavy op wins
    for node in old:
        if node.id in pairs or not node.name:
            continue
        candidates = [
            n
            for n in new
            if n.id not in taken
            and n.name.startswith(node.name + "_")
            and _compatible(node.op_type, n.op_type)
        ]
        if candidates:
            best = max(candidates, key=lambda n: (n.macs, n.params))
            pairs[node.id] = best.id
            taken.add(best.id)
    # across frameworks (a PyTorch parent, an exported or quantized ONNX child): the
    # module path both name their nodes after, with an op of the same family
    by_path: dict[tuple[str, str], list[Node]] = {}
    for n in new:
        if n.id not in taken and (path := _module_path(n)):
            by_path.setdefault((path, op_family(n.op_type)), []).append(n)
    for node in old:
        path = _module_path(node) if node.id not in pairs else None
        found = by_path.get((path, op_family(node.op_type))) if path else None
        if found and len(found) == 1 and found[0].id not in taken:
            pairs[node.id] = found[0].id
            taken.add(found[0].id)
    left_old = [n for n in old if n.id not in pairs]
    left_new = [n for n in new if n.id not in taken]
    # op families, not op types, so aten "conv2d" lines up with ONNX "Conv"
    matcher = difflib.SequenceMatcher(
        a=[_align_key(n.op_type) for n in left_old],
        b=[_align_key(n.op_type) for n in left_new],
        autojunk=False,
    )
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            pairs[left_old[block.a + k].id] = left_new[block.b + k].id
    return pairs


def _align_key(op_type: str) -> str:
    """What two ops must share to be aligned: their family, or the op itself if unknown."""
    family = op_family(op_type)
    return op_type if family == "other" else family


def _module_path(node: Node) -> str | None:
    """The module a node belongs to: a torch node's own name ("features.0.0"), or the
    last scope of an exported ONNX name ("/features/features.0/features.0.0/Conv")."""
    name = node.name or ""
    if "/" in name:
        parts = [p for p in name.split("/") if p]
        return parts[-2] if len(parts) >= 2 else None
    return name if "." in name else None


def _compatible(old_op: str, new_op: str) -> bool:
    if old_op == new_op:
        return True
    base = {"Gemm": "MatMul"}.get(old_op, old_op)
    return base in new_op or op_family(old_op) == op_family(new_op) != "other"


def _changes(old: Layer, new: Layer) -> list[str]:
    changes = []
    if _op_key(old.op_type) != _op_key(new.op_type):
        changes.append(f"op {old.op_type} → {new.op_type}")
    if old.params != new.params:
        changes.append(f"parameters {old.params:,} → {new.params:,}")
    if old.weight_dtypes != new.weight_dtypes:
        changes.append(
            f"weights {'/'.join(old.weight_dtypes) or '-'} → {'/'.join(new.weight_dtypes) or '-'}"
        )
    if old.macs != new.macs:
        changes.append(f"MACs {human_count(old.macs)} → {human_count(new.macs)}")
    if not _same_shape(old.output_shape, new.output_shape):
        changes.append(f"output {old.output_shape} → {new.output_shape}")
    return changes


CHANGED_OVERLAY = "Changed versus parent"
OVERLAY_VALUES = {ADDED: 1.0, CHANGED: 0.5, SAME: 0.0}


def changed_overlay(diff: GraphDiff) -> Overlay:
    """The graph view's "changed versus parent" overlay for the child's graph: added 1,
    changed 0.5, unchanged 0 (a group shows its most changed node)."""
    values = {d.child.id: OVERLAY_VALUES[d.status] for d in diff.nodes if d.child is not None}
    return value_overlay(
        CHANGED_OVERLAY,
        values,
        "Changed vs parent (1 added, 0.5 changed)",
        aggregate="max",
        fixed_range=(0.0, 1.0),
    )


def _op_key(op_type: str) -> str:
    """aten "max_pool2d" and ONNX "MaxPool" are one op; "Conv" and "ConvInteger" are not."""
    return re.sub(r"[123]d$", "", op_type.split("::")[-1].lower()).replace("_", "")


def _same_shape(a: str, b: str) -> bool:
    """Shapes as "batchx32x8x8": a symbolic or unknown size matches any size."""
    if "?" in (a, b):
        return True
    da, db = a.split("x"), b.split("x")
    return len(da) == len(db) and all(
        x == y or not (x.isdigit() and y.isdigit()) for x, y in zip(da, db, strict=True)
    )
