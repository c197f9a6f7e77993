"""The inner steps of ``layout.layered_layout``: ordering (igraph), coordinates, routes.

Kept apart from ``layout`` only for size; see its docstring for the method and why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Spacing:
    """Gaps between boxes in pixels (the view's units)."""

    node_gap: float = 28.0  # between boxes in one layer
    dummy_gap: float = 10.0  # between an edge passing through a layer and its neighbours
    dummy_width: float = 4.0
    layer_gap: float = 34.0  # vertical space between layers, where edges bend
    port_step: float = 10.0  # distance between edge ends on one side of a box
    smoothing: int = 24  # neighbour-averaging rounds of the coordinate assignment
    sweeps: int = 24  # igraph's crossing-reduction iterations


@dataclass
class Chains:
    """Nodes plus the dummies of long edges, and the unit-span segments joining them."""

    n: int
    layers: int
    layer: np.ndarray  # (N,) nodes first, then dummies
    component: np.ndarray  # which independent graph each item belongs to
    width: np.ndarray
    height: np.ndarray
    dummy: np.ndarray
    x0: np.ndarray  # igraph's position: only its order within a layer is used
    src: np.ndarray  # unique edges
    dst: np.ndarray
    first: np.ndarray  # per edge: index of its first dummy among the dummies
    count: np.ndarray  # per edge: number of dummies
    seg_a: np.ndarray
    seg_b: np.ndarray

    @classmethod
    def build(cls, n, unique, layer, w, h, pinned, component, spacing: Spacing) -> Chains:
        import igraph

        src, dst = unique[:, 0], unique[:, 1]
        count = layer[dst] - layer[src] - 1
        x0 = np.zeros(n)
        dummy_x = None
        # Constants feeding one node that has other inputs (an ONNX Identity passing a
        # weight on) are left out of the ordering and put beside what reads them: as
        # ordinary nodes they would pull every chain they feed into a zigzag.
        fan_in = np.bincount(dst, minlength=n)
        fan_out = np.bincount(src, minlength=n)
        aside = (fan_in[src] == 0) & (fan_out[src] == 1) & (fan_in[dst] >= 2) & (count == 0)
        aside &= ~pinned[src]
        routes: list[list] = [[] for _ in range(len(unique))]
        for nodes, edges in _components(n, unique, component, aside):
            if not len(edges):
                continue
            local = np.empty(n, dtype=np.int64)
            local[nodes] = np.arange(len(nodes))
            graph = igraph.Graph(n=len(nodes), edges=local[unique[edges]].tolist(), directed=True)
            own = layer[nodes]
            result = graph.layout_sugiyama(
                layers=(own - own.min()).tolist(), hgap=1, maxiter=spacing.sweeps
            )
            x0[nodes] = np.asarray(result.coords, dtype=float).reshape(-1, 2)[: len(nodes), 0]
            for index, route in zip(edges.tolist(), result.edge_routing, strict=True):
                routes[index] = route
        if aside.any():
            x0[src[aside]] = x0[dst[aside]] + 0.75 * _free_side(x0, layer, src[aside], dst[aside])
        got = np.fromiter((len(r) for r in routes), np.int64, len(routes))
        if np.array_equal(got, count):
            dummy_x = np.asarray([p[0] for r in routes for p in r], dtype=float)
        first = np.concatenate(([0], np.cumsum(count)))[:-1]
        total = int(count.sum())
        edge_of = np.repeat(np.arange(len(unique)), count)
        within = np.arange(total) - first[edge_of]
        if dummy_x is None:  # igraph routed differently: interpolate between the ends
            t = (within + 1) / (count[edge_of] + 1)
            dummy_x = x0[src[edge_of]] * (1 - t) + x0[dst[edge_of]] * t
        ids = n + np.arange(total)
        prev = np.where(within == 0, src[edge_of], ids - 1)
        last = np.where(count > 0, n + first + count - 1, src)
        return cls(
            n=n,
            layers=int(layer.max()) + 1,
            layer=np.concatenate((layer, layer[src[edge_of]] + 1 + within)),
            component=np.concatenate((component, component[src[edge_of]])),
            width=np.concatenate((w, np.full(total, spacing.dummy_width))),
            height=np.concatenate((h, np.zeros(total))),
            dummy=np.concatenate((np.zeros(n, bool), np.ones(total, bool))),
            x0=np.concatenate((x0, dummy_x)),
            src=src,
            dst=dst,
            first=first,
            count=count,
            seg_a=np.concatenate((prev, last)).astype(np.int64),
            seg_b=np.concatenate((ids, dst)).astype(np.int64),
        )

    def coordinates(self, a_in, a_out, centred, spacing: Spacing) -> np.ndarray:
        """Centre x of every item: igraph's order kept, real widths respected.

        Items are aligned into vertical blocks first (each with its median upper
        neighbour, as in Brandes and Köpf), so chains and long edges run straight; then
        rounds of damped neighbour averaging (dummy chains weigh more, as in dot) move
        whole blocks, each round projected back onto every layer's separations.
        """
        size, n = len(self.layer), self.n
        seq = np.lexsort((self.x0, self.layer))
        where = np.empty(size, dtype=np.int64)
        where[seq] = np.arange(size)
        lay, wid, dum = self.layer[seq], self.width[seq], self.dummy[seq]
        same = lay[1:] == lay[:-1]
        gap = np.where(dum[1:] | dum[:-1], spacing.dummy_gap, spacing.node_gap)
        sep = np.where(same, (wid[1:] + wid[:-1]) / 2 + gap, 0.0)
        cum = np.concatenate(([0.0], np.cumsum(sep)))
        starts = np.flatnonzero(np.concatenate(([True], ~same)))
        offset = cum - np.repeat(cum[starts], np.diff(np.append(starts, size)))

        def project(desired_seq: np.ndarray) -> np.ndarray:
            free = desired_seq - offset
            lift = lay * (2.0 * (free.max() - free.min() + 1.0))
            left = np.maximum.accumulate(free + lift) - lift
            right = np.minimum.accumulate((free + lift)[::-1])[::-1] - lift
            return offset + (left + right) / 2

        a, b = self.seg_a, self.seg_b
        pinned = np.zeros(size, bool)
        pinned[:n] = centred
        fed = np.zeros(size, bool)
        fed[b] = True
        loose = ~fed & ~self.dummy & ~pinned  # constants, sources with nothing above
        fan_in = np.bincount(b, minlength=size)
        aside = loose[a] & ~self.dummy[b] & (fan_in[b] >= 2)
        side = np.where(self.x0[a] > self.x0[b], 1.0, -1.0)
        reach = self.width[a] / 2 + spacing.node_gap + self.width[b] / 2
        weight = np.where(self.dummy[a] & self.dummy[b], 8.0, 1.0)
        weight = np.where(self.dummy[a] ^ self.dummy[b], 0.5, weight)
        weight = np.where(loose[a], 0.2, weight)
        off_a = np.where(a < n, a_out[np.minimum(a, n - 1)] - self.width[a] / 2, 0.0)
        off_b = np.where(b < n, a_in[np.minimum(b, n - 1)] - self.width[b] / 2, 0.0)
        shift = np.nan_to_num(off_a - off_b)  # x_b should be x_a + shift
        shift = np.where(aside, shift - side * reach, shift)  # a constant sits beside
        block = self._blocks(where, aside, pinned)[seq]
        members = np.bincount(block, minlength=size).astype(float)

        def rigid(values: np.ndarray) -> np.ndarray:
            return (np.bincount(block, values, size) / np.maximum(members, 1.0))[block]

        unit = float(np.median(self.width[:n])) * 0.6 + spacing.node_gap
        start = self.x0 * unit
        start[a[aside]] = start[b[aside]] + side[aside] * reach[aside]
        xs = project(rigid(start[seq]))
        a, b = where[a], where[b]  # sequence order from here on
        total = np.bincount(b, weight, size) + np.bincount(a, weight, size)
        scale = np.where(total > 0, 0.5 / np.maximum(total, 1e-12), 0.0)
        keep = np.where(total > 0, 0.5, 1.0)  # damped: plain averaging would oscillate
        constant = np.bincount(b, weight * shift, size) - np.bincount(a, weight * shift, size)
        pinned, body = pinned[seq], ~pinned[seq] & ~self.dummy[seq]
        half = wid / 2
        comp = self.component[seq]
        groups = int(self.component.max()) + 1
        for _ in range(spacing.smoothing if len(a) else 0):
            pull = np.bincount(b, weight * xs[a], size) + np.bincount(a, weight * xs[b], size)
            desired = rigid(keep * xs + scale * (pull + constant))
            if pinned.any() and body.any():  # ports keep to the middle of their graph
                low = np.full(groups, np.inf)
                high = np.full(groups, -np.inf)
                np.minimum.at(low, comp[body], (xs - half)[body])
                np.maximum.at(high, comp[body], (xs + half)[body])
                middle = ((low + high) / 2)[comp]
                desired[pinned] = np.where(np.isfinite(middle), middle, xs)[pinned]
            moved = project(desired)
            still = np.abs(moved - xs).max() < 0.25  # converged (in pixels)
            xs = moved
            if still:
                break
        x = np.empty(size)
        x[seq] = xs
        return x

    def _blocks(self, where: np.ndarray, aside: np.ndarray, pinned: np.ndarray) -> np.ndarray:
        """Block id per item: each item joins its median upper neighbour's block unless
        that neighbour is taken or the link would cross one made before (Brandes-Köpf)."""
        size = len(self.layer)
        links = ~aside & ~pinned[self.seg_a] & ~pinned[self.seg_b]
        a, b = self.seg_a[links], self.seg_b[links]
        order = np.lexsort((where[a], b))
        a, b = a[order].tolist(), b[order].tolist()
        ups: dict[int, list[int]] = {}
        for u, v in zip(a, b, strict=True):
            ups.setdefault(v, []).append(u)
        block = list(range(size))
        taken = [False] * size
        position = where.tolist()
        layer = self.layer.tolist()
        dummy = self.dummy.tolist()
        current, limit = -1, -1
        for v in np.argsort(where).tolist():
            if layer[v] != current:
                current, limit = layer[v], -1
            us = ups.get(v)
            if not us:
                continue
            d = len(us)
            medians = dict.fromkeys((us[(d - 1) // 2], us[d // 2]))
            for u in sorted(medians, key=lambda u: dummy[u]):  # real nodes first
                if not taken[u] and position[u] > limit:
                    taken[u] = True
                    block[v] = block[u]
                    limit = position[u]
                    break
        return np.asarray(block, dtype=np.int64)

    def routes(self, x, y, band_top, band, a_in, a_out, spacing: Spacing) -> list[np.ndarray]:
        """One polyline per unique edge: out of the source's bottom, through its dummies
        (down each layer they cross), into the target's top."""
        n, a, b = self.n, self.seg_a, self.seg_b
        start_x = self._ports(a, b, x, a_out, spacing)
        end_x = self._ports(b, a, x, a_in, spacing)
        lay = self.layer
        bottom = np.where(a < n, y[np.minimum(a, n - 1)] + self.height[a], 0.0)
        bottom = np.where(a < n, bottom, band_top[lay[a]] + band[lay[a]])
        top = np.where(b < n, y[np.minimum(b, n - 1)], band_top[lay[b]])
        m = len(self.src)
        dummies = len(lay) - n
        length = 2 * self.count + 2
        begin = np.concatenate(([0], np.cumsum(length)))[:-1]
        points = np.empty((int(length.sum()), 2))
        first_segment = np.where(self.count > 0, self.first, dummies + np.arange(m))
        points[begin, 0] = start_x[first_segment]
        points[begin, 1] = bottom[first_segment]
        points[begin + length - 1, 0] = end_x[dummies + np.arange(m)]
        points[begin + length - 1, 1] = top[dummies + np.arange(m)]
        if dummies:
            edge_of = np.repeat(np.arange(m), self.count)
            within = np.arange(dummies) - self.first[edge_of]
            slot = begin[edge_of] + 1 + 2 * within
            ids = n + np.arange(dummies)
            points[slot, 0] = x[ids]
            points[slot, 1] = band_top[lay[ids]]
            points[slot + 1, 0] = x[ids]
            points[slot + 1, 1] = band_top[lay[ids]] + band[lay[ids]]
        return np.split(points, begin[1:]) if m else []

    def _ports(self, own, other, x, anchor, spacing: Spacing) -> np.ndarray:
        """Where each segment meets the box ``own``: its anchor, or spread along the side
        in the order of the boxes at the other end (so fanned edges do not cross)."""
        n = self.n
        result = x[own].copy()
        real = own < n
        if not real.any():
            return result
        order = np.lexsort((x[other], own))
        sorted_own = own[order]
        new = np.concatenate(([True], sorted_own[1:] != sorted_own[:-1]))
        group_start = np.flatnonzero(new)
        sizes = np.diff(np.append(group_start, len(own)))
        rank = np.arange(len(own)) - np.repeat(group_start, sizes)
        k = np.repeat(sizes, sizes)
        width = self.width[sorted_own]
        step = np.minimum(spacing.port_step, (width - 8) / np.maximum(k - 1, 1))
        spread = np.empty(len(own))
        spread[order] = (rank - (k - 1) / 2) * np.maximum(step, 0)
        fixed = anchor[np.minimum(own, n - 1)]
        anchored = real & ~np.isnan(fixed)
        result = np.where(real, result + spread, result)
        left = x[own] - self.width[own] / 2
        return np.where(anchored, left + np.where(anchored, fixed, 0.0), result)

    def crossings(self, x: np.ndarray, budget: int = 5_000_000) -> int | None:
        """Edge crossings between adjacent layers (None when too many pairs to check)."""
        a, b = self.seg_a, self.seg_b
        order = np.argsort(self.layer[a], kind="stable")
        a, b = a[order], b[order]
        lay = self.layer[a]
        new = np.concatenate(([True], lay[1:] != lay[:-1]))
        starts = np.flatnonzero(new)
        sizes = np.diff(np.append(starts, len(a)))
        partners = np.repeat(starts + sizes, sizes) - np.arange(len(a)) - 1
        if partners.sum() > budget:
            return None
        i = np.repeat(np.arange(len(a)), partners)
        j = i + 1 + (np.arange(len(i)) - np.repeat(np.cumsum(partners) - partners, partners))
        return int(np.count_nonzero((x[a[i]] - x[a[j]]) * (x[b[i]] - x[b[j]]) < 0))


def _components(n: int, unique: np.ndarray, component: np.ndarray, aside: np.ndarray):
    """(nodes, edge indices) per component, the edges to put beside left out.

    igraph is called once per component: python-igraph 1.0's layout_sugiyama crashes
    (SIGSEGV) on some graphs made of several components stacked on separate layers.
    """
    if len(component) and component.max() == 0:
        yield np.arange(n), np.flatnonzero(~aside)
        return
    node_order = np.argsort(component, kind="stable")
    node_bounds = np.searchsorted(component[node_order], np.arange(component.max() + 2))
    edge_component = component[unique[:, 0]] if len(unique) else np.zeros(0, np.int64)
    edge_order = np.argsort(edge_component, kind="stable")
    edge_bounds = np.searchsorted(edge_component[edge_order], np.arange(component.max() + 2))
    for c in range(int(component.max()) + 1):
        edges = edge_order[edge_bounds[c] : edge_bounds[c + 1]]
        yield node_order[node_bounds[c] : node_bounds[c + 1]], edges[~aside[edges]]


def _free_side(x0: np.ndarray, layer: np.ndarray, nodes: np.ndarray, beside: np.ndarray):
    """-1 or +1 per node: the side of ``beside`` (in the node's layer) with fewer others."""
    order = np.lexsort((x0, layer))
    sorted_layer, sorted_x = layer[order], x0[order]
    own = layer[nodes]
    lo = np.searchsorted(sorted_layer, own, side="left")
    hi = np.searchsorted(sorted_layer, own, side="right")
    sides = []
    for start, stop, x in zip(lo.tolist(), hi.tolist(), x0[beside].tolist(), strict=True):
        row = sorted_x[start:stop]
        sides.append(1.0 if np.count_nonzero(row > x) < np.count_nonzero(row < x) else -1.0)
    return np.asarray(sides)
