"""Layered top-to-bottom layout of a directed graph (Sugiyama's method), with box sizes.

Steps: cycles are broken by a topological order (Kahn's algorithm, ties and cycles
settled by each node's position in the model), layers come from the longest path (with
sources pulled down next to their consumers and optional ports pinned to the first and
last layer), python-igraph's ``layout_sugiyama`` (C code) inserts the dummy vertices of
long edges and orders every layer by barycenter sweeps, and coordinates are assigned
here with the real box widths, then edges are routed as polylines through their dummies.

Why not a library end to end: python-igraph is the maintained, fast Sugiyama on PyPI
(10,000 nodes in ~0.15 s here) but places unit-size vertices and knows nothing of box
widths or of the port where an edge must enter a group; grandalf is pure Python (about
1 s for 2,000 chain nodes, unmaintained), fast-sugiyama (Rust) also has one vertex size
and routes no ports, and graphviz's dot is no Python dependency and needs minutes for
10,000 nodes. So igraph does layering-free ordering and the width-aware coordinate
assignment below is hand-written, vectorised with numpy over all layers at once
(iterated neighbour averaging projected onto the minimum-separation constraints), so the
whole layout stays linear in nodes plus dummies.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np

from workbench.core.graph._sugiyama import Chains, Spacing

__all__ = ["LayeredLayout", "Spacing", "assign_layers", "layered_layout", "topological_order"]


@dataclass
class LayeredLayout:
    """Box positions (x centre, y top) and one polyline per input edge, source to target."""

    x: np.ndarray
    y: np.ndarray
    layer: np.ndarray
    routes: list[np.ndarray]  # (k, 2) points; empty for self-loops
    reversed: np.ndarray  # edges drawn against the layering (they closed a cycle)
    width: float
    height: float
    crossings: int | None = None
    sizes: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # per component


def topological_order(n: int, src: np.ndarray, dst: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Rank of every node in a topological order; nodes on cycles go by ``key`` order.

    Kahn's algorithm with a heap on ``key``: when no node is free (a cycle), the waiting
    node with the smallest key is taken, so edges reversed are those closing cycles.
    """
    indegree = np.bincount(dst, minlength=n).astype(np.int64)
    succ_order = np.argsort(src, kind="stable")
    starts = np.searchsorted(src[succ_order], np.arange(n + 1))
    succ = dst[succ_order].tolist()
    starts_list = starts.tolist()
    indeg = indegree.tolist()
    keys = key.tolist()
    free = [(keys[v], v) for v in range(n) if indeg[v] == 0]
    heapq.heapify(free)
    waiting = sorted(((keys[v], v) for v in range(n) if indeg[v] > 0), reverse=True)
    rank = [-1] * n
    placed = 0
    while placed < n:
        if free:
            _, v = heapq.heappop(free)
        else:  # a cycle: take the earliest unplaced node
            while rank[waiting[-1][1]] >= 0:
                waiting.pop()
            v = waiting.pop()[1]
        if rank[v] >= 0:
            continue
        rank[v] = placed
        placed += 1
        for w in succ[starts_list[v] : starts_list[v + 1]]:
            indeg[w] -= 1
            if indeg[w] == 0 and rank[w] < 0:
                heapq.heappush(free, (keys[w], w))
    return np.asarray(rank, dtype=np.int64)


def assign_layers(
    n: int,
    src: np.ndarray,
    dst: np.ndarray,
    top: np.ndarray,
    bottom: np.ndarray,
    component: np.ndarray | None = None,
) -> np.ndarray:
    """Longest-path layers for a DAG (edges go src -> dst, topologically ranked nodes).

    Sources are then pulled down to just above their first consumer (constants and
    weight nodes sit beside what reads them), ``top`` nodes pinned to layer 0 with every
    other node below, ``bottom`` nodes to the last layer (of their ``component``:
    independent graphs laid out in one call, each numbered from layer 0).
    """
    by_dst = np.argsort(dst, kind="stable")
    pred_starts = np.searchsorted(dst[by_dst], np.arange(n + 1)).tolist()
    preds = src[by_dst].tolist()
    by_src = np.argsort(src, kind="stable")
    succ_starts = np.searchsorted(src[by_src], np.arange(n + 1)).tolist()
    succs = dst[by_src].tolist()
    order = _topo_sequence(n, preds, pred_starts)
    first = 1 if top.any() else 0
    pinned_top, pinned_bottom = top.tolist(), bottom.tolist()
    layer = [0] * n
    for v in order:
        if pinned_top[v]:
            continue
        ps = preds[pred_starts[v] : pred_starts[v + 1]]
        layer[v] = max([layer[p] + 1 for p in ps], default=first)
    for v in reversed(order):  # pull sources down beside their consumers
        if pinned_top[v] or pinned_bottom[v] or pred_starts[v] != pred_starts[v + 1]:
            continue
        ss = succs[succ_starts[v] : succ_starts[v + 1]]
        if ss:
            layer[v] = max(layer[v], min(layer[s] for s in ss) - 1)
    result = np.asarray(layer, dtype=np.int64)
    group = np.zeros(n, np.int64) if component is None else np.asarray(component, np.int64)
    last = np.zeros(int(group.max()) + 1 if n else 1, np.int64)
    np.maximum.at(last, group[~bottom], result[~bottom])
    result[bottom] = last[group[bottom]] + 1
    # number layers 0, 1, 2... in each component (pulling sources down can empty one)
    codes = group * (int(result.max()) + 2) + result
    used, index = np.unique(codes, return_inverse=True)
    firsts = np.searchsorted(used, group * (int(result.max()) + 2))
    return index.reshape(-1) - firsts


def _topo_sequence(n: int, preds: list[int], starts: list[int]) -> list[int]:
    """Nodes in an order where every predecessor comes first (input must be a DAG)."""
    remaining = [starts[v + 1] - starts[v] for v in range(n)]
    succ: list[list[int]] = [[] for _ in range(n)]
    for v in range(n):
        for p in preds[starts[v] : starts[v + 1]]:
            succ[p].append(v)
    stack = [v for v in range(n - 1, -1, -1) if remaining[v] == 0]
    order = []
    while stack:
        v = stack.pop()
        order.append(v)
        for w in reversed(succ[v]):
            remaining[w] -= 1
            if remaining[w] == 0:
                stack.append(w)
    return order


def layered_layout(
    widths: np.ndarray,
    heights: np.ndarray,
    edges: np.ndarray,
    *,
    key: np.ndarray | None = None,
    top: np.ndarray | None = None,
    bottom: np.ndarray | None = None,
    anchor_in: np.ndarray | None = None,
    anchor_out: np.ndarray | None = None,
    centred: np.ndarray | None = None,
    spacing: Spacing | None = None,
    component: np.ndarray | None = None,
    count_crossings: bool = False,
) -> LayeredLayout:
    """Lay out boxes of the given sizes top to bottom along ``edges`` ((m, 2) src, dst).

    ``key`` orders nodes where the edges leave a choice (the model's own order);
    ``top``/``bottom`` pin nodes (a group's ports) to the first/last layer;
    ``anchor_in``/``anchor_out`` give, per node, the x offset from its left side where
    all incoming/outgoing edges meet (NaN: edges spread along the side); ``centred``
    nodes (a group's ports) keep to the middle of the drawing, so nested groups line up.
    ``component`` numbers independent graphs (no edge between them) to lay out in one
    call: each gets its own layers, and coordinates relative to its own top-left
    (``LayeredLayout.sizes`` holds each one's width and height).
    """
    spacing = spacing or Spacing()
    n = len(widths)
    w = np.asarray(widths, dtype=float)
    h = np.asarray(heights, dtype=float)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    key = np.arange(n, dtype=float) if key is None else np.asarray(key, dtype=float)
    top = np.zeros(n, bool) if top is None else np.asarray(top, bool)
    bottom = np.zeros(n, bool) if bottom is None else np.asarray(bottom, bool)
    a_in = np.full(n, np.nan) if anchor_in is None else np.asarray(anchor_in, float)
    a_out = np.full(n, np.nan) if anchor_out is None else np.asarray(anchor_out, float)
    if n == 0:
        empty = np.zeros(0)
        return LayeredLayout(
            empty, empty, empty.astype(np.int64), [], empty.astype(bool), 0.0, 0.0,
            sizes=np.zeros((1, 2)),
        )  # fmt: skip

    loops = edges[:, 0] == edges[:, 1]
    rank_key = np.where(top, -np.inf, np.where(bottom, np.inf, key))
    rank = topological_order(n, edges[~loops, 0], edges[~loops, 1], rank_key)
    flipped = rank[edges[:, 0]] > rank[edges[:, 1]]
    forward = np.where(flipped[:, None], edges[:, ::-1], edges)
    codes, inverse = np.unique(forward[~loops, 0] * n + forward[~loops, 1], return_inverse=True)
    unique = np.stack((codes // n, codes % n), axis=1)
    group = np.zeros(n, np.int64) if component is None else np.asarray(component, np.int64)
    layer = assign_layers(n, unique[:, 0], unique[:, 1], top, bottom, group)
    groups = int(group.max()) + 1
    depth = np.zeros(groups, np.int64)
    np.maximum.at(depth, group, layer + 1)
    first_layer = np.concatenate(([0], np.cumsum(depth)))[:-1]
    stacked = layer + first_layer[group]  # components on layers of their own

    centred = np.zeros(n, bool) if centred is None else np.asarray(centred, bool)
    chains = Chains.build(n, unique, stacked, w, h, top | bottom | centred, group, spacing)
    x = chains.coordinates(a_in, a_out, centred, spacing)
    band = np.zeros(chains.layers)
    np.maximum.at(band, chains.layer[:n], h)
    band_top = np.concatenate(([0.0], np.cumsum(band + spacing.layer_gap)))[:-1]
    left = np.full(groups, np.inf)
    right = np.full(groups, -np.inf)
    np.minimum.at(left, chains.component, x - chains.width / 2)
    np.maximum.at(right, chains.component, x + chains.width / 2)
    x -= left[chains.component]
    top_y = band_top[first_layer]
    last = first_layer + depth - 1
    sizes = np.stack((right - left, band_top[last] + band[last] - top_y), axis=1)
    y_abs = band_top[stacked] + (band[stacked] - h) / 2

    unique_routes = chains.routes(x, y_abs, band_top, band, a_in, a_out, spacing)
    lift = np.stack((np.zeros(len(unique)), top_y[group[unique[:, 0]]]), axis=1)
    routes: list[np.ndarray] = []
    keep = np.flatnonzero(~loops)
    slot = np.full(len(edges), -1)
    slot[keep] = inverse.reshape(-1)
    for index, at in enumerate(slot.tolist()):
        if at < 0:
            routes.append(np.zeros((0, 2)))
            continue
        route = unique_routes[at] - lift[at]
        routes.append(route[::-1] if flipped[index] else route)
    width, height = float(sizes[:, 0].max()), float(sizes[:, 1].max())
    crossings = chains.crossings(x) if count_crossings else None
    y = y_abs - top_y[group]
    return LayeredLayout(
        x[:n], y, layer, routes, flipped & ~loops, width, height, crossings, sizes=sizes
    )
