"""The pruning passes on real zoo models: shapes, sparsity, targets, scans, reopening."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from workbench.core.compress import run_pass
from workbench.core.compress.pruning.layers import prunable_layers
from workbench.core.compress.pruning.sensitivity import sensitivity_scan
from workbench.core.compress.pruning.structured import ChannelPrune, count_macs_params
from workbench.core.compress.pruning.unstructured import MagnitudePrune
from workbench.core.context import Cancelled, RunContext
from workbench.core.data.digits import load_digits
from workbench.core.errors import DataError, WorkbenchError
from workbench.core.io import InputSpec, LoadedModel, ModelFormat, load
from workbench.core.measure.runners import torch_threads
from workbench.core.measure.torch_to_onnx import torch_to_onnx
from workbench.core.train import Trainer, suggest_config


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Train and prune on one intra-op thread here: on a shared 2-core machine two
    spinning OpenMP threads make these tiny models several times slower, not faster."""
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def trained_digits(digits) -> LoadedModel:
    """The digits CNN after a few seconds of training (~95 % on validation)."""
    source = load("zoo:digits_cnn")
    config = suggest_config("digits_cnn", "digits")
    config.epochs = 3
    result = Trainer(source.module, digits, config).fit()
    return dataclasses.replace(source, module=result.model)


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _runs_on_ort(model: LoadedModel) -> np.ndarray:
    proto = torch_to_onnx(model, label="pruned", dynamic_batch=True).model
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    shape = (3, *model.inputs[0].shape[1:])
    feed = {session.get_inputs()[0].name: np.random.default_rng(0).random(shape, np.float32)}
    return session.run(None, feed)[0]


@pytest.mark.parametrize("name", ["digits_cnn", "resnet_shapes", "mobilenet_shapes"])
def test_channel_pruning_makes_each_zoo_cnn_smaller_and_it_still_runs_and_exports(name) -> None:
    source = load(f"zoo:{name}")
    before = {k: v.clone() for k, v in source.module.state_dict().items()}
    result = run_pass(ChannelPrune, source, {"method": "l2", "amount": 0.5})
    pruned = result.model.module
    assert _params(pruned) < 0.4 * _params(source.module)
    assert result.metrics["macs_reduction"] > 2.5
    x = torch.randn(source.inputs[0].shape)
    assert pruned(x).shape == (1, 10)
    assert _runs_on_ort(result.model).shape == (3, 10)
    # the input model is untouched, and the classifier keeps its ten outputs
    assert all(torch.equal(before[k], v) for k, v in source.module.state_dict().items())
    classifier = next(layer for layer in prunable_layers(pruned) if layer.classifier)
    assert classifier.channels == 10
    if name == "mobilenet_shapes":  # depthwise convs stay depthwise, at the new width
        depthwise = [m for m in pruned.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
        assert depthwise and all(m.groups == m.in_channels == m.out_channels for m in depthwise)


class ConcatGroups(nn.Module):
    """Two branches concatenated, then a grouped (not depthwise) conv and a classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.left = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.right = nn.Sequential(nn.Conv2d(3, 16, 1), nn.BatchNorm2d(16), nn.ReLU())
        self.grouped = nn.Conv2d(32, 32, 3, padding=1, groups=4)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(32, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        joined = torch.cat([self.left(x), self.right(x)], dim=1)
        return self.classifier(self.pool(torch.relu(self.grouped(joined))).flatten(1))


def test_channel_pruning_follows_concatenation_and_grouped_convs() -> None:
    torch.manual_seed(0)
    source = LoadedModel(
        format=ModelFormat.ZOO, path=None, inputs=[InputSpec("x", (1, 3, 16, 16))],
        module=ConcatGroups().eval(),
    )  # fmt: skip
    result = run_pass(ChannelPrune, source, {"method": "l1", "amount": 0.5})
    pruned = result.model.module
    assert pruned.left[0].out_channels + pruned.right[0].out_channels == pruned.grouped.in_channels
    assert pruned.grouped.groups == 4 and pruned.grouped.in_channels < 32
    assert pruned(torch.randn(2, 3, 16, 16)).shape == (2, 5)
    assert _runs_on_ort(result.model).shape == (3, 5)


def test_channel_pruning_to_a_macs_target_reaches_it(digits) -> None:
    source = load("zoo:digits_cnn")
    result = run_pass(ChannelPrune, source, {"amount": 0.6, "target": "macs"})
    reduction = 1 - result.metrics["macs_after"] / result.metrics["macs_before"]
    assert 0.6 <= reduction < 0.7
    params = run_pass(ChannelPrune, source, {"amount": 0.3, "target": "params"})
    assert 0.3 <= 1 - params.metrics["params_after"] / params.metrics["params_before"] < 0.4


def test_ignored_layers_and_per_layer_amounts_are_respected() -> None:
    source = load("zoo:digits_cnn")
    config = {"amount": 0.5, "ignore": ["head.1"], "layer_amounts": ["features.0.0=0.25"]}
    channels = run_pass(ChannelPrune, source, config).metrics["layer_channels"]
    assert channels["head.1"] == [128, 128]
    assert channels["features.0.0"] == [32, 24]
    assert channels["features.1.0"] == [64, 32]
    with pytest.raises(WorkbenchError, match="no layer named nope"):
        run_pass(ChannelPrune, source, {"ignore": ["nope"]})


def test_a_layer_left_below_one_multiple_keeps_one_not_all() -> None:
    """Torch-Pruning rounds what a layer keeps down to a multiple of round_to; below one
    multiple that was no pruning at all (the 64-channel stage of a width-2 ResNet stayed
    64 at 0.9375 while the 256-channel one went to 16)."""
    source = load("zoo:resnet_shapes:width=2")
    channels = run_pass(ChannelPrune, source, {"amount": 0.9375, "round_to": 8}).metrics[
        "layer_channels"
    ]
    convs = {name: kept for name, (_, kept) in channels.items() if name != "fc"}
    assert all(kept in (8, 16) for kept in convs.values()), convs
    assert max(kept for before, kept in channels.values() if before == 64) == 8
    fewer = run_pass(ChannelPrune, source, {"amount": 0.9375, "round_to": 8,
                                            "layer_amounts": ["stem.0=0.5"]})  # fmt: skip
    assert fewer.metrics["layer_channels"]["stem.0"] == [64, 32]  # an asked amount stays


@pytest.mark.parametrize("scope", ["global", "per-layer"])
def test_magnitude_pruning_reaches_the_asked_sparsity(scope) -> None:
    source = load("zoo:digits_cnn")
    result = run_pass(MagnitudePrune, source, {"amount": 0.8, "scope": scope})
    module = result.model.module
    layers = result.metrics["layer_sparsity"]
    assert result.metrics["sparsity"] == pytest.approx(0.8, abs=1e-3)
    assert "fc" not in layers and float((module.fc.weight == 0).float().mean()) == 0.0
    if scope == "per-layer":
        assert all(value == pytest.approx(0.8, abs=2e-3) for value in layers.values())
    else:  # one threshold: layers end up with different sparsity
        assert max(layers.values()) - min(layers.values()) > 0.05
    assert not any(name.endswith("_orig") for name, _ in module.named_parameters())  # permanent
    assert float((source.module.features[0][0].weight == 0).float().mean()) == 0.0


def test_iterative_magnitude_pruning_keeps_its_zeros_through_fine_tuning(
    trained_digits, digits
) -> None:
    ctx = RunContext(data=digits)
    config = {"amount": 0.8, "steps": 2, "finetune_epochs": 1}
    result = run_pass(MagnitudePrune, trained_digits, config, ctx)
    assert result.metrics["sparsity"] == pytest.approx(0.8, abs=1e-3)
    assert result.metrics["finetune"]["val_accuracy"] > 0.85
    assert any("no dense model faster" in note for note in result.notes)


def test_taylor_needs_data_and_ranks_with_gradients(trained_digits, digits) -> None:
    with pytest.raises(DataError, match="needs data"):
        run_pass(ChannelPrune, trained_digits, {"method": "taylor"})
    ctx = RunContext(data=digits)
    taylor = run_pass(ChannelPrune, trained_digits, {"method": "taylor"}, ctx).model.module
    l1 = run_pass(ChannelPrune, trained_digits, {"method": "l1"}).model.module
    assert taylor.features[1][0].weight.shape == l1.features[1][0].weight.shape
    assert not torch.equal(taylor.features[1][0].weight, l1.features[1][0].weight)


def test_sensitivity_scan_matches_really_pruned_accuracy(trained_digits, digits) -> None:
    from workbench.core.compress.pruning.layers import validation_accuracy

    report = sensitivity_scan(trained_digits, digits, ratios=[0.5, 0.9], max_samples=None)
    assert set(report.accuracy) == {"features.0.0", "features.1.0", "features.3.0", "head.1"}
    assert report.baseline > 0.85
    # pruning features.1.0 alone at 50 % really gives the accuracy the scan reported
    alone = {"amount": 0.0, "layer_amounts": ["features.1.0=0.5"]}
    pruned = run_pass(ChannelPrune, trained_digits, alone).model.module
    assert pruned.features[1][0].out_channels == 32
    real = validation_accuracy(pruned, digits, torch.device("cpu"))
    assert real == pytest.approx(report.accuracy["features.1.0"][0], abs=1e-9)
    # 90 % of the first layer's 32 filters hurts more than half of them
    assert report.accuracy["features.0.0"][1] < report.accuracy["features.0.0"][0]
    amounts = report.suggest_amounts(max_drop=0.02)
    assert set(amounts) == set(report.accuracy) and set(amounts.values()) <= {0.0, 0.5, 0.9}
    unstructured = sensitivity_scan(trained_digits, digits, structured=False, ratios=[0.5])
    assert unstructured.method == "magnitude" and len(unstructured.accuracy) == 4


def test_cancel_stops_a_pass_and_a_scan(trained_digits, digits) -> None:
    ctx = RunContext(data=digits)
    ctx.cancel.cancel()
    with pytest.raises(Cancelled):
        run_pass(MagnitudePrune, trained_digits, {"finetune_epochs": 1}, ctx)
    with pytest.raises(Cancelled):
        sensitivity_scan(trained_digits, digits, ctx=ctx)


def test_a_structurally_pruned_checkpoint_reopens_with_its_arch(tmp_path: Path) -> None:
    from workbench.core.io.pruned_shapes import pruned_checkpoint

    source = load("zoo:mobilenet_shapes")
    pruned = run_pass(ChannelPrune, source, {"amount": 0.4}).model.module
    path = tmp_path / "model.pt"
    torch.save(pruned_checkpoint(pruned), path)
    reopened = load(path, arch="mobilenet_shapes")
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(reopened.module(x), pruned(x), atol=1e-6)
    assert count_macs_params(reopened.module, x[:1]) == count_macs_params(pruned, x[:1])
    with pytest.raises(WorkbenchError, match="--arch"):
        load(path, arch="resnet_shapes")


@pytest.mark.slow
def test_a_latency_target_is_searched_with_onnx_runtime_timings() -> None:
    source = load("zoo:resnet_shapes")
    result = run_pass(ChannelPrune, source, {"amount": 0.3, "target": "latency"})
    ratio = result.metrics["channel_ratio"]
    assert 0.0 < ratio < 0.9  # found inside the range, neither end
    assert result.metrics["macs_reduction"] > 1.2


@pytest.mark.parametrize(
    ("name", "settings"),
    [
        ("resnet_shapes", {"amount": 0.5}),
        ("mobilenet_shapes", {"amount": 0.4, "scope": "global", "method": "l2"}),
        ("digits_cnn", {"amount": 0.5, "target": "macs", "layer_amounts": ["features.0.0=0.25"]}),
    ],
)
def test_the_group_preview_is_what_the_pass_then_removes(name: str, settings: dict) -> None:
    from workbench.core.compress.pruning.config import ChannelPruneConfig
    from workbench.core.compress.pruning.groups import OUT, preview_groups
    from workbench.core.config_schema import config_from_dict

    source = load(f"zoo:{name}")
    before = {k: v.clone() for k, v in source.module.state_dict().items()}
    config = config_from_dict(ChannelPruneConfig, settings)
    preview = preview_groups(source, config)
    assert all(torch.equal(before[k], v) for k, v in source.module.state_dict().items())
    assert preview.groups and 0 < preview.removed < preview.channels

    result = run_pass(ChannelPrune, source, config)
    assert preview.ratio == pytest.approx(result.metrics["channel_ratio"])
    shapes = dict(result.model.module.named_modules())
    for group in preview.groups:
        for layer, side in ((group.root, OUT), *group.members):
            if side == OUT and hasattr(shapes[layer], "weight"):  # shrinks with its root
                after = shapes[layer].weight.shape[0]
                assert after == group.channels - group.removed, (group.root, layer)


def test_a_taylor_preview_needs_data(digits) -> None:
    from workbench.core.compress.pruning.config import ChannelPruneConfig
    from workbench.core.compress.pruning.groups import preview_groups

    config = ChannelPruneConfig(amount=0.3, method="taylor")
    with pytest.raises(DataError, match="needs data"):
        preview_groups(load("zoo:digits_cnn"), config)
    ctx = RunContext(data=digits)
    assert preview_groups(load("zoo:digits_cnn"), config, ctx).removed > 0
