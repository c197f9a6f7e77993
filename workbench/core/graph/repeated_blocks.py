"""Repeated blocks: runs of identical layers (BERT's ``encoder/layer.0`` … ``layer.11``,
GPT-2's ``h.0`` … ``h.23``) found in a graph's scope tree, to show as one group "×N".

Two sibling groups are the same block when the nodes inside them, in model order, have
the same op types, output shapes (known sizes; named ones alike) and places in the
group's sub-scopes, and read each other in the same pattern (an input is a node of the
block by its position, a weight or constant, or something from outside). Shape
arithmetic is left out of the comparison: a first layer often reuses a size its
predecessor computed, so its ``Shape``/``Gather`` count differs while the layer is the
same. A run is two or more such siblings one after the other, each reading the one
before it: parallel branches of one shape (an Inception module's) are not a repetition
and stay as they are. A run is folded only when it holds MIN_NODES nodes or more, or
when each of its blocks holds MIN_BLOCK_NODES (a small decoder's four 20-node blocks
still fill the canvas): a transformer's layers are the clutter, while ResNet-50's few
7-node bottlenecks read better open (the graph fits the canvas whole).

Hand-written: graph libraries find isomorphic subgraphs in general (networkx's VF2),
but here the scopes already say where blocks start and end, so comparing a canonical
description per scope is linear and exact.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass

from workbench.core.graph.hierarchy import GroupPath, Hierarchy
from workbench.core.graph.shape_math import shape_math_nodes

MIN_REPEAT = 2
MIN_NODES = 100  # in all the run's blocks together
MIN_BLOCK_NODES = 18  # in each block: a transformer layer's; a ResNet bottleneck has 7-11


@dataclass(frozen=True)
class Run:
    """Sibling groups that are one block repeated, in model order."""

    parent: GroupPath
    members: tuple[GroupPath, ...]
    label: str  # "layer ×12"


def find_runs(
    hierarchy: Hierarchy, min_nodes: int = MIN_NODES, min_block_nodes: int = MIN_BLOCK_NODES
) -> list[Run]:
    """The runs of repeated blocks in ``hierarchy`` holding ``min_nodes`` nodes or more,
    or ``min_block_nodes`` in each block (outermost and innermost alike)."""
    sibling_reads = _sibling_reads(hierarchy)
    signatures = _Signatures(hierarchy)
    runs: list[Run] = []
    for parent in hierarchy.groups.values():
        if len(parent.groups) < MIN_REPEAT:
            continue
        current: list[GroupPath] = []
        for child in parent.groups:  # in model order
            if current and (
                (current[-1], child) in sibling_reads
                and signatures.of(child) == signatures.of(current[0])
            ):
                current.append(child)
                continue
            _close(current, parent.path, hierarchy, runs)
            current = [child]
        _close(current, parent.path, hierarchy, runs)
    return [run for run in runs if _big_enough(run, hierarchy, min_nodes, min_block_nodes)]


def _big_enough(run: Run, hierarchy: Hierarchy, min_nodes: int, min_block_nodes: int) -> bool:
    sizes = [hierarchy.groups[m].size for m in run.members]
    return sum(sizes) >= min_nodes or min(sizes) >= min_block_nodes


def fold_repeated_blocks(hierarchy: Hierarchy, runs: list[Run] | None = None) -> list[GroupPath]:
    """Wrap every run in a group of its own (``Group.repeat`` is its length); returns
    the new groups' paths. The hierarchy changes in place."""
    runs = find_runs(hierarchy) if runs is None else runs
    return hierarchy.wrap_runs([(run.label, list(run.members)) for run in runs])


def _close(members: list[GroupPath], parent: GroupPath, hierarchy: Hierarchy, runs: list) -> None:
    if len(members) >= MIN_REPEAT:
        label = hierarchy.groups[members[0]].label
        base = re.sub(r"[._/-]?\d+$", "", label) or label  # "layer.0" -> "layer"
        runs.append(Run(parent, tuple(members), f"{base} ×{len(members)}"))


def _sibling_reads(hierarchy: Hierarchy) -> set[tuple[GroupPath, GroupPath]]:
    """(A, B) for sibling groups where something in B reads something in A."""
    groups, pairs = hierarchy.groups, set()
    for u, v in hierarchy.edges.tolist():
        a, b = hierarchy.leaf_group[u], hierarchy.leaf_group[v]
        # climb to the children of the two leaves' lowest common group
        chain_a, chain_b = [], []
        while a != b:
            if groups[a].depth >= groups[b].depth:
                chain_a.append(a)
                a = groups[a].parent
            else:
                chain_b.append(b)
                b = groups[b].parent
        if chain_a and chain_b:
            pairs.add((chain_a[-1], chain_b[-1]))
    return pairs


class _Signatures:
    """A group's canonical description, computed once per group on demand."""

    def __init__(self, hierarchy: Hierarchy) -> None:
        self.hierarchy = hierarchy
        graph = hierarchy.graph
        self.skip = {hierarchy.index[i] for i in shape_math_nodes(graph)}
        self.producer = {t: i for i, node in enumerate(graph.nodes) for t in node.outputs if t}
        self.inputs = set(graph.inputs)
        self.cache: dict[GroupPath, Hashable] = {}

    def of(self, path: GroupPath) -> Hashable:
        if path not in self.cache:
            self.cache[path] = self._compute(path)
        return self.cache[path]

    def _leaves(self, path: GroupPath) -> list[int]:
        groups, found, stack = self.hierarchy.groups, [], [path]
        while stack:
            group = groups[stack.pop()]
            found.extend(leaf for leaf in group.leaves if leaf < self.hierarchy.node_count)
            stack.extend(group.groups)
        return sorted(leaf for leaf in found if leaf not in self.skip)

    def _compute(self, path: GroupPath) -> Hashable:
        hierarchy, graph = self.hierarchy, self.hierarchy.graph
        leaves = self._leaves(path)
        local = {leaf: i for i, leaf in enumerate(leaves)}
        depth = len(path)
        parts = []
        for leaf in leaves:
            node = graph.nodes[leaf]
            reads = []
            for name in node.inputs:
                source = self.producer.get(name)
                if source in local:
                    reads.append(local[source])
                elif (source is None and name not in self.inputs) or source in self.skip:
                    # a weight, or a constant: the exporter shares equal initializers
                    # (zero biases) through Identity nodes, so one layer reads a weight
                    # where the next reads a hidden Identity's output
                    reads.append("c")
                else:
                    reads.append("x")  # from outside the block
            tensor = graph.tensors.get(node.outputs[0]) if node.outputs else None
            shape = tensor.shape if tensor is not None else None
            if shape is not None:  # shape inference names unknown sizes per layer (unk__18)
                shape = tuple(d if isinstance(d, int) else None for d in shape)
            scope = hierarchy.leaf_group[leaf][depth:]
            parts.append((node.op_type, scope, shape, tuple(reads)))
        return tuple(parts)
