"""Real model files made on the spot for the io tests: torch modules, ONNX protos, factories."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

FACTORY_MODULE = "wb_io_test_nets"


def _small_sequential(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 8 * 8, 10),
    ).eval()


@pytest.fixture
def make_sequential() -> Callable[..., torch.nn.Module]:
    """Conv on 1x8x8 then Linear, made only of torch classes (unpicklable anywhere)."""
    return _small_sequential


@pytest.fixture
def factory_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An importable ``module:factory`` (a real file on sys.path) building a SmallCNN twin."""
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / f"{FACTORY_MODULE}.py").write_text(
        textwrap.dedent(
            """
            import torch

            class Net(torch.nn.Module):
                def __init__(self, classes=10):
                    super().__init__()
                    self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
                    self.fc = torch.nn.Linear(4 * 8 * 8, classes)

                def forward(self, x):
                    return self.fc(torch.relu(self.conv(x)).flatten(1))

            def net():
                return Net()

            def wide_net():
                return Net(classes=12)

            def not_a_module():
                return 42
            """
        )
    )
    monkeypatch.syspath_prepend(str(folder))
    yield f"{FACTORY_MODULE}:net"
    sys.modules.pop(FACTORY_MODULE, None)


def _linear_onnx(batch: str | int = "batch", features: int = 16, out: int = 8) -> onnx.ModelProto:
    """y = x @ W + b with a symbolic batch; W and b are 512 and 32 bytes of float32."""
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((features, out)).astype(np.float32)
    bias = rng.standard_normal(out).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["xw"]),
            helper.make_node("Add", ["xw", "b"], ["y"]),
        ],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, features])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, out])],
        initializer=[numpy_helper.from_array(weight, "W"), numpy_helper.from_array(bias, "b")],
    )
    # IR 10: onnxruntime runs IR <= 13, and onnx 1.23's helper would stamp 14.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    onnx.checker.check_model(model)
    return model


@pytest.fixture
def linear_onnx() -> Callable[..., onnx.ModelProto]:
    return _linear_onnx


@pytest.fixture
def onnx_file(tmp_path: Path) -> Path:
    path = tmp_path / "linear.onnx"
    onnx.save_model(_linear_onnx(), path)
    return path


@pytest.fixture
def external_onnx(tmp_path: Path) -> tuple[Path, onnx.ModelProto]:
    """A model whose W and b live in ``weights.bin`` beside it; returns (path, original)."""
    original = _linear_onnx()
    folder = tmp_path / "ext"
    folder.mkdir()
    path = folder / "model.onnx"
    onnx.save_model(
        _linear_onnx(),
        path,
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="weights.bin",
        size_threshold=0,
    )
    return path, original
