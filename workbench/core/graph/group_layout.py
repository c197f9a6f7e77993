"""The nested layout of a graph's visible part: one layered layout per expanded group.

See ``hierarchy`` for the idea. ``HierarchyLayout.compute(expanded)`` returns boxes and
edge polylines in absolute coordinates, ready for a canvas; the layouts of groups whose
content did not change since the last call are reused, so expanding or collapsing one
group costs the layouts of that group and its ancestors only. Box sizes come from a
``text_width(text, bold)`` function, so the canvas can measure with its own font.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from workbench.core.context import RunContext
from workbench.core.graph.hierarchy import (
    IN_PORT,
    OUT_PORT,
    ROOT,
    Group,
    GroupPath,
    Hierarchy,
    Segment,
)
from workbench.core.graph.layout import Spacing, layered_layout

TextWidth = Callable[[str, bool], float]
BATCH_UNITS = 4000  # boxes per layout call: bigger batches, fewer but longer GIL holds


def approximate_text_width(text: str, bold: bool) -> float:
    """A stand-in for font metrics (about a 9 pt sans-serif) when none are given."""
    return len(text) * (7.2 if bold else 6.6)


@dataclass(frozen=True)
class BoxStyle:
    """Box sizes in the canvas's pixels."""

    node_height: float = 40.0
    group_height: float = 44.0
    terminal_height: float = 32.0
    text_pad: float = 12.0  # left and right of the text in a box
    min_width: float = 64.0
    max_width: float = 320.0  # longer text is elided when drawn
    frame_pad: float = 16.0  # left and right inside an expanded group's frame
    spacing: Spacing = field(default_factory=Spacing)


@dataclass
class Box:
    kind: str  # "node", "input", "output", "group" (collapsed) or "frame" (expanded)
    ref: int | GroupPath  # leaf index, or group path
    x: float  # top-left, absolute
    y: float
    w: float
    h: float
    depth: int  # of the group holding it (frames: of the group itself)
    title: str
    subtitle: str


@dataclass
class Route:
    """One drawn edge piece: a polyline inside one group between two of its units."""

    points: np.ndarray  # (k, 2) absolute, from source to target
    group: GroupPath
    segment: Segment
    arrow: bool  # ends at a box (not at a port or a frame's border)


@dataclass
class GraphLayout:
    boxes: list[Box]
    routes: list[Route]
    width: float
    height: float
    expanded: frozenset[GroupPath]
    _edge_index: tuple[np.ndarray, np.ndarray] | None = None

    def routes_of_edges(self, edges: list[int] | np.ndarray) -> np.ndarray:
        """Indices of routes that carry any of these (``Hierarchy.edges``) edges."""
        if self._edge_index is None:
            lengths = [len(r.segment.edges) for r in self.routes]
            flat = [e for r in self.routes for e in r.segment.edges]
            owner = np.repeat(np.arange(len(self.routes)), lengths)
            self._edge_index = (np.asarray(flat, dtype=np.int64), owner)
        flat, owner = self._edge_index
        return np.unique(owner[np.isin(flat, np.asarray(edges, dtype=np.int64))])


@dataclass
class _Placed:
    """One expanded group laid out in its own frame (coordinates relative to it)."""

    units: list[int]
    x: np.ndarray  # left
    y: np.ndarray  # top
    w: np.ndarray
    h: np.ndarray
    routes: list[np.ndarray]
    segments: list[Segment]
    width: float
    height: float
    in_x: float
    out_x: float
    children: dict[int, _Placed]  # unit code -> layout of an expanded child group


class HierarchyLayout:
    """Lays out a ``Hierarchy`` for any set of expanded groups, reusing what it can."""

    def __init__(
        self,
        hierarchy: Hierarchy,
        text_width: TextWidth | None = None,
        style: BoxStyle | None = None,
    ) -> None:
        self.hierarchy = hierarchy
        self.text_width = text_width or approximate_text_width
        self.style = style or BoxStyle()
        self._cache: dict[GroupPath, _Placed] = {}
        self._widths: dict[tuple[str, bool], float] = {}
        self._lock = threading.Lock()
        self._group_of_code = {code: path for path, code in hierarchy.codes.items()}

    def compute(self, expanded: set[GroupPath], ctx: RunContext | None = None) -> GraphLayout:
        """Boxes and routes for ``expanded`` groups (the root is always expanded)."""
        ctx = ctx or RunContext()
        expanded = {p for p in expanded if p in self.hierarchy.groups} | {ROOT}
        # a group shows only when all its ancestors are expanded
        groups = self.hierarchy.groups
        shown = {ROOT}
        stack = [ROOT]
        while stack:
            for child in groups[stack.pop()].groups:
                if child in expanded:
                    shown.add(child)
                    stack.append(child)
        with self._lock:
            placed = self._place_all(shown, ctx)
            root = placed[ROOT]
            layout = GraphLayout([], [], root.width, root.height, frozenset(shown))
            self._emit(ROOT, root, 0.0, 0.0, layout)
        return layout

    # -- sizes ------------------------------------------------------------------------

    def _text(self, text: str, bold: bool) -> float:
        width = self._widths.get((text, bold))
        if width is None:
            width = self._widths[text, bold] = float(self.text_width(text, bold))
        return width

    def _box_size(self, title: str, subtitle: str, height: float) -> tuple[float, float]:
        style = self.style
        text = max(self._text(title, True), self._text(subtitle, False))
        return min(max(text + 2 * style.text_pad, style.min_width), style.max_width), height

    def _unit_text(self, code: int) -> tuple[str, str]:
        hierarchy = self.hierarchy
        if code < hierarchy.leaf_count:
            return hierarchy.leaf_text(code)
        return group_text(hierarchy.groups[self._group_of_code[code]])

    # -- layout -----------------------------------------------------------------------

    def _place_all(self, shown: set[GroupPath], ctx: RunContext) -> dict[GroupPath, _Placed]:
        """Lay out the shown groups bottom-up; the groups of one height (innermost first)
        go through ``layered_layout`` together, as independent components of one call,
        so thousands of small groups cost a few vectorised passes, not thousands."""
        hierarchy = self.hierarchy
        groups, codes = hierarchy.groups, hierarchy.codes
        height: dict[GroupPath, int] = {}
        for path in sorted(shown, key=lambda p: -groups[p].depth):
            inner = [height[c] for c in groups[path].groups if c in shown]
            height[path] = 1 + max(inner, default=-1)
        placed: dict[GroupPath, _Placed] = {}
        done = 0
        for level in range(max(height.values()) + 1):
            batch = []
            for path in (p for p in height if height[p] == level):
                children = {codes[c]: placed[c] for c in groups[path].groups if c in shown}
                cached = self._cache.get(path)
                if cached is not None and _same(cached.children, children):
                    placed[path] = cached
                else:
                    batch.append((path, children))
            while batch:
                ctx.check()
                part, size = [], 0
                while batch and (not part or size < BATCH_UNITS):
                    part.append(batch.pop())
                    size += len(groups[part[-1][0]].leaves) + len(groups[part[-1][0]].groups)
                for (path, _), result in zip(part, self._lay_out(part), strict=True):
                    placed[path] = self._cache[path] = result
                done += len(part)
                ctx.report(min(done / len(shown), 1.0), "laying out the graph")
        return placed

    def _lay_out(self, part: list[tuple[GroupPath, dict[int, _Placed]]]) -> list[_Placed]:
        problems = [self._problem(path, children) for path, children in part]
        offsets = np.cumsum([0, *(len(p["w"]) for p in problems)])
        edge_offsets = np.cumsum([0, *(len(p["edges"]) for p in problems)])
        joined = {
            name: np.concatenate([p[name] for p in problems])
            for name in ("w", "h", "a_in", "a_out", "key", "top", "bottom")
        }
        edges = np.concatenate([p["edges"] + offsets[i] for i, p in enumerate(problems)]).reshape(
            -1, 2
        )
        component = np.repeat(np.arange(len(problems)), np.diff(offsets))
        result = layered_layout(
            joined["w"], joined["h"], edges, key=joined["key"], top=joined["top"],
            bottom=joined["bottom"], anchor_in=joined["a_in"], anchor_out=joined["a_out"],
            centred=joined["top"] | joined["bottom"], spacing=self.style.spacing,
            component=component,
        )  # fmt: skip
        out = []
        for i, ((path, children), problem) in enumerate(zip(part, problems, strict=True)):
            lo, count = int(offsets[i]), len(problem["units"])
            w, x = problem["w"][:count], result.x[lo : lo + count]
            pad = self.style.frame_pad if path != ROOT else 0.0
            ports = path != ROOT
            out.append(
                _Placed(
                    units=problem["units"],
                    x=x - w / 2 + pad,
                    y=result.y[lo : lo + count],
                    w=w,
                    h=problem["h"][:count],
                    routes=[
                        r + np.array([pad, 0.0])
                        for r in result.routes[edge_offsets[i] : edge_offsets[i + 1]]
                    ],
                    segments=problem["segments"],
                    width=float(result.sizes[i, 0]) + 2 * pad,
                    height=float(result.sizes[i, 1]),
                    in_x=float(result.x[lo + count]) + pad if ports else 0.0,
                    out_x=float(result.x[lo + count + 1]) + pad if ports else 0.0,
                    children=children,
                )
            )
        return out

    def _problem(self, path: GroupPath, children: dict[int, _Placed]) -> dict:
        """One group's units (nodes, child groups, then its two ports) and edges."""
        hierarchy = self.hierarchy
        group = hierarchy.groups[path]
        units = sorted(
            [*group.leaves, *(hierarchy.codes[c] for c in group.groups)], key=self._unit_key
        )
        count = len(units)
        ports = path != ROOT
        size = count + (2 if ports else 0)
        w, h = np.zeros(size), np.zeros(size)
        a_in, a_out = np.full(size, np.nan), np.full(size, np.nan)
        for i, code in enumerate(units):
            inner = children.get(code)
            if inner is not None:
                w[i], h[i] = inner.width, inner.height
                a_in[i], a_out[i] = inner.in_x, inner.out_x
            else:
                w[i], h[i] = self._box_size(*self._unit_text(code), self._unit_height(code))
        local = {code: i for i, code in enumerate(units)}
        top, bottom = np.zeros(size, bool), np.zeros(size, bool)
        if ports:
            local[IN_PORT], local[OUT_PORT] = count, count + 1
            top[count], bottom[count + 1] = True, True
        segments = hierarchy.segments[path]
        edges = np.array([(local[s.source], local[s.target]) for s in segments], dtype=np.int64)
        key = np.array([*(self._unit_key(c) for c in units), -1, 1e18][:size], dtype=float)
        return {
            "units": units, "w": w, "h": h, "a_in": a_in, "a_out": a_out, "key": key,
            "top": top, "bottom": bottom, "edges": edges.reshape(-1, 2), "segments": segments,
        }  # fmt: skip

    def _unit_key(self, code: int) -> float:
        hierarchy = self.hierarchy
        if code < hierarchy.leaf_count:
            return float(hierarchy.leaf_key[code])
        return hierarchy.groups[self._group_of_code[code]].key

    def _unit_height(self, code: int) -> float:
        hierarchy, style = self.hierarchy, self.style
        if code >= hierarchy.leaf_count:
            return style.group_height
        return style.node_height if code < hierarchy.node_count else style.terminal_height

    def _emit(self, path: GroupPath, placed: _Placed, ox: float, oy: float, out: GraphLayout):
        hierarchy = self.hierarchy
        depth = hierarchy.groups[path].depth
        if path != ROOT:
            group = hierarchy.groups[path]
            out.boxes.append(
                Box("frame", path, ox, oy, placed.width, placed.height, depth, *group_text(group))
            )
        for i, code in enumerate(placed.units):
            x, y = ox + float(placed.x[i]), oy + float(placed.y[i])
            inner = placed.children.get(code)
            if inner is not None:
                self._emit(self._group_of_code[code], inner, x, y, out)
                continue
            w, h = float(placed.w[i]), float(placed.h[i])
            if code < hierarchy.leaf_count:
                kind, ref = hierarchy.leaf_kind(code), code
            else:
                kind, ref = "group", self._group_of_code[code]
            out.boxes.append(Box(kind, ref, x, y, w, h, depth, *self._unit_text(code)))
        for segment, points in zip(placed.segments, placed.routes, strict=True):
            target = segment.target
            arrow = target >= 0 and target not in placed.children
            out.routes.append(Route(points + np.array([ox, oy]), path, segment, arrow))


def group_text(group: Group) -> tuple[str, str]:
    """A group box's two lines: "layer ×12" over "12 blocks · 408 nodes" for a fold of
    repeated blocks, its name over its node count for a scope."""
    if group.repeat:
        return group.label, f"{group.repeat} blocks · {group.size} nodes"
    return group.label, f"{group.size} nodes"


def _same(old: dict[int, _Placed], new: dict[int, _Placed]) -> bool:
    """The same expanded children, each with the very layout it had."""
    return old.keys() == new.keys() and all(old[k] is v for k, v in new.items())
