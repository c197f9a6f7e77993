"""A big ONNX file is parsed a slice at a time (core/io/proto_slices.py): the model it
builds must be exactly the one a whole parse builds, and a corrupt file must still fail
as one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from workbench.core.errors import ModelLoadError
from workbench.core.io import proto_slices
from workbench.core.io.detect import parse_onnx
from workbench.core.io.proto_slices import parse_in_slices


def _model() -> onnx.ModelProto:
    """Every kind of field the walker meets: a graph of 12 MatMuls with 2 KB weights
    (so small slices split the graph many times), value infos, a function, metadata,
    doc strings and top-level fields on both sides of the graph."""
    rng = np.random.default_rng(0)
    nodes, weights, infos = [], [], []
    name = "x"
    for i in range(12):
        weight = numpy_helper.from_array(rng.standard_normal((16, 16)).astype(np.float32), f"w{i}")
        weights.append(weight)
        nodes.append(helper.make_node("MatMul", [name, f"w{i}"], [f"h{i}"], name=f"mm{i}"))
        infos.append(helper.make_tensor_value_info(f"h{i}", TensorProto.FLOAT, ["n", 16]))
        name = f"h{i}"
    nodes.append(helper.make_node("Twice", [name], ["y"], domain="local"))
    graph = helper.make_graph(
        nodes, "sliced", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 16])], weights,
        doc_string="a graph " * 50, value_info=infos,
    )  # fmt: skip
    twice = helper.make_function(
        "local", "Twice", ["a"], ["b"], [helper.make_node("Add", ["a", "a"], ["b"])],
        [helper.make_opsetid("", 17)],
    )  # fmt: skip
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local", 1)],
        functions=[twice], producer_name="test", doc_string="model " * 40,
    )  # fmt: skip
    helper.set_model_props(model, {"author": "tests", "note": "n" * 300})
    return model


@pytest.mark.parametrize("slice_bytes", [64, 1500, 10_000, 4 << 20])
def test_slices_build_the_model_a_whole_parse_builds(monkeypatch, slice_bytes) -> None:
    data = _model().SerializeToString()
    monkeypatch.setattr(proto_slices, "SLICE_BYTES", slice_bytes)
    plan = list(proto_slices._plan(memoryview(data)))
    whole, sliced = onnx.ModelProto(), onnx.ModelProto()
    whole.ParseFromString(data)
    parse_in_slices(sliced, data)
    assert sliced == whole
    assert sliced.SerializeToString() == data
    graph_slices = [span for target, *span in plan if target == "graph"]
    if slice_bytes < len(data) // 4:
        assert len(graph_slices) > 3, "small slices split the graph"
    elif slice_bytes >= len(data):
        assert len(graph_slices) == 1


def test_an_empty_graph_is_present_after_slicing(monkeypatch) -> None:
    model = onnx.ModelProto(ir_version=8)
    model.graph.SetInParent()
    data = model.SerializeToString()
    sliced = onnx.ModelProto()
    parse_in_slices(sliced, data)
    assert sliced.HasField("graph") and sliced == model


def test_a_truncated_big_file_fails_in_one_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(proto_slices, "SLICE_BYTES", 256)
    data = _model().SerializeToString()
    for cut in (len(data) // 3, len(data) - 5):
        path = tmp_path / f"cut{cut}.onnx"
        path.write_bytes(data[:cut])
        with pytest.raises(ModelLoadError, match="does not parse"):
            parse_onnx(path)


def test_bytes_the_walker_does_not_read_go_to_the_whole_parse(tmp_path: Path) -> None:
    """A group (wire type 3) is not in ONNX's schema: protobuf's own parse decides."""
    good = _model().SerializeToString()
    path = tmp_path / "group.onnx"
    path.write_bytes(good + bytes([(15 << 3) | 3]))
    with pytest.raises(ModelLoadError, match="does not parse"):
        parse_onnx(path)
    assert parse_onnx(_write(tmp_path / "good.onnx", good)) == _model()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
