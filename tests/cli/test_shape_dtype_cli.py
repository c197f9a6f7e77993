"""`--shape NAME=1x32:int64`: the dtype of an input the model leaves open; a dtype the
model declares (ONNX) is kept, and a conflicting one is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from fixtures.cli import run_workbench
from onnx import TensorProto, helper, numpy_helper

from workbench.core.errors import WorkbenchError
from workbench.core.io import parse_shape

EMBEDDING_NET = """
import torch

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(50, 8)
        self.head = torch.nn.Linear(8, 3)

    def forward(self, ids):
        return self.head(self.emb(ids).mean(1))

def build():
    return Net()
"""
QUICK = ("--runs", "3", "--seconds", "0.05", "--warmup", "1", "--json")


def _one_line_error(result, message: str) -> None:
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_parse_shape_reads_an_optional_dtype() -> None:
    name, shape = parse_shape("input_ids=1x32:int64")
    assert (name, shape, shape.dtype) == ("input_ids", (1, 32), "int64")
    assert parse_shape("x=1x3x8x8")[1].dtype is None
    with pytest.raises(WorkbenchError, match="dtype 'int65' is not one of float32"):
        parse_shape("x=1x32:int65")


@pytest.fixture
def embedding_weights(tmp_path: Path) -> Path:
    (tmp_path / "emb.py").write_text(EMBEDDING_NET)
    namespace: dict = {}
    exec(EMBEDDING_NET, namespace)
    torch.save(namespace["build"]().state_dict(), tmp_path / "w.pt")
    return tmp_path / "w.pt"


@pytest.mark.slow
def test_a_torch_input_given_as_int64_is_fed_token_ids(
    tmp_path: Path, embedding_weights: Path
) -> None:
    model = ["w.pt", "--arch", "emb.py:build"]
    shown = run_workbench("inspect", *model, "--shape", "ids=1x32:int64", "--json", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["inputs"] == [
        {"name": "ids", "shape": [1, 32], "dtype": "int64"}
    ]
    # The embedding takes indices: a float feed fails, the int64 one is timed.
    timed = run_workbench("bench", *model, "--shape", "ids=1x32:int64", *QUICK, cwd=tmp_path)
    assert timed.returncode == 0, timed.stderr
    float_feed = run_workbench("bench", *model, "--shape", "ids=1x32", *QUICK, cwd=tmp_path)
    assert float_feed.returncode != 0 and "FloatTensor" in float_feed.stderr


@pytest.fixture
def token_onnx(tmp_path: Path) -> Path:
    """Token ids (int64, symbolic length) -> mean of their embeddings: a real ORT model."""
    table = numpy_helper.from_array(np.random.default_rng(0).random((50, 4), np.float32), "t")
    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["t", "ids"], ["e"]),
            helper.make_node("ReduceMean", ["e"], ["y"], axes=[1], keepdims=0),
        ],
        "tokens",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, "length"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [table],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, tmp_path / "tokens.onnx")
    return tmp_path / "tokens.onnx"


def test_an_onnx_input_keeps_its_declared_dtype(tmp_path: Path, token_onnx: Path) -> None:
    shown = run_workbench("inspect", str(token_onnx), "--shape", "ids=1x16", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["inputs"][0]["dtype"] == "int64"  # not float32
    timed = run_workbench("bench", str(token_onnx), "--shape", "ids=1x16", *QUICK)
    assert timed.returncode == 0, timed.stderr
    conflicting = run_workbench("bench", str(token_onnx), "--shape", "ids=1x16:float32")
    _one_line_error(conflicting, "the model declares 'ids' as int64; leave the dtype out")


def test_a_bad_dtype_is_argparses_one_line(token_onnx: Path) -> None:
    result = run_workbench("inspect", str(token_onnx), "--shape", "ids=1x16:long")
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .endswith(
            "dtype 'long' is not one of float32, float16, float64, int64, int32, int8, uint8, bool"
        )
    )
