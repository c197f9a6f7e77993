"""The example plugins in plugins/: a pass, a dataset and model factories, used for real."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from workbench.core.catalogue import get_registry
from workbench.core.compress import run_pass
from workbench.core.context import Cancelled, RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io import load


def _random_prune() -> type:
    return get_registry().pass_("random-prune").load()


def _layers(module: nn.Module) -> dict[str, nn.Module]:
    return {n: m for n, m in module.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}


def _sparsity(layers: dict[str, nn.Module]) -> float:
    zeros = sum(int((m.weight == 0).sum()) for m in layers.values())
    return zeros / sum(m.weight.numel() for m in layers.values())


@pytest.mark.parametrize("amount", [0.3, 0.75])
def test_random_prune_reaches_the_sparsity_and_leaves_the_input_alone(amount: float) -> None:
    model = load("zoo:digits_cnn")
    before = {k: v.clone() for k, v in model.module.state_dict().items()}
    progress: list[float | None] = []
    ctx = RunContext(progress=lambda fraction, _msg: progress.append(fraction))
    result = run_pass(_random_prune(), model, {"amount": amount, "seed": 3}, ctx)

    assert all(torch.equal(v, before[k]) for k, v in model.module.state_dict().items())
    assert _sparsity(_layers(model.module)) < 0.01
    pruned = _layers(result.model.module)
    assert result.model.module is not model.module and len(pruned) == 5
    assert abs(result.metrics["sparsity"] - amount) < 0.002
    assert abs(_sparsity(pruned) - amount) < 0.002
    for name, layer in pruned.items():  # per-layer: every layer at the asked fraction
        assert abs(float((layer.weight == 0).float().mean()) - amount) < 0.01, name
        assert not hasattr(layer, "weight_mask") and not hasattr(layer, "weight_orig")
    assert progress[-1] == 1.0
    assert any("no speed" in note for note in result.notes)
    with torch.no_grad():  # still a working model
        assert result.model.module(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_random_prune_is_seeded_and_follows_the_runs_seed() -> None:
    model = load("zoo:digits_mlp")
    cls = _random_prune()

    def masks(config: dict, seed: int = 0) -> list[torch.Tensor]:
        result = run_pass(cls, model, config, RunContext(seed=seed))
        return [m.weight == 0 for m in _layers(result.model.module).values()]

    same = zip(masks({"seed": 5}), masks({"seed": 5}), strict=True)
    assert all(torch.equal(a, b) for a, b in same)
    assert not all(
        torch.equal(a, b) for a, b in zip(masks({"seed": 5}), masks({"seed": 6}), strict=True)
    )
    by_run = zip(masks({}, seed=5), masks({"seed": 5}), strict=True)
    assert all(torch.equal(a, b) for a, b in by_run)  # no seed in the config: the run's seed


def test_global_scope_layer_choice_and_classifier() -> None:
    model = load("zoo:digits_cnn")
    cls = _random_prune()
    overall = run_pass(cls, model, {"amount": 0.5, "scope": "global", "seed": 1})
    layers = _layers(overall.model.module)
    assert abs(_sparsity(layers) - 0.5) < 0.002
    fractions = [float((m.weight == 0).float().mean()) for m in layers.values()]
    assert max(fractions) - min(fractions) > 0.005  # one draw over all: layers differ

    kept = run_pass(cls, model, {"amount": 0.5, "keep_classifier": True})
    last = list(_layers(kept.model.module))[-1]
    assert torch.equal(_layers(kept.model.module)[last].weight, _layers(model.module)[last].weight)
    assert kept.metrics["pruned_layers"] == 4

    linear_only = run_pass(cls, model, {"amount": 0.5, "layers": ["Linear"]})
    for layer in _layers(linear_only.model.module).values():
        assert (float((layer.weight == 0).float().mean()) > 0.4) == isinstance(layer, nn.Linear)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the TorchScript exporter
def test_random_prune_explains_what_it_cannot_do(tmp_path: Path) -> None:
    cls = _random_prune()
    mlp = load("zoo:digits_mlp")
    with pytest.raises(WorkbenchError, match=r"^random-prune: amount must be between 0 and 1"):
        run_pass(cls, mlp, {"amount": 1.5})
    with pytest.raises(WorkbenchError, match=r"^step 2 \(random-prune\): unknown setting 'amout'"):
        run_pass(cls, mlp, {"amout": 0.5}, where="step 2 (random-prune)")
    with pytest.raises(WorkbenchError, match="has no Conv layers to prune"):
        run_pass(cls, mlp, {"layers": ["Conv"]})
    path = tmp_path / "mlp.onnx"
    torch.onnx.export(mlp.module, (torch.zeros(1, 1, 8, 8),), str(path), dynamo=False)
    with pytest.raises(WorkbenchError) as info:
        run_pass(cls, load(path), {})
    assert info.value.message == (
        "random-prune works on pytorch models; mlp.onnx is onnx: open the PyTorch model "
        "instead (a checkpoint with --arch, or zoo:NAME)"
    )


def test_random_prune_stops_when_cancelled() -> None:
    model = load("zoo:digits_cnn")
    before = {k: v.clone() for k, v in model.module.state_dict().items()}
    ctx = RunContext()
    ctx.cancel.cancel()
    with pytest.raises(Cancelled):
        run_pass(_random_prune(), model, {}, ctx)
    assert all(torch.equal(v, before[k]) for k, v in model.module.state_dict().items())


def test_blobs_dataset_loads_through_the_registry_and_is_learnable() -> None:
    data = get_registry().dataset("blobs").load()
    assert data.input_shape == (2,) and data.x_train.dtype == np.float32
    assert (data.num_train, data.num_val, data.num_classes) == (800, 200, 4)
    assert np.bincount(data.y_train).tolist() == [200] * 4
    again = get_registry().dataset("blobs").load()
    assert np.array_equal(data.x_train, again.x_train)
    assert not np.array_equal(data.x_val, get_registry().dataset("blobs").load(seed=1).x_val)
    with pytest.raises(WorkbenchError, match="positive spread"):
        get_registry().dataset("blobs").load(spread=0)

    model = load("zoo:blobs_mlp").module
    x, y = data.train_tensors().tensors
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    torch.manual_seed(0)
    model.train()
    for _ in range(60):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    model.eval()
    x_val, y_val = data.val_tensors().tensors
    with torch.no_grad():
        accuracy = (model(x_val).argmax(1) == y_val).float().mean().item()
    assert accuracy > 0.85  # four blobs on a circle of radius 3, spread 1: mostly separable


def test_tiny_models_build_through_zoo_names() -> None:
    small = load("zoo:tiny_digits_cnn:channels=2")
    default = load("zoo:tiny_digits_cnn")
    assert small.arch == "tiny_digits_cnn:channels=2" and small.dataset == "digits"
    count = lambda m: sum(p.numel() for p in m.module.parameters())  # noqa: E731
    assert count(small) < count(default) < 1000
    shapes = load("zoo:tiny_shapes_cnn")
    assert [spec.shape for spec in shapes.inputs] == [(1, 3, 32, 32)]
    with torch.no_grad():
        assert shapes.module(torch.zeros(3, 3, 32, 32)).shape == (3, 10)
    with pytest.raises(WorkbenchError, match="channels and convs must be at least 1"):
        load("zoo:tiny_digits_cnn:channels=0")
