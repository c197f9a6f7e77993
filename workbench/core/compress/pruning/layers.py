"""Which layers pruning may touch, the data it is given, and fine-tuning between steps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workbench.core.context import RunContext
from workbench.core.errors import DataError, WorkbenchError
from workbench.core.io.loaded import LoadedModel


@dataclass(frozen=True)
class PrunableLayer:
    """A convolution or linear layer: what the layer tree and the sensitivity scan list."""

    name: str
    kind: str  # "Conv2d", "Linear", ...
    channels: int  # output channels / features
    weights: int
    depthwise: bool = False
    classifier: bool = False  # the last Linear: the class outputs


def prunable_layers(module: Any) -> list[PrunableLayer]:
    """Conv and Linear layers in definition order; the last Linear is the classifier."""
    from torch import nn

    kinds = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
    found = [(n, m) for n, m in module.named_modules() if isinstance(m, kinds) and n]
    last_linear = next((n for n, m in reversed(found) if isinstance(m, nn.Linear)), None)
    return [
        PrunableLayer(
            name=name,
            kind=type(layer).__name__,
            channels=int(layer.weight.shape[0]),
            weights=int(layer.weight.numel()),
            depthwise=isinstance(layer, nn.modules.conv._ConvNd)
            and layer.groups > 1
            and layer.groups == layer.in_channels,
            classifier=name == last_linear,
        )
        for name, layer in found
    ]


def ignored_modules(module: Any, ignore: list[str], keep_classifier: bool) -> list[Any]:
    """The modules named in ``ignore`` (a name covers its children), plus the classifier."""
    named = dict(module.named_modules())
    unknown = [name for name in ignore if name not in named]
    if unknown:
        close = ", ".join(sorted(n for n in named if n)[:8])
        raise WorkbenchError(f"ignore: no layer named {', '.join(unknown)} (layers: {close}, ...)")
    chosen = [named[name] for name in ignore]
    if keep_classifier:
        classifier = next((layer for layer in prunable_layers(module) if layer.classifier), None)
        if classifier is not None:
            chosen.append(named[classifier.name])
    return chosen


def kept_at_least_a_multiple(
    module: Any,
    ratio: float,
    round_to: int,
    ratios: dict[Any, float] | None = None,
    ignored: list[Any] | None = None,
) -> dict[Any, float]:
    """Per-layer ratios (module -> ratio, ``ratios`` first) where ``ratio`` would leave a
    layer fewer than ``round_to`` channels: such a layer keeps ``round_to``.

    Torch-Pruning rounds the channels a layer keeps down to a multiple of ``round_to``;
    below one multiple that is 0 channels, which it refuses, so the layer stayed whole: a
    width-2 ResNet pruned 0.9375 with multiples of 8 kept its 64-channel stage at 64 while
    the 256-channel one went to 16 (3x faster where 0.875 was 19x). Hand-written: the
    library has no floor of its own.
    """
    out = dict(ratios or {})
    if round_to <= 1:
        return out
    skip = {id(m) for m in ignored or []}
    named = dict(module.named_modules())
    for layer in prunable_layers(module):
        target = named[layer.name]
        if id(target) in skip or layer.depthwise:
            continue
        asked = out.get(target, ratio)
        if int(layer.channels * (1 - asked)) >= round_to:
            continue
        # Half a channel of margin: 1 - 8/96 does not give back 8.0 in floating point.
        out[target] = max(0.0, 1 - (round_to + 0.5) / layer.channels)
    return out


def check_layer_names(module: Any, names: list[str] | dict[str, float], field: str) -> None:
    known = {name for name, _ in module.named_modules()}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise WorkbenchError(f"{field}: no layer named {', '.join(unknown)}")


def dataset_of(ctx: RunContext, why: str, *, model: Any = None, required: bool = True) -> Any:
    """The dataset the caller put in ``ctx.data`` (an ArrayDataset, or a name or path, as
    recipes give it; an image folder read at ``model``'s input size); a clear error when
    one is needed."""
    dataset = ctx.data
    if isinstance(dataset, str):
        from workbench.core.data.resolve import resolve_dataset
        from workbench.core.measure.inputs import data_for

        dataset = ctx.data = (  # once for the whole pass
            data_for(model, dataset, seed=ctx.seed, text_options=ctx.text)
            if isinstance(model, LoadedModel)
            else resolve_dataset(dataset, seed=ctx.seed)
        )
    if dataset is None and required:
        raise DataError(f"{why} needs data: pass --data (a dataset name or a path)")
    return dataset


def example_input(model: LoadedModel, device: Any) -> Any:
    """A batch-of-one input for tracing, from the model's declared input spec."""
    import torch

    if not model.inputs:
        raise WorkbenchError(
            f"{model.display_name}: the input shape is unknown; pass --shape input=1x3x32x32"
        )
    spec = model.inputs[0]
    shape = (1, *spec.shape[1:])
    if spec.dtype.startswith("int"):
        return torch.zeros(shape, dtype=getattr(torch, spec.dtype), device=device)
    generator = torch.Generator().manual_seed(0)
    return torch.randn(shape, generator=generator).to(device)


def prepare(model: LoadedModel, config: Any, ctx: RunContext) -> tuple[Any, Any, Any, dict]:
    """(the copy to change, its module on the run's device, the device, layer amounts)."""
    from workbench.core.compress.base import copy_model
    from workbench.core.compress.pruning.config import parse_layer_amounts
    from workbench.core.device import resolve_device

    device = resolve_device(ctx.device)
    result = copy_model(model)
    module = result.module.to(device).eval()
    overrides = parse_layer_amounts(getattr(config, "layer_amounts", []))
    check_layer_names(module, overrides, "layer_amounts")
    return result, module, device, overrides


def finetune(
    module: Any,
    model: LoadedModel,
    dataset: Any,
    config: Any,
    *,
    step: int,
    ctx: RunContext,
    span: tuple[float, float],
) -> dict[str, Any]:
    """Train ``module`` in place for ``config.finetune_epochs`` (after pruning step
    ``step``) with the training engine; returns the run's metrics.

    The Trainer trains a copy; its weights are loaded back into ``module`` so the
    pruner (which holds references to these very layers) and the masks of unstructured
    pruning (``weight_orig``/``weight_mask`` in the state_dict) stay valid.
    """
    from workbench.core.train import Trainer, suggest_config
    from workbench.core.train.setup import stacked_inputs

    train = suggest_config(model.arch, dataset.name, texts=stacked_inputs(dataset))
    train.epochs = config.finetune_epochs
    train.warmup_epochs = 0.0
    train.device = ctx.device
    train.seed = ctx.seed
    if config.finetune_lr is not None:
        train.lr = config.finetune_lr
    label = f"step {step}/{getattr(config, 'steps', 1)}"
    low, high = span

    def progress(fraction: float | None, message: str) -> None:
        share = low + (high - low) * (fraction or 0.0)
        ctx.report(share, f"{label}: fine-tuning, {message}")

    inner = RunContext(device=ctx.device, progress=progress, cancel=ctx.cancel, seed=ctx.seed)
    listeners: list[Callable[[Any], None]] = list(ctx.train_listeners)
    trainer = Trainer(module, dataset, train, inner, listeners=listeners)
    result = trainer.fit()
    ctx.check()  # a cancel during training ends the pass, not only the run
    device = next(module.parameters()).device
    module.load_state_dict(result.model.to(device).state_dict())
    module.eval()
    return dict(result.metrics)


def validation_accuracy(module: Any, dataset: Any, device: Any, limit: int | None = None) -> float:
    """Top-1 on the validation split (or its first ``limit`` samples), in eval mode."""
    import contextlib

    from workbench.core.train.setup import evaluate, stacked_inputs

    x, y = dataset.val_tensors().tensors
    if limit:
        x, y = x[:limit], y[:limit]
    if len(x) == 0:
        raise DataError(f"dataset {dataset.name!r} has no validation samples")
    stacked = stacked_inputs(dataset)  # texts: ids and masks on axis 1
    _, accuracy = evaluate(
        module, x.to(device), y.to(device), 512, contextlib.nullcontext, stacked=stacked
    )
    return accuracy
