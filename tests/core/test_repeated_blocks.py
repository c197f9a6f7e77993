"""Repeated blocks (#21): a transformer's identical layers are found in real exports and
folded into one group "×N" whose members keep their paths; look-alike parallel branches
and differing layers are not folded."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.transformer_graphs import build_bert, build_gpt2

from workbench.core.graph.group_layout import HierarchyLayout
from workbench.core.graph.hierarchy import ROOT, Hierarchy
from workbench.core.graph.model import Graph, Node, TensorInfo
from workbench.core.graph.repeated_blocks import find_runs, fold_repeated_blocks
from workbench.core.graph.shape_math import ShapeMathIndex, shape_math_nodes, without_shape_math
from workbench.core.inspection import inspect_model

ENCODER = ("model", "bert", "encoder")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Graph]:
    folder = tmp_path_factory.mktemp("transformers")
    return {
        "bert": inspect_model(build_bert(folder, layers=4)).graph,
        "gpt2": inspect_model(build_gpt2(folder, layers=4)).graph,
    }


@pytest.mark.parametrize("hide", [True, False], ids=["shape math hidden", "whole graph"])
def test_a_bert_encoders_layers_are_one_run_of_four(models, hide: bool) -> None:
    graph = without_shape_math(models["bert"]) if hide else models["bert"]
    runs = find_runs(Hierarchy(graph))
    # layer.0 has fewer shape nodes than the others (it reuses sizes computed before it);
    # that is no reason to leave it out
    assert [(r.label, r.members) for r in runs] == [
        ("layer ×4", tuple((*ENCODER, f"layer.{i}") for i in range(4)))
    ]


def test_a_gpt2_decoders_blocks_are_one_run_of_four(models) -> None:
    runs = find_runs(Hierarchy(models["gpt2"]))
    assert [(r.label, r.members) for r in runs] == [
        ("h ×4", tuple(("model", "transformer", f"h.{i}") for i in range(4)))
    ]


def test_folding_wraps_the_run_and_keeps_every_edge_and_node(models) -> None:
    graph = without_shape_math(models["bert"])
    plain, hierarchy = Hierarchy(graph), Hierarchy(graph)
    (fold,) = fold_repeated_blocks(hierarchy)
    group = hierarchy.groups[fold]
    assert group.repeat == 4 and group.label == "layer ×4" and group.parent == ENCODER
    assert hierarchy.groups[ENCODER].groups == [fold]
    assert group.size == sum(plain.groups[m].size for m in group.groups)
    layer2 = (*ENCODER, "layer.2")
    assert hierarchy.groups[layer2].parent == fold
    assert hierarchy.groups[layer2].depth == plain.groups[layer2].depth + 1
    # a node inside a folded layer has the fold among its ancestors (search opens it)
    inside = next(i for i, n in enumerate(graph.nodes) if "layer.2/" in n.name)
    assert fold in hierarchy.ancestors(inside)
    # folded by default: one box for the four layers, fewer boxes than without folding
    default = hierarchy.default_expanded()
    assert fold not in default and not {m for m in group.groups} & default
    assert hierarchy.visible_count(default) < plain.visible_count(plain.default_expanded())
    # opening it opens its first block, whole; the others stay single boxes
    opened = hierarchy.opening(fold)
    assert {fold, (*ENCODER, "layer.0")} <= opened and layer2 not in opened
    # every edge piece still joins units of its own group, and everything lays out
    edges = sum(len(s.edges) for segments in hierarchy.segments.values() for s in segments)
    assert edges >= len(hierarchy.edges)
    layout = HierarchyLayout(hierarchy).compute(hierarchy.all_groups())
    assert sum(b.kind == "node" for b in layout.boxes) == len(graph.nodes)
    folded = HierarchyLayout(hierarchy).compute(default)
    box = next(b for b in folded.boxes if b.ref == fold)
    assert (box.kind, box.title, box.subtitle) == (
        "group",
        "layer ×4",
        f"4 blocks · {group.size} nodes",
    )


def _chain(scopes: list[str], ops: list[list[str]], parallel: bool = False) -> Graph:
    """Blocks of nodes named "<scope>/<op>"; each block reads the one before it, or all
    read the input when ``parallel``."""
    nodes, last = [], "x"
    for scope, block_ops in zip(scopes, ops, strict=True):
        source = "x" if parallel else last
        for k, op in enumerate(block_ops):
            out = f"{scope}_{k}"
            nodes.append(Node(f"/{scope}/{op}", f"/{scope}/{op}", op, (scope,), inputs=[source],
                              outputs=[out]))  # fmt: skip
            source = out
        last = source
    tensors = {"x": TensorInfo("x", (1, 8), "float32")}
    tensors |= {o: TensorInfo(o, (1, 8), "float32") for n in nodes for o in n.outputs}
    return Graph("toy", "onnx", nodes, tensors, inputs=["x"], outputs=[last])


def test_parallel_look_alikes_and_differing_layers_are_not_folded() -> None:
    same = [["MatMul", "Relu"]] * 3
    chain = Hierarchy(_chain(["a", "b", "c"], same))
    assert [r.members for r in find_runs(chain, min_nodes=0)] == [(("a",), ("b",), ("c",))]
    assert find_runs(chain) == []  # 6 nodes: too few to be worth a fold
    assert find_runs(Hierarchy(_chain(["a", "b", "c"], same, parallel=True)), min_nodes=0) == []
    odd = [["MatMul", "Relu"], ["MatMul", "Gelu"], ["MatMul", "Relu"]]
    assert find_runs(Hierarchy(_chain(["a", "b", "c"], odd)), min_nodes=0) == []
    assert find_runs(Hierarchy(inspect_model("zoo:digits_cnn").graph), min_nodes=0) == []
    empty = Hierarchy(Graph("empty", "onnx"))
    assert find_runs(empty) == [] and fold_repeated_blocks(empty) == []
    assert empty.default_expanded() == {ROOT}


def test_a_small_decoders_blocks_fold_and_a_resnets_small_stages_do_not() -> None:
    """tiny_lm's four 20-node blocks hold fewer than MIN_NODES together, yet they are
    the clutter (86 nodes); resnet_shapes' two 7-node stages read better open."""
    lm = Hierarchy(inspect_model("zoo:tiny_lm").graph)
    assert [(r.label, r.members) for r in find_runs(lm)] == [
        ("blocks ×4", tuple(("blocks", str(i)) for i in range(4)))
    ]
    resnet = Hierarchy(inspect_model("zoo:resnet_shapes").graph)
    assert find_runs(resnet, min_nodes=0) and find_runs(resnet) == []


def test_the_shape_arithmetic_a_node_reads_is_listed_for_it(models) -> None:
    graph = models["bert"]
    index, hidden = ShapeMathIndex(graph), shape_math_nodes(graph)
    reshapes = [n for n in graph.nodes if n.op_type == "Reshape" and n.id not in hidden]
    feeding = max((index.feeding(n) for n in reshapes), key=len)  # an attention head split
    ops = {n.op_type for n in feeding}
    assert feeding and {n.id for n in feeding} <= hidden and {"Shape", "Concat"} <= ops
    order = [graph.nodes.index(n) for n in feeding]
    assert order == sorted(order)  # in model order
    assert index.feeding(feeding[0]) == []  # a node of it lists nothing


def test_the_fixture_exports_are_real_files(tmp_path: Path) -> None:
    """Sanity: the builders reuse a file they made (the benchmark relies on it)."""
    path = build_bert(tmp_path, layers=1, hidden=16)
    stamp = path.stat().st_mtime_ns
    assert build_bert(tmp_path, layers=1, hidden=16) == path and path.stat().st_mtime_ns == stamp


def test_a_dynamo_export_folds_like_a_torchscript_one(tmp_path: Path) -> None:
    """torch.onnx's dynamo exporter names nodes "node_MatMul_44" and keeps each node's
    module path in its metadata: the scopes come from there, so the layers fold alike."""
    import torch
    from fixtures.public_models import seeded
    from fixtures.transformer_graphs import _Logits
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(
        vocab_size=100, hidden_size=32, num_hidden_layers=3, num_attention_heads=2,
        intermediate_size=128, max_position_embeddings=64, attn_implementation="eager",
    )  # fmt: skip
    model = seeded(lambda: _Logits(BertForSequenceClassification(config))).eval()
    ids, mask = torch.randint(0, 100, (1, 8)), torch.ones(1, 8, dtype=torch.int64)
    path = tmp_path / "bert_dynamo.onnx"
    torch.onnx.export(model, (ids, mask), dynamo=True, verbose=False).save(str(path))
    graph = inspect_model(path).graph
    assert not any("/" in node.name for node in graph.nodes)  # dynamo's names: no paths
    runs = find_runs(Hierarchy(graph))
    assert [(r.label, r.members) for r in runs] == [
        ("layer ×3", tuple((*ENCODER, f"layer.{i}") for i in range(3)))
    ]


@pytest.mark.parametrize(
    "value",
    ["not a list", "[1, 2, 3]", "['', 'a', 'b.c', 'x']", "[" * 5000, "['', " + "'a'," * 4000 + "]"],
    ids=["text", "numbers", "not nested", "deep", "long"],
)
def test_scope_metadata_that_is_not_the_exporters_gives_no_scope(value: str) -> None:
    import onnx

    from workbench.core.graph.from_onnx import NAME_SCOPES, _scope_from_metadata

    node = onnx.helper.make_node("Relu", ["x"], ["y"], name="node_Relu_0")
    node.metadata_props.add(key=NAME_SCOPES, value=value)
    expected = ("a",) if value.startswith("['', 'a', 'b.c'") else ()
    assert _scope_from_metadata(node) == expected
