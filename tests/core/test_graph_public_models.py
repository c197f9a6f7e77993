"""Public-zoo architectures (ResNet-50, DenseNet-121, ShuffleNetV2, GoogLeNet, BERT) as real
ONNX files, and the TorchScript / .pt2 / state_dict fixtures, described end to end."""

from __future__ import annotations

import json
import time

import numpy as np
import onnx
import pytest
import torch
from fixtures.public_models import SMALL_IMAGE, SmallCNN
from onnx import numpy_helper

from workbench.core.graph import (
    from_exported_program,
    from_onnx,
    from_torch,
    from_torchscript,
    summarize,
)
from workbench.core.io.loaded import InputSpec

# The session fixtures (resnet50_onnx, ..., state_dict_file) come from
# tests/fixtures/public_models.py, registered as a plugin in tests/conftest.py.
pytestmark = [
    pytest.mark.slow,  # the first use builds the files (about 25 s in all)
    pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning"),
]

PUBLIC_ONNX = [
    "resnet50_onnx",
    "densenet121_onnx",
    "shufflenet_onnx",
    "inception_onnx",
    "bert_onnx",
]


@pytest.mark.parametrize("fixture", PUBLIC_ONNX)
def test_public_onnx_counts_match_onnx_itself(fixture, request):
    path = request.getfixturevalue(fixture)
    model = onnx.load(path)

    graph = from_onnx(model, name=path.name)

    assert len(graph.nodes) == len(model.graph.node)
    expected = sum(int(np.prod(numpy_helper.to_array(t).shape)) for t in model.graph.initializer)
    assert graph.param_count == expected
    initializers = {t.name for t in model.graph.initializer}
    assert graph.inputs == [i.name for i in model.graph.input if i.name not in initializers]
    assert sum(graph.op_histogram().values()) == len(graph.nodes)
    assert len({n.id for n in graph.nodes}) == len(graph.nodes)
    heavy = [n for n in graph.nodes if n.op_type in ("Conv", "Gemm", "MatMul")]
    assert heavy and all(n.scope for n in heavy)  # torch.onnx names carry module scopes
    json.dumps(summarize(graph))


def test_resnet50_macs_and_speed(resnet50_onnx):
    model = onnx.load(resnet50_onnx)

    start = time.perf_counter()
    graph = from_onnx(model, name="resnet50")
    elapsed = time.perf_counter() - start

    assert 3.8e9 <= graph.macs <= 4.4e9  # the published ~4.1 GMACs at 224x224
    assert graph.tensors[graph.outputs[0]].shape == (1, 1000)
    assert elapsed < 1.0, f"from_onnx took {elapsed:.2f} s"
    conv1 = next(n for n in graph.nodes if n.op_type == "Conv")
    assert conv1.scope == ("conv1",)
    assert conv1.macs == 112 * 112 * 64 * 3 * 7 * 7


def test_shapes_are_inferred_through_concatenations(densenet121_onnx, inception_onnx):
    for path in (densenet121_onnx, inception_onnx):
        graph = from_onnx(onnx.load(path))
        concats = [n for n in graph.nodes if n.op_type == "Concat"]
        assert concats
        assert all(graph.tensors[n.outputs[0]].shape is not None for n in concats)


def test_bert_keeps_symbolic_axes(bert_onnx):
    model = onnx.load(bert_onnx)
    summary = summarize(from_onnx(model))

    assert [i["shape"] for i in summary["inputs"]] == [["batch", "sequence"]] * 2
    assert summary["outputs"][0]["shape"] == ["batch", 2]
    assert summary["op_histogram"]["MatMul"] >= 4 * 6  # q, k, v, out, ffn in, ffn out
    assert any("symbolic" in note for note in summary["notes"])
    specs = [InputSpec(name, (1, 16), "int64") for name in ("input_ids", "attention_mask")]
    at_16 = from_onnx(model, inputs=specs)
    assert at_16.macs > 15 * summary["macs"]  # linear layers scale with the sequence


def test_torchscript_pt2_and_state_dict_fixtures_describe_the_same_model(
    torchscript_file, pt2_file, state_dict_file
):
    spec = [InputSpec("x", SMALL_IMAGE)]
    module = SmallCNN()
    module.load_state_dict(torch.load(state_dict_file, weights_only=True))
    expected = sum(p.numel() for p in module.parameters())

    described = [
        from_torch(module, spec),
        from_exported_program(torch.export.load(pt2_file)),
        from_torchscript(torch.jit.load(torchscript_file), spec),
    ]

    assert [g.trainable_param_count for g in described] == [expected] * 3
    macs = {g.macs for g in described}
    assert len(macs) == 1 and macs.pop() > 0
