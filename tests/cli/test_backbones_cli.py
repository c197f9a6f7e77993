"""Standard backbones from the command line, as a user runs them (a fresh interpreter):
``tv:resnet50`` and timm's MobileNetV3 inspect, structured-prune and quantize (static
INT8) on a folder of 224x224 JPEGs; a recipe naming ``arch: tv:...`` replays."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from fixtures.cli import run_workbench
from fixtures.image_folder import write_shape_folder

from workbench.core.io import load

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("timm") is None, reason="the vision extra is not installed"
    ),
]
BACKBONES = ["tv:resnet50:num_classes=3", "timm:mobilenetv3_small_100:num_classes=3"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_shape_folder(tmp_path_factory.mktemp("images") / "shapes", side=224)


def _ok(result) -> str:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def _channels(module: torch.nn.Module) -> list[int]:
    return [m.out_channels for m in module.modules() if isinstance(m, torch.nn.Conv2d)]


def test_inspect_names_the_backbone_and_its_224_input() -> None:
    out = _ok(run_workbench("inspect", "tv:resnet50"))
    assert out.startswith("tv:resnet50  (torchvision)")
    assert "25,557,032" in out and "1x3x224x224" in out and "4.09 G" in out


@pytest.mark.parametrize("backbone", BACKBONES)
def test_prune_then_quantize_on_an_image_folder(
    backbone: str, folder: Path, tmp_path: Path
) -> None:
    before = load(backbone)
    pruned = tmp_path / "pruned"
    _ok(run_workbench(
        "prune", backbone, "--data", str(folder), "--structured", "--amount", "0.5",
        "--round-to", "8", "--no-measure", "--out", str(pruned),
    ))  # fmt: skip
    reopened = load(pruned)
    assert reopened.arch == backbone and reopened.image_size == (224, 224)
    kept, full = _channels(reopened.module), _channels(before.module)
    assert sum(kept) < 0.75 * sum(full)  # half the prunable channels went
    narrowed = [k for k, f in zip(kept, full, strict=True) if k < f]
    assert narrowed and all(k % 8 == 0 for k in narrowed)

    quantized = tmp_path / "int8"
    out = _ok(run_workbench(
        "quantize", str(pruned), "--method", "static", "--data", str(folder),
        "--batch", "1", "--seconds", "0.05", "--out", str(quantized),
    ))  # fmt: skip
    assert "INT8 static" in out and "top-1:" in out
    proto = onnx.load(str(quantized / "model.onnx"))
    assert any(node.op_type == "QuantizeLinear" for node in proto.graph.node)
    (shape,) = [[d.dim_value or 1 for d in i.type.tensor_type.shape.dim] for i in proto.graph.input]
    assert shape[1:] == [3, 224, 224]  # calibrated and exported at the backbone's size
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    sample = np.zeros([1, 3, 224, 224], np.float32)
    assert session.run(None, {session.get_inputs()[0].name: sample})[0].shape == (1, 3)


def test_a_recipe_naming_a_backbone_replays(folder: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "recipe: 1\n"
        "arch: tv:resnet18:num_classes=3\n"  # no model file: fresh weights, no --trust
        f"data: {folder}\n"
        "steps:\n"
        "  - pass: channel-prune\n"
        "    config: {amount: 0.5, round_to: 8}\n"
    )
    _ok(run_workbench("run", "--check", str(recipe)))
    _ok(run_workbench("run", str(recipe), "--out", str(tmp_path / "out")))
    steps = sorted(p for p in (tmp_path / "out").iterdir() if (p / "variant.json").is_file())
    assert [p.name[:2] for p in steps] == ["00", "01"]
    pruned = load(steps[-1])
    assert pruned.arch == "tv:resnet18:num_classes=3"
    assert sum(_channels(pruned.module)) < sum(_channels(load(steps[0]).module))


def test_an_unknown_backbone_is_one_line() -> None:
    result = run_workbench("inspect", "tv:resnet5")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "did you mean tv:resnet50" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
