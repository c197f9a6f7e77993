"""Nodes grouped by scope, and the nested layout of what is visible.

A group is a scope (PyTorch module path, ONNX name prefix) that holds at least two
nodes; a scope holding one node is no group (the node shows in its parent, named by its
path, as Netron does), and a group whose only content is one group is merged with it
("layer1/layer1.0" is one box). Unscoped source nodes (an ONNX ``Identity`` passing a
weight on) join the group of what reads them.

As in Model Explorer, every expanded group is laid out on its own: its children (nodes,
collapsed groups as single boxes, expanded groups at the size of their own layout) plus
an entry port on its top border and an exit port on its bottom border where edges from
and to the outside cross it. An edge between two nodes is drawn as one piece per group
it passes through. Expanding or collapsing a group lays out again only that group and
its ancestors; every other group's layout is reused.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from workbench.core.graph.model import Graph

GroupPath = tuple[str, ...]
ROOT: GroupPath = ()
IN_PORT, OUT_PORT = -1, -2  # unit codes of a group's ports in its segments


@dataclass
class Group:
    path: GroupPath
    label: str  # relative to the parent group: "layer1.0", "encoder/layer/0"
    parent: GroupPath | None
    depth: int
    groups: list[GroupPath] = field(default_factory=list)
    leaves: list[int] = field(default_factory=list)  # nodes and graph inputs/outputs
    size: int = 0  # nodes inside, at any depth
    key: float = 0.0  # position in the model, for ordering
    repeat: int = 0  # a fold of this many identical blocks (its groups); 0: a scope


@dataclass
class Segment:
    """One piece of one or more edges inside one group, between two of its units.

    A unit is a leaf index (>= 0), a child group (``Hierarchy.group_code``) or a port.
    """

    source: int
    target: int
    edges: list[int]  # indices into Hierarchy.edges
    tensors: list[str]


class Hierarchy:
    """The scope tree of a graph, its data edges and how they cross groups.

    Leaves are numbered: the graph's nodes (0..n-1, in model order), then one per graph
    input tensor, then one per graph output tensor.
    """

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        n = len(graph.nodes)
        self.node_count = n
        self.inputs = list(graph.inputs)
        self.outputs = list(graph.outputs)
        self.leaf_count = n + len(self.inputs) + len(self.outputs)
        self.index = {node.id: i for i, node in enumerate(graph.nodes)}
        self._build_edges()
        self._build_groups()
        self._build_segments()

    # -- construction ---------------------------------------------------------------

    def _build_edges(self) -> None:
        n = self.node_count
        producer = {t: i for i, node in enumerate(self.graph.nodes) for t in node.outputs if t}
        for k, name in enumerate(self.inputs):
            producer.setdefault(name, n + k)
        edges: list[tuple[int, int]] = []
        tensors: list[str] = []
        for i, node in enumerate(self.graph.nodes):
            for t in dict.fromkeys(node.inputs):
                p = producer.get(t)
                if p is not None and p != i:
                    edges.append((p, i))
                    tensors.append(t)
        for k, name in enumerate(self.outputs):
            p = producer.get(name)
            if p is not None:
                edges.append((p, n + len(self.inputs) + k))
                tensors.append(name)
        self.edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        self.edge_tensors = tensors

    def _effective_scopes(self) -> list[GroupPath]:
        nodes = self.graph.nodes
        counts = Counter(node.scope[:k] for node in nodes for k in range(len(node.scope) + 1))
        scopes = []
        for node in nodes:
            scope = node.scope
            while scope and counts[scope] < 2:
                scope = scope[:-1]
            scopes.append(scope)
        has_pred = np.zeros(self.leaf_count, bool)
        has_pred[self.edges[:, 1]] = True
        consumers: dict[int, list[int]] = {}
        for a, b in self.edges.tolist():
            if b < self.node_count:
                consumers.setdefault(a, []).append(b)
        for i, node in enumerate(nodes):  # unscoped sources join their readers' group
            if not node.scope and not has_pred[i] and i in consumers:
                readers = [scopes[c] for c in consumers[i]]
                common = readers[0]
                for r in readers[1:]:
                    k = 0
                    while k < min(len(common), len(r)) and common[k] == r[k]:
                        k += 1
                    common = common[:k]
                scopes[i] = common
        return scopes

    def _build_groups(self) -> None:
        scopes = self._effective_scopes()
        paths = {s[:k] for s in scopes for k in range(len(s) + 1)} | {ROOT}
        direct = Counter(scopes)
        children: dict[GroupPath, list[GroupPath]] = {}
        for path in sorted(paths, key=len):
            if path:
                children.setdefault(path[:-1], []).append(path)
        shown = {p for p in paths if p == ROOT or direct[p] or len(children.get(p, ())) != 1}

        def shown_parent(path: GroupPath) -> GroupPath:
            path = path[:-1]
            while path not in shown:
                path = path[:-1]
            return path

        self.groups: dict[GroupPath, Group] = {}
        for path in sorted(shown, key=len):
            parent = shown_parent(path) if path else None
            depth = self.groups[parent].depth + 1 if parent is not None else 0
            label = _label(path, parent) if parent is not None else self.graph.name
            self.groups[path] = Group(path, label, parent, depth)
            if parent is not None:
                self.groups[parent].groups.append(path)
        n = self.node_count
        self.leaf_group = [*scopes, *([ROOT] * (self.leaf_count - n))]
        keys = np.arange(self.leaf_count, dtype=float)
        keys[n : n + len(self.inputs)] = -1.0
        keys[n + len(self.inputs) :] = float(self.leaf_count)
        has_pred = np.zeros(self.leaf_count, bool)
        has_pred[self.edges[:, 1]] = True
        self.leaf_key = keys
        for leaf, path in enumerate(self.leaf_group):
            self.groups[path].leaves.append(leaf)
        for group in sorted(self.groups.values(), key=lambda g: -g.depth):
            members = [keys[leaf] for leaf in group.leaves if has_pred[leaf]] or [
                keys[leaf] for leaf in group.leaves
            ]
            members += [self.groups[c].key for c in group.groups]
            group.key = min(members, default=0.0)
            group.size = sum(1 for leaf in group.leaves if leaf < n)
            group.size += sum(self.groups[c].size for c in group.groups)
            group.groups.sort(key=lambda c: self.groups[c].key)
        self.codes = {path: self.leaf_count + i for i, path in enumerate(self.groups)}
        self.paths = list(self.groups)

    def wrap_runs(self, runs: list[tuple[str, list[GroupPath]]]) -> list[GroupPath]:
        """Put each run of sibling groups (label, members in order) inside a new group
        marked ``repeat`` (see ``repeated_blocks``); returns the new groups' paths.

        A new group's path is its parent's plus one name no scope has ("layer.0…layer.11"),
        so every other path stays as it was and a search still finds the members.
        """
        made = []
        for label, members in runs:
            first, last = self.groups[members[0]], self.groups[members[-1]]
            parent = self.groups[first.parent]
            path = (*parent.path, f"{first.label}…{last.label}")
            group = Group(path, label, parent.path, parent.depth + 1, groups=list(members),
                          size=sum(self.groups[m].size for m in members), key=first.key,
                          repeat=len(members))  # fmt: skip
            self.groups[path] = group
            at = parent.groups.index(members[0])
            parent.groups[at : at + len(members)] = [path]
            for member in members:
                self.groups[member].parent = path
            made.append(path)
        stack = [ROOT]  # the members and all inside them are one level deeper now
        while stack:
            group = self.groups[stack.pop()]
            for child in group.groups:
                self.groups[child].depth = group.depth + 1
                stack.append(child)
        self.codes = {path: self.leaf_count + i for i, path in enumerate(self.groups)}
        self.paths = list(self.groups)
        self._build_segments()
        return made

    def _build_segments(self) -> None:
        """Split every edge into its pieces, one per group it passes through."""
        groups = self.groups
        pieces: dict[GroupPath, dict[tuple[int, int], Segment]] = {p: {} for p in groups}

        def add(path: GroupPath, source: int, target: int, edge: int) -> None:
            segment = pieces[path].get((source, target))
            if segment is None:
                segment = pieces[path][source, target] = Segment(source, target, [], [])
            segment.edges.append(edge)
            tensor = self.edge_tensors[edge]
            if tensor not in segment.tensors:
                segment.tensors.append(tensor)

        for edge, (u, v) in enumerate(self.edges.tolist()):
            ga, gb = self.leaf_group[u], self.leaf_group[v]
            ca, cb = u, v
            while ga != gb:
                if groups[ga].depth >= groups[gb].depth:
                    add(ga, ca, OUT_PORT, edge)
                    ca, ga = self.codes[ga], groups[ga].parent
                else:
                    add(gb, IN_PORT, cb, edge)
                    cb, gb = self.codes[gb], groups[gb].parent
            add(ga, ca, cb, edge)
        self.segments = {p: list(s.values()) for p, s in pieces.items()}

    # -- queries --------------------------------------------------------------------

    def ancestors(self, leaf: int) -> list[GroupPath]:
        """Groups holding ``leaf``, innermost first, the root last."""
        path: GroupPath | None = self.leaf_group[leaf]
        chain = []
        while path is not None:
            chain.append(path)
            path = self.groups[path].parent
        return chain

    def visible_count(self, expanded: set[GroupPath]) -> int:
        """Boxes drawn (nodes, collapsed groups, expanded groups' frames)."""
        count, stack = 0, [ROOT]
        while stack:
            group = self.groups[stack.pop()]
            count += len(group.leaves) + len(group.groups)
            stack.extend(c for c in group.groups if c in expanded)
        return count

    def default_expanded(self, max_boxes: int = 300) -> set[GroupPath]:
        """Expand level by level while at most ``max_boxes`` boxes show; at the level
        that would not fit whole, expand its smallest groups that still fit. A fold of
        repeated blocks stays one box: opening it is the reader's choice."""
        expanded = {ROOT}
        level = [c for c in self.groups[ROOT].groups if not self._stays_folded(c)]
        count = self.visible_count(expanded)

        def more(path: GroupPath) -> int:  # boxes added by expanding it (its box stays a frame)
            return len(self.groups[path].leaves) + len(self.groups[path].groups)

        while level:
            added = sum(more(p) for p in level)
            if count + added > max_boxes:
                for path in sorted(level, key=more):
                    if count + more(path) > max_boxes:
                        break
                    expanded.add(path)
                    count += more(path)
                break
            expanded.update(level)
            count += added
            level = [c for p in level for c in self.groups[p].groups if not self._stays_folded(c)]
        return expanded

    def _stays_folded(self, path: GroupPath) -> bool:
        return self.groups[path].repeat > 0

    def opening(self, path: GroupPath, max_boxes: int = 300) -> set[GroupPath]:
        """The groups that expanding ``path`` opens: itself; for a fold of repeated blocks
        also its first block, whole when that fits ``max_boxes`` boxes, so one click shows
        what a block does while the others stay single boxes after it."""
        group = self.groups[path]
        if not group.repeat:
            return {path}
        first = group.groups[0]
        inside = {first}
        stack = [first]
        while stack:
            children = self.groups[stack.pop()].groups
            inside.update(children)
            stack.extend(children)
        boxes = sum(len(self.groups[g].leaves) + len(self.groups[g].groups) for g in inside)
        if boxes > max_boxes:
            inside = {first}
        return {path} | inside

    def all_groups(self) -> set[GroupPath]:
        return set(self.groups)

    def search(self, text: str) -> list[int]:
        """Nodes whose name, id or op type contains ``text`` (any case), in model order."""
        needle = text.strip().lower()
        if not needle:
            return []
        return [
            i
            for i, node in enumerate(self.graph.nodes)
            if needle in node.name.lower()
            or needle in node.id.lower()
            or needle in node.op_type.lower()
        ]

    def leaf_text(self, leaf: int) -> tuple[str, str]:
        """The two lines a box shows: op type and output shape; tensor name and shape."""
        n, graph = self.node_count, self.graph
        if leaf < n:
            node = graph.nodes[leaf]
            tensor = graph.tensors.get(node.outputs[0]) if node.outputs else None
            return node.op_type, shape_text(tensor.shape if tensor is not None else None)
        name = self.terminal_name(leaf)
        tensor = graph.tensors.get(name)
        return name, shape_text(tensor.shape if tensor is not None else None)

    def terminal_name(self, leaf: int) -> str:
        k = leaf - self.node_count
        return self.inputs[k] if k < len(self.inputs) else self.outputs[k - len(self.inputs)]

    def leaf_kind(self, leaf: int) -> str:
        if leaf < self.node_count:
            return "node"
        return "input" if leaf < self.node_count + len(self.inputs) else "output"


def shape_text(shape: tuple | None) -> str:
    """(1, 64, None, "seq") -> "1×64×?×seq"; "" when even the rank is unknown."""
    if shape is None:
        return ""
    return "×".join("?" if d is None else str(d) for d in shape)


def _label(path: GroupPath, parent: GroupPath) -> str:
    """A group's name under its parent: the new part of its path ("layer1.0"), reaching
    back to the last named part when it is a number ("stages.0.1", not "1")."""
    start = len(parent)
    while start > 0 and path[start].isdigit():
        start -= 1
    parts = path[start:]
    kept = [
        p
        for i, p in enumerate(parts)
        if i + 1 == len(parts) or p.isdigit() or not parts[i + 1].startswith(p)
    ]
    return ".".join(kept) if all(p.isdigit() for p in kept[1:]) else "/".join(kept)
