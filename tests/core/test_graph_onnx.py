"""ONNX models (built here with onnx.helper) translated into the one graph model."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from workbench.core.graph import from_model, from_onnx, summarize
from workbench.core.io.loaded import InputSpec, LoadedModel, ModelFormat


def make_model(nodes, inputs, outputs, initializers=(), opset=17, **graph_kwargs):
    graph = helper.make_graph(
        nodes, "test_graph", inputs, outputs, initializer=list(initializers), **graph_kwargs
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def weight(name, shape, seed=0):
    values = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return numpy_helper.from_array(values, name)


def value(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def test_conv_with_groups_counts_params_and_macs_by_hand():
    # 8 -> 16 channels, groups 2, 3x3, stride 2, pad 1 on 10x10: output 5x5
    w, b = weight("w", (16, 4, 3, 3)), weight("b", (16,))
    conv = helper.make_node(
        "Conv",
        ["x", "w", "b"],
        ["y"],
        name="/block/conv/Conv",
        group=2,
        pads=[1] * 4,
        strides=[2, 2],
    )
    model = make_model([conv], [value("x", [1, 8, 10, 10])], [value("y", None)], [w, b])

    graph = from_onnx(model)

    (node,) = graph.nodes
    assert node.op_type == "Conv"
    assert node.scope == ("block", "conv")
    assert node.attributes == {"group": 2, "pads": [1, 1, 1, 1], "strides": [2, 2]}
    assert node.weights == ["w", "b"]
    assert node.params == 16 * 4 * 9 + 16
    assert graph.tensors["y"].shape == (1, 16, 5, 5)  # filled by shape inference
    assert node.macs == 1 * 16 * 5 * 5 * (8 // 2) * 3 * 3
    assert graph.inputs == ["x"]
    assert graph.param_count == 16 * 4 * 9 + 16
    assert graph.opset == 17


def test_conv_transpose_gemm_and_batched_matmul_macs():
    nodes = [
        helper.make_node("ConvTranspose", ["x", "wt"], ["up"], strides=[2, 2]),
        helper.make_node("Gemm", ["a", "g"], ["ga"], transB=1),
        helper.make_node("MatMul", ["m", "mm"], ["mo"]),
    ]
    inputs = [
        value("x", [1, 4, 6, 6]),
        value("a", [3, 20]),
        value("m", ["batch", 2, 7, 5]),  # symbolic batch counts as 1
    ]
    inits = [weight("wt", (4, 8, 3, 3)), weight("g", (10, 20)), weight("mm", (5, 9))]
    model = make_model(
        nodes, inputs, [value("up", None), value("ga", None), value("mo", None)], inits
    )

    graph = from_onnx(model)
    macs = {n.op_type: n.macs for n in graph.nodes}

    assert macs["ConvTranspose"] == 1 * 6 * 6 * (4 * 8 * 3 * 3)
    assert macs["Gemm"] == 3 * 20 * 10
    assert macs["MatMul"] == 2 * 7 * 5 * 9
    assert graph.tensors["mo"].shape == ("batch", 2, 7, 9)
    assert any("symbolic" in note and "batch" in note for note in graph.notes)


def test_given_input_sizes_replace_symbolic_dims_for_shapes_and_macs():
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    model = make_model(
        nodes, [value("x", ["batch", "seq", 6])], [value("y", None)], [weight("w", (6, 3))]
    )

    symbolic = from_onnx(model)
    sized = from_onnx(model, inputs=[InputSpec("x", (2, 10, 6))])

    assert symbolic.nodes[0].macs == 6 * 3
    assert sized.nodes[0].macs == 2 * 10 * 6 * 3
    assert sized.tensors["y"].shape == (2, 10, 3)
    assert sized.tensors["x"].shape == ("batch", "seq", 6)  # the declared input stays as it is
    assert "shapes and MACs are for x=2x10x6" in sized.notes
    assert not any("symbolic" in note for note in sized.notes)
    assert from_onnx(model, inputs=[InputSpec("x", (1, 1, 6))]).notes == symbolic.notes


def test_matmul_takes_sizes_from_whichever_side_knows_them():
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    model = make_model(
        nodes, [value("x", ["rows", "inner"])], [value("y", None)], [weight("w", (6, 3))]
    )

    graph = from_onnx(model)

    assert graph.nodes[0].macs == 6 * 3  # K from the weight, symbolic rows count as 1


def test_node_ids_are_unique_when_names_are_empty_or_repeated():
    nodes = [
        helper.make_node("Relu", ["x"], ["a"]),
        helper.make_node("Relu", ["a"], ["b"], name="same"),
        helper.make_node("Relu", ["b"], ["c"], name="same"),
        helper.make_node("Relu", ["c"], ["d"]),
    ]
    model = make_model(nodes, [value("x", [2])], [value("d", [2])])

    graph = from_onnx(model)

    ids = [n.id for n in graph.nodes]
    assert len(set(ids)) == 4
    assert [n.name for n in graph.nodes] == ["", "same", "same", ""]
    assert all(n.scope == () for n in graph.nodes)  # no "/" in names: no invented scope


def test_attributes_are_plain_python_and_custom_domains_are_prefixed():
    value_tensor = numpy_helper.from_array(np.array([1.5, 2.5], dtype=np.float32))
    nodes = [
        helper.make_node("Constant", [], ["k"], value=value_tensor),
        helper.make_node("Add", ["x", "k"], ["s"]),
        helper.make_node("AveragePool", ["s4"], ["p"], kernel_shape=[2], auto_pad="SAME_UPPER"),
        helper.make_node("FusedConv", ["s4", "fw"], ["fc"], domain="com.microsoft"),
    ]
    model = make_model(
        nodes,
        [value("x", [2]), value("s4", [1, 1, 4])],
        [value("s", None), value("p", None), value("fc", None)],
        [weight("fw", (1, 1, 1))],
    )
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))

    graph = from_onnx(model)

    constant, _, pool, fused = graph.nodes
    assert constant.op_type == "Constant" and constant.params == 0  # Constants stay nodes
    assert constant.attributes["value"] == {"shape": [2], "dtype": "float32", "value": [1.5, 2.5]}
    assert pool.attributes["auto_pad"] == "SAME_UPPER"  # bytes decoded
    assert fused.op_type == "com.microsoft.FusedConv"
    json.dumps([n.attributes for n in graph.nodes])  # all JSON-friendly


def test_initializers_listed_as_inputs_are_weights_not_inputs():
    w = weight("w", (3, 4))
    model = make_model(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        [value("x", [1, 3]), value("w", [3, 4])],  # old exporters list weights as inputs
        [value("y", None)],
        [w],
    )

    graph = from_onnx(model)

    assert graph.inputs == ["x"]
    assert graph.weights["w"].numel == 12 and graph.weights["w"].trainable
    assert graph.tensors["w"].dtype == "float32"


def test_large_initializers_still_give_inferred_shapes():
    w = weight("big", (300, 50))  # above the size kept for inference
    nodes = [
        helper.make_node("MatMul", ["x", "big"], ["h"]),
        helper.make_node("Relu", ["h"], ["y"]),
    ]
    model = make_model(nodes, [value("x", ["n", 300])], [value("y", None)], [w])

    graph = from_onnx(model)

    assert graph.tensors["h"].shape == ("n", 50)
    assert graph.tensors["y"].shape == ("n", 50)
    assert graph.nodes[0].macs == 300 * 50


def test_failed_shape_inference_still_describes_the_graph():
    body = [helper.make_node("Relu", ["a"], ["b"])]
    function = helper.make_function("local", "F", ["a"], ["b"], body, [helper.make_opsetid("", 17)])
    model = make_model(
        [helper.make_node("F", ["x"], ["y"], domain="local")], [value("x", [2])], [value("y", None)]
    )
    model.opset_import.append(helper.make_opsetid("local", 1))
    model.functions.extend([function, function])  # duplicated: onnx refuses to infer

    graph = from_onnx(model)

    assert [n.op_type for n in graph.nodes] == ["local.F"]
    assert any("shape inference failed" in note for note in graph.notes)


def test_subgraph_nodes_are_not_counted_and_are_noted():
    then_graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["t"]), helper.make_node("Neg", ["t"], ["t2"])],
        "then",
        [],
        [value("t2", [2])],
    )
    else_graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["e"])], "else", [], [value("e", [2])]
    )
    nodes = [
        helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
        helper.make_node("Greater", ["s", "zero"], ["c"]),
        helper.make_node("If", ["c"], ["y"], then_branch=then_graph, else_branch=else_graph),
    ]
    zero = numpy_helper.from_array(np.array(0, dtype=np.float32), "zero")
    model = make_model(nodes, [value("x", [2])], [value("y", None)], [zero])

    graph = from_onnx(model)

    assert len(graph.nodes) == len(model.graph.node) == 3
    assert graph.nodes[2].attributes["then_branch"] == {"graph": "then", "nodes": 2}
    assert any("subgraph" in note for note in graph.notes)


def test_summary_is_json_and_matches_the_graph():
    w = weight("w", (4, 3, 3, 3))
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="/features/conv/Conv", pads=[1] * 4),
        helper.make_node("Relu", ["c"], ["y"], name="/features/relu/Relu"),
    ]
    model = make_model(nodes, [value("x", ["batch", 3, 8, 8])], [value("y", None)], [w])
    model.producer_name, model.producer_version = "pytorch", "2.13.0"
    loaded = LoadedModel(
        format=ModelFormat.ONNX, path=None, inputs=[], onnx_model=model, notes=["from loader"]
    )

    summary = summarize(from_model(loaded), loaded, top=1)

    json.dumps(summary)
    assert summary["format"] == "onnx" and summary["framework"] == "onnx"
    assert summary["inputs"] == [{"name": "x", "shape": ["batch", 3, 8, 8], "dtype": "float32"}]
    assert summary["outputs"] == [{"name": "y", "shape": ["batch", 4, 8, 8], "dtype": "float32"}]
    assert summary["node_count"] == 2
    assert summary["op_histogram"] == {"Conv": 1, "Relu": 1}
    assert summary["parameters"] == 4 * 27 and summary["buffers"] == 0
    assert summary["weights_count"] == 1
    assert summary["macs"] == 8 * 8 * 4 * 27
    assert summary["top_layers"] == [
        {"name": "/features/conv/Conv", "op_type": "Conv", "params": 108, "macs": 6912}
    ]
    assert summary["opset"] == 17 and summary["producer"] == "pytorch 2.13.0"
    assert summary["notes"][0] == "from loader"


def test_onnx_path_does_not_import_torch(tmp_path):
    model = make_model(
        [helper.make_node("Relu", ["x"], ["y"])], [value("x", [2])], [value("y", [2])]
    )
    path = tmp_path / "relu.onnx"
    onnx.save(model, path)
    code = (
        "import sys, onnx\n"
        "from workbench.core.graph import from_onnx\n"
        f"graph = from_onnx(onnx.load({str(path)!r}))\n"
        "assert len(graph.nodes) == 1\n"
        "print('torch' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "False"
