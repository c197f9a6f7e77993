"""Overlay values: parameters, MACs, weight sparsity from real weights, and group totals."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from workbench.core import graph as graph_model
from workbench.core.graph.hierarchy import ROOT, Hierarchy
from workbench.core.graph.overlays import (
    ColorScale,
    Overlay,
    macs_overlay,
    parameter_overlay,
    sparsity_overlay,
    weight_sparsity,
)
from workbench.core.io import load


def test_parameter_and_mac_overlays_read_the_graph() -> None:
    loaded = load("zoo:digits_cnn")
    graph = graph_model.from_model(loaded)
    params, macs = parameter_overlay(graph), macs_overlay(graph)
    convs = [n for n in graph.nodes if n.op_type == "conv2d"]
    assert convs and all(params.values[n.id] == n.params > 0 for n in convs)
    assert all(macs.values[n.id] == n.macs > 0 for n in convs)
    totals = params.group_values(Hierarchy(graph))
    assert totals[ROOT] == sum(n.params for n in graph.nodes)


def test_sparsity_of_a_pruned_torch_module() -> None:
    loaded = load("zoo:digits_cnn")
    graph = graph_model.from_model(loaded)
    conv = next(n for n in graph.nodes if n.op_type == "conv2d")
    weight_name = next(w for w in conv.weights if len(graph.weights[w].shape) >= 2)
    with torch.no_grad():
        weight = dict(loaded.module.named_parameters())[weight_name]
        weight.view(-1)[: weight.numel() // 2] = 0.0
    values = weight_sparsity(graph, loaded)
    assert values[conv.id] == pytest.approx(0.5, abs=1e-3)
    assert all(0.0 <= v < 0.01 for k, v in values.items() if k != conv.id)
    overlay = sparsity_overlay(graph, loaded)
    assert overlay.kind == "percent" and overlay.fixed_range == (0.0, 1.0)
    root = overlay.group_values(Hierarchy(graph))[ROOT]
    assert 0.0 < root < 0.5  # zeros over all counted weights, weighted by their size


def test_sparsity_of_onnx_initializers(tmp_path: Path) -> None:
    w = np.arange(1, 17, dtype=np.float32).reshape(4, 4)
    w[0] = 0.0  # a quarter of the matrix is zero
    model = helper.make_model(
        helper.make_graph(
            [helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")],
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
            initializer=[numpy_helper.from_array(w, "W")],
        ),
        opset_imports=[helper.make_opsetid("", 17)],
        ir_version=10,
    )
    path = tmp_path / "mm.onnx"
    onnx.save_model(model, path)
    loaded = load(path)
    graph = graph_model.from_model(loaded)
    assert weight_sparsity(graph, loaded) == {"mm": pytest.approx(0.25)}


def test_group_aggregates_and_scales() -> None:
    loaded = load("zoo:digits_cnn")
    graph = graph_model.from_model(loaded)
    hierarchy = Hierarchy(graph)
    ids = [n.id for n in graph.nodes]
    values = {node_id: float(i) for i, node_id in enumerate(ids)}
    for aggregate, expected in (("sum", sum(values.values())), ("max", len(ids) - 1.0)):
        overlay = Overlay("x", values, "x", aggregate=aggregate)
        assert overlay.group_values(hierarchy)[ROOT] == pytest.approx(expected)
    assert Overlay("x", values, "x", "mean").group_values(hierarchy)[ROOT] == pytest.approx(
        (len(ids) - 1) / 2
    )
    with pytest.raises(ValueError, match="aggregate"):
        Overlay("x", values, "x", aggregate="median")
    linear = ColorScale(0.0, 10.0)
    assert [linear.position(v) for v in (-1, 0, 5, 10, 20)] == [0.0, 0.0, 0.5, 1.0, 1.0]
    log = ColorScale(10.0, 1e6, log=True, kind="count")
    assert log.position(1e3) == pytest.approx(0.4)
    assert log.label(1.5e6) == "1.50 M"
    flat = Overlay("c", {ids[0]: 1.0}, "changed").scale([1.0, 1.0])
    assert flat.position(1.0) == 1.0 and not math.isnan(flat.position(0.0))
