"""PyTorch modules, exported programs and TorchScript translated into the one graph model."""

from __future__ import annotations

import io
import json
import warnings

import onnx
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from workbench.core.errors import ModelLoadError
from workbench.core.graph import (
    from_exported_program,
    from_model,
    from_onnx,
    from_torch,
    from_torchscript,
    summarize,
)
from workbench.core.io.loaded import InputSpec, LoadedModel, ModelFormat

IMAGE = [InputSpec("x", (1, 3, 16, 16))]
# TorchScript is deprecated in torch 2.13, and still a format people bring.
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")


class Inner(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Nested(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.block = nn.Sequential(Inner(), Inner())
        self.head = nn.Linear(8, 5)

    def forward(self, x):
        x = self.block(self.stem(x))
        return self.head(x.mean((2, 3)))


def call_functions(module, args):
    ep = torch.export.export(module.eval(), args)
    return [n for n in ep.graph.nodes if n.op == "call_function"]


def test_one_conv_macs_equal_a_hand_computation():
    conv = nn.Conv2d(3, 6, 5, stride=1, padding=0, groups=1)

    graph = from_torch(conv, [InputSpec("x", (1, 3, 12, 12))])

    (node,) = graph.nodes
    assert node.op_type == "conv2d"
    assert node.macs == 6 * 8 * 8 * 3 * 5 * 5  # out channels * out pixels * in channels * k*k
    assert node.params == 6 * 3 * 25 + 6
    assert graph.tensors[node.outputs[0]].shape == (1, 6, 8, 8)


def test_counts_match_torch_export_and_parameters():
    module = Nested()

    graph = from_torch(module, IMAGE, name="nested")

    expected = call_functions(Nested(), (torch.randn(1, 3, 16, 16),))
    assert len(graph.nodes) == len(expected)
    assert [n.op_type for n in graph.nodes][:3] == ["conv2d", "conv2d", "batch_norm"]
    assert graph.trainable_param_count == sum(p.numel() for p in module.parameters())
    buffers = sum(b.numel() for b in module.buffers())
    assert graph.param_count - graph.trainable_param_count == buffers
    assert all(not w.trainable for n, w in graph.weights.items() if "running" in n)
    assert sum(graph.op_histogram().values()) == len(graph.nodes)
    assert module.training  # the caller's mode is left as it was


def test_scopes_follow_module_paths():
    module = Nested()

    graph = from_torch(module, IMAGE)

    # Containers group; a built-in leaf module's op is a node named by the module's path.
    scopes = {n.scope for n in graph.nodes}
    assert {("block", "0"), ("block", "1")} <= scopes
    names = {n.name for n in graph.nodes}
    assert {"block.0.conv", "block.1.bn"} <= names
    for node in graph.nodes:
        if node.weights:  # a node reading weights is named by the module that owns them
            owner = node.weights[0].rsplit(".", 1)[0]
            assert node.name == owner
            assert node.scope == tuple(owner.split("."))[:-1]
        if node.scope:
            module.get_submodule(".".join(node.scope))  # every scope is a real module path
    conv = next(n for n in graph.nodes if n.name == "block.1.conv")
    assert conv.macs == 8 * 8 * 8 * 8 * 9  # 8x8 output after the stride-2 stem


def test_linear_and_attention_macs_come_from_the_flop_counter():
    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = nn.Linear(4, 4)

        def forward(self, q, k, v):
            return self.proj(F.scaled_dot_product_attention(q, k, v))

    shape = (1, 2, 8, 4)
    graph = from_torch(Attention(), [InputSpec(n, shape) for n in "qkv"])

    macs = {n.op_type: n.macs for n in graph.nodes}
    assert macs["scaled_dot_product_attention"] == 2 * (2 * 8 * 4 * 8)  # QK^T and AV
    assert macs["linear"] == 2 * 8 * 4 * 4


def test_tied_weights_are_counted_once():
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(10, 4)
            self.out = nn.Linear(4, 10, bias=False)
            self.out.weight = self.embed.weight

        def forward(self, ids):
            return self.out(self.embed(ids))

    module = Tied()
    graph = from_torch(module, [InputSpec("ids", (1, 5), "int64")])

    assert graph.trainable_param_count == sum(p.numel() for p in module.parameters()) == 40
    for node in graph.nodes:
        assert all(w in graph.weights for w in node.weights)
    assert sum(1 for n in graph.nodes if n.weights) == 2


def test_export_failure_is_a_one_line_model_load_error():
    class DataDependent(nn.Module):
        def forward(self, x):
            if x.sum() > 0:  # Python control flow on tensor data: export cannot trace it
                return x
            return -x

    with pytest.raises(ModelLoadError) as caught:
        from_torch(DataDependent(), [InputSpec("x", (4,))], name="dd")
    assert caught.value.message.startswith("could not trace dd with torch.export: ")
    assert "\n" not in caught.value.message


def test_exported_program_file_describes_like_the_module(tmp_path):
    module = Nested().eval()
    path = tmp_path / "nested.pt2"
    torch.export.save(torch.export.export(module, (torch.randn(1, 3, 16, 16),)), path)

    graph = from_exported_program(torch.export.load(path), name="nested.pt2")

    direct = from_torch(module, IMAGE)
    assert len(graph.nodes) == len(direct.nodes)
    assert graph.trainable_param_count == sum(p.numel() for p in module.parameters())
    assert graph.macs == direct.macs > 0
    assert graph.inputs == ["x"] and graph.tensors["x"].shape == (1, 3, 16, 16)


@pytest.mark.parametrize("how", ["script", "trace"])
def test_torchscript_counts_params_scopes_and_macs(how):
    module = Nested().eval()
    example = torch.randn(1, 3, 16, 16)
    scripted = torch.jit.script(module) if how == "script" else torch.jit.trace(module, example)
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer)
    buffer.seek(0)
    loaded = torch.jit.load(buffer)

    graph = from_torchscript(loaded, IMAGE)

    assert graph.trainable_param_count == sum(p.numel() for p in module.parameters())
    assert graph.macs == from_torch(module, IMAGE).macs > 0
    convs = [n for n in graph.nodes if n.weights and n.weights[0].endswith("conv.weight")]
    assert [n.scope for n in convs] == [("block", "0", "conv"), ("block", "1", "conv")]
    assert all(graph.tensors[n.outputs[0]].shape == (1, 8, 8, 8) for n in convs)
    assert not any(n.op_type.startswith("prim") for n in graph.nodes)
    assert sum(graph.op_histogram().values()) == len(graph.nodes)


def test_torch_and_onnx_agree_on_parameters_and_macs():
    module = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 16 * 16, 10)
    ).eval()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.randn(1, 3, 16, 16),), buffer, dynamo=False)

    from_pytorch = from_torch(module, IMAGE)
    from_onnx_file = from_onnx(onnx.load_from_string(buffer.getvalue()))

    assert from_onnx_file.param_count == from_pytorch.trainable_param_count
    assert from_onnx_file.macs == from_pytorch.macs


def test_summary_of_a_torch_model():
    module = Nested()
    loaded = LoadedModel(format=ModelFormat.ZOO, path=None, inputs=IMAGE, module=module, arch="n")

    summary = summarize(from_model(loaded), loaded, top=3)

    json.dumps(summary)
    assert summary["framework"] == "pytorch" and summary["format"] == "zoo"
    assert summary["inputs"] == [{"name": "x", "shape": [1, 3, 16, 16], "dtype": "float32"}]
    assert summary["parameters"] == sum(p.numel() for p in module.parameters())
    assert summary["buffers"] == sum(b.numel() for b in module.buffers())
    top = [(layer["name"], layer["params"]) for layer in summary["top_layers"]]
    assert [params for _, params in top] == [8 * 8 * 9 + 8, 8 * 8 * 9 + 8, 3 * 8 * 9 + 8]
    assert summary["opset"] is None


def test_from_model_dispatches_on_the_format():
    module = Nested().eval()
    example = torch.randn(1, 3, 16, 16)
    scripted = LoadedModel(
        format=ModelFormat.TORCHSCRIPT,
        path=None,
        inputs=IMAGE,
        module=torch.jit.trace(module, example),
    )
    exported = LoadedModel(
        format=ModelFormat.EXPORTED_PROGRAM,
        path=None,
        inputs=IMAGE,
        exported_program=torch.export.export(module, (example,)),
    )

    from_script, from_program = from_model(scripted), from_model(exported)

    assert from_script.producer.endswith("(TorchScript)")
    assert len(from_program.nodes) == len(call_functions(module, (example,)))
    assert from_script.trainable_param_count == from_program.trainable_param_count


def test_a_module_without_input_shapes_is_refused():
    with pytest.raises(ModelLoadError, match="no input shape"):
        from_torch(Nested(), [], name="nested")
