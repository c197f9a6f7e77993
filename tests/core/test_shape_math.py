"""A transformer's shape arithmetic folded out of view; the model's own work stays."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from workbench.core.graph.shape_math import shape_math_nodes, without_shape_math
from workbench.core.inspection import inspect_model

WORK = ("MatMul", "Gemm", "Softmax", "LayerNormalization", "Erf", "Tanh", "GatherElements")


def test_bert_reads_as_its_matmuls_not_its_shape_arithmetic(bert_onnx: Path) -> None:
    graph = inspect_model(bert_onnx).graph
    shown = without_shape_math(graph)
    before, after = Counter(n.op_type for n in graph.nodes), Counter(n.op_type for n in shown.nodes)
    print(f"\nBERT: {len(graph.nodes)} nodes, {len(shown.nodes)} without shape arithmetic")
    assert len(shown.nodes) < len(graph.nodes) / 2
    assert all(after[op] == before[op] for op in WORK)  # every real op is still there
    assert not {"Shape", "Constant", "Unsqueeze", "Concat", "ConstantOfShape"} & set(after)
    assert after["Reshape"] >= 12  # the reshapes of activations stay; their targets go
    hidden, made_by = shape_math_nodes(graph), graph.producers()
    folded = [name for n in shown.nodes for name in n.inputs if made_by.get(name) in hidden]
    assert folded  # e.g. each Reshape's target shape: now read as a constant, no edge
    assert not set(folded) & set(shown.producers())
    assert shown.notes[-1].startswith(f"{len(graph.nodes) - len(shown.nodes)} shape-arithmetic")


def test_a_cnn_has_no_shape_arithmetic_to_hide() -> None:
    graph = inspect_model("zoo:resnet_shapes").graph
    assert shape_math_nodes(graph) == set() and without_shape_math(graph) is graph
