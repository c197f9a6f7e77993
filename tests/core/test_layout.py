"""The layered layout and the hierarchy of groups: readable, complete, and consistent."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.big_graphs import build_big_graph, build_chain_graph

from workbench.core.context import Cancelled, RunContext
from workbench.core.graph.group_layout import HierarchyLayout
from workbench.core.graph.hierarchy import ROOT, Hierarchy
from workbench.core.graph.layout import Spacing, layered_layout
from workbench.core.graph.model import Graph, Node, TensorInfo


def _boxes_overlap(x, y, w, h) -> bool:
    """Any two boxes intersecting (x are centres, y tops)."""
    left, right, top, bottom = x - w / 2, x + w / 2, y, y + h
    for i in range(len(x)):
        inside = (left < right[i]) & (right > left[i]) & (top < bottom[i]) & (bottom > top[i])
        inside[i] = False
        if inside.any():
            return True
    return False


def test_a_diamond_is_layered_top_to_bottom_without_overlaps() -> None:
    widths, heights = np.array([80.0, 120, 60, 90]), np.full(4, 40.0)
    edges = np.array([(0, 1), (0, 2), (1, 3), (2, 3)])
    result = layered_layout(widths, heights, edges, count_crossings=True)
    assert list(result.layer) == [0, 1, 1, 2]
    assert not _boxes_overlap(result.x, result.y, widths, heights)
    assert result.crossings == 0
    for (a, b), route in zip(edges, result.routes, strict=True):
        assert route[0][1] == pytest.approx(result.y[a] + heights[a])  # leaves the bottom
        assert route[-1][1] == pytest.approx(result.y[b])  # enters the top
        assert abs(route[0][0] - result.x[a]) <= widths[a] / 2
        assert abs(route[-1][0] - result.x[b]) <= widths[b] / 2


def test_a_long_edge_runs_straight_past_the_chain_it_skips() -> None:
    """A residual block: the skip edge bends around the chain, boxes stay in line."""
    edges = np.array([(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)])
    widths = np.full(5, 100.0)
    result = layered_layout(widths, np.full(5, 40.0), edges)
    skip = result.routes[4]
    assert len(skip) == 2 + 2 * 3  # through three layers
    chain_x = result.x[[1, 2, 3]]
    assert np.ptp(chain_x) < 1.0  # the chain is straight
    middle = skip[1:-1]
    assert np.ptp(middle[:, 0]) < 1.0  # so is the skip edge
    assert abs(middle[0, 0] - chain_x[0]) >= 50 + Spacing().dummy_gap  # beside, not through


def test_cycles_are_broken_and_drawn_back_up() -> None:
    edges = np.array([(0, 1), (1, 2), (2, 0)])
    result = layered_layout(np.full(3, 50.0), np.full(3, 30.0), edges)
    assert result.reversed.sum() == 1
    back = int(np.flatnonzero(result.reversed)[0])
    a, b = edges[back]
    route = result.routes[back]
    assert route[0][1] < result.y[a] + 1  # leaves the source's top...
    assert route[-1][1] > result.y[b]  # ...and enters the target from below


def test_self_loops_and_duplicate_edges_are_tolerated() -> None:
    edges = np.array([(0, 0), (0, 1), (0, 1)])
    result = layered_layout(np.full(2, 50.0), np.full(2, 30.0), edges)
    assert len(result.routes[0]) == 0
    assert np.array_equal(result.routes[1], result.routes[2])


def test_ports_are_pinned_to_the_first_and_last_layer_in_the_middle() -> None:
    # ports 0 (in) and 4 (out) around a fan: 0 -> 1, 2 -> 3 -> 4
    edges = np.array([(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)])
    widths = np.array([0.0, 100, 160, 80, 0])
    top, bottom = np.zeros(5, bool), np.zeros(5, bool)
    top[0], bottom[4] = True, True
    result = layered_layout(
        widths, np.array([0.0, 40, 40, 40, 0]), edges, top=top, bottom=bottom,
        centred=top | bottom,
    )  # fmt: skip
    assert result.layer[0] == 0 and result.layer[4] == result.layer.max()
    body_left = (result.x[1:4] - widths[1:4] / 2).min()
    body_right = (result.x[1:4] + widths[1:4] / 2).max()
    assert result.x[0] == pytest.approx((body_left + body_right) / 2, abs=4.0)


def test_components_are_laid_out_independently_in_one_call() -> None:
    edges = np.array([(0, 1), (2, 3), (3, 4)])
    component = np.array([0, 0, 1, 1, 1])
    widths = np.array([60.0, 60, 200, 80, 80])
    together = layered_layout(widths, np.full(5, 40.0), edges, component=component)
    alone = layered_layout(widths[2:], np.full(3, 40.0), edges[1:] - 2)
    assert np.allclose(together.x[2:], alone.x)
    assert np.allclose(together.y[2:], alone.y)
    assert together.sizes[1] == pytest.approx([alone.width, alone.height])
    assert together.y[0] == 0 and together.y[2] == 0  # each from its own top


def test_ten_thousand_node_graph_has_no_overlaps_and_few_crossings() -> None:
    graph = build_big_graph(10_000, scoped=False)
    hierarchy = Hierarchy(graph)
    n = len(graph.nodes)
    edges = hierarchy.edges[(hierarchy.edges < n).all(axis=1)]
    widths = np.full(n, 110.0)
    result = layered_layout(widths, np.full(n, 40.0), edges, count_crossings=True)
    order = np.lexsort((result.x, result.layer))
    same = result.layer[order][1:] == result.layer[order][:-1]
    gaps = np.diff(result.x[order])[same]
    spacing = Spacing()  # two boxes have an edge between them, or the full gap
    assert gaps.min() >= 110 + 2 * spacing.dummy_gap + spacing.dummy_width - 1e-6
    assert np.median(gaps) >= 110 + spacing.node_gap - 1e-6
    assert result.crossings is not None and result.crossings < 0.05 * len(edges)


# -- hierarchy ---------------------------------------------------------------------------


def _node(name: str, op: str, inputs: list[str], scope: tuple[str, ...] = ()) -> Node:
    return Node(id=name, name=name, op_type=op, scope=scope, inputs=inputs, outputs=[name])


def _tiny_graph() -> Graph:
    """x -> block.0 (conv, relu) -> block.1 (conv, relu) -> head.fc; a weight Identity."""
    nodes = [
        _node("w", "Identity", ["w_init"]),
        _node("c0", "Conv", ["x", "w"], ("block", "0", "conv")),
        _node("r0", "Relu", ["c0"], ("block", "0")),
        _node("c1", "Conv", ["r0"], ("block", "1", "conv")),
        _node("r1", "Relu", ["c1"], ("block", "1")),
        _node("a", "Add", ["r1", "r0"], ("block",)),
        _node("fc", "Gemm", ["a"], ("head", "fc")),
    ]
    graph = Graph("tiny", "onnx", nodes=nodes, inputs=["x"], outputs=["fc"])
    for node in nodes:
        graph.tensors[node.id] = TensorInfo(node.id, (1, 8), "float32")
    graph.tensors["x"] = TensorInfo("x", (1, 8), "float32")
    return graph


def test_scopes_become_groups_and_one_node_scopes_do_not() -> None:
    hierarchy = Hierarchy(_tiny_graph())
    assert set(hierarchy.groups) == {ROOT, ("block",), ("block", "0"), ("block", "1")}
    index = hierarchy.index
    assert hierarchy.leaf_group[index["c0"]] == ("block", "0")  # its own scope held one node
    assert hierarchy.leaf_group[index["fc"]] == ROOT  # "head" and "head/fc" held one node
    assert hierarchy.leaf_group[index["w"]] == ("block", "0")  # a constant joins its reader
    assert hierarchy.groups[("block",)].size == 6
    assert hierarchy.groups[("block", "0")].label == "block.0"


def test_group_labels_read_like_module_paths() -> None:
    from workbench.core.graph.hierarchy import _label

    assert _label(("stages", "0", "0"), ("stages", "0")) == "stages.0.0"
    assert _label(("stages", "1", "0", "shortcut"), ("stages", "1", "0")) == "shortcut"
    assert _label(("layer1", "layer1.0"), ("layer1",)) == "layer1.0"
    assert _label(("layer1", "layer1.0"), ()) == "layer1.0"  # merged: one box


def test_every_edge_is_cut_into_connected_pieces_through_the_groups() -> None:
    hierarchy = Hierarchy(_tiny_graph())
    pieces: dict[int, list] = {}
    for path, segments in hierarchy.segments.items():
        for segment in segments:
            for edge in segment.edges:
                pieces.setdefault(edge, []).append((path, segment.source, segment.target))
    r0_to_add = next(
        i for i, (a, b) in enumerate(hierarchy.edges.tolist())
        if (a, b) == (hierarchy.index["r0"], hierarchy.index["a"])
    )  # fmt: skip
    # r0 is in block/0, Add in block: out of block/0 through its exit port, then to Add
    assert sorted(p[0] for p in pieces[r0_to_add]) == [("block",), ("block", "0")]
    assert len(pieces) == len(hierarchy.edges)


def test_collapsed_by_default_to_a_readable_number_of_boxes() -> None:
    hierarchy = Hierarchy(build_big_graph(10_000))
    expanded = hierarchy.default_expanded(max_boxes=300)
    shown = hierarchy.visible_count(expanded)
    assert 290 <= shown <= 300  # 298 on this graph; the root's groups alone are 32
    # The budget is used, not just kept: opening any group still shut would overflow it.
    shut = [path for path in hierarchy.groups if path not in expanded and path[:-1] in expanded]
    assert shut and all(hierarchy.visible_count(expanded | {path}) > 300 for path in shut)
    assert hierarchy.visible_count(hierarchy.all_groups()) > 10_000


def test_search_matches_names_and_op_types() -> None:
    hierarchy = Hierarchy(_tiny_graph())
    assert [hierarchy.graph.nodes[i].id for i in hierarchy.search("conv")] == ["c0", "c1"]
    assert [hierarchy.graph.nodes[i].id for i in hierarchy.search("R1")] == ["r1"]
    assert hierarchy.search("  ") == []


def test_nested_layout_keeps_children_inside_their_frames() -> None:
    hierarchy = Hierarchy(build_big_graph(600))
    layout = HierarchyLayout(hierarchy).compute(hierarchy.all_groups())
    frames = {b.ref: b for b in layout.boxes if b.kind == "frame"}
    nodes = [b for b in layout.boxes if b.kind == "node"]
    assert len(nodes) == len(hierarchy.graph.nodes)
    for box in nodes:
        path = hierarchy.leaf_group[box.ref]
        if path != ROOT:
            frame = frames[path]
            assert frame.x <= box.x and box.x + box.w <= frame.x + frame.w + 1e-6
            assert frame.y <= box.y and box.y + box.h <= frame.y + frame.h + 1e-6
    # each drawn piece ends where the next one starts: at a port on a frame's border
    for route in layout.routes:
        assert len(route.points) >= 2


def test_expanding_one_group_reuses_every_other_groups_layout() -> None:
    hierarchy = Hierarchy(build_big_graph(2_000))
    engine = HierarchyLayout(hierarchy)
    everything = hierarchy.all_groups()
    first = engine.compute(everything)
    kept = dict(engine._cache)
    some = next(p for p in hierarchy.groups if len(p) == 2)
    second = engine.compute(everything - {some})
    changed = [p for p in kept if engine._cache.get(p) is not kept[p]]
    assert set(changed) == {
        p for p in hierarchy.groups if len(p) < len(some) and some[: len(p)] == p
    }
    assert len(second.boxes) < len(first.boxes)


def test_a_layout_can_be_cancelled() -> None:
    hierarchy = Hierarchy(build_big_graph(2_000))
    context = RunContext()
    context.cancel.cancel()
    with pytest.raises(Cancelled):
        HierarchyLayout(hierarchy).compute(hierarchy.all_groups(), context)


def test_a_chain_and_an_empty_graph() -> None:
    chain = Hierarchy(build_chain_graph(50))
    layout = HierarchyLayout(chain).compute({ROOT})
    xs = {round(b.x + b.w / 2) for b in layout.boxes if b.kind == "node"}
    assert len(xs) == 1  # a straight line
    empty = Hierarchy(Graph("empty", "onnx"))
    assert HierarchyLayout(empty).compute({ROOT}).boxes == []
