"""Structured channel pruning with Torch-Pruning's DepGraph: channels physically removed.

Torch-Pruning traces the network once and groups every tensor slice that must shrink
together (a conv's filters, the BatchNorm after it, the next layers' inputs, both
sides of a residual add, the parts of a concatenation, a depthwise conv's groups), so
each removed channel leaves a smaller, still consistent network. Channels are ranked by
L1/L2 weight magnitude, BatchNorm scale or Taylor (|w x dL/dw| on training batches).
A MACs, parameter or latency target is met by searching the channel ratio that reaches
it on a copy; iterative schedules prune in steps with fine-tuning between them.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any

from workbench.core.compress.base import Pass, PassResult
from workbench.core.compress.pruning.config import ChannelPruneConfig
from workbench.core.compress.pruning.layers import (
    dataset_of,
    example_input,
    finetune,
    ignored_modules,
    kept_at_least_a_multiple,
    prepare,
    prunable_layers,
)
from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel

SEARCH_ROUNDS = 8  # bisection rounds of a MACs/params target: ratio within 0.4 %
LATENCY_ROUNDS = 5  # latency is noisier than 3 %: more rounds would chase noise
SEARCH_SHARE = 0.25  # of the progress bar, when a target is searched


class ChannelPrune(Pass):
    name = "channel-prune"
    title = "Channel pruning (structured)"
    description = (
        "Removes whole channels and filters, with everything that depends on them "
        "(BatchNorm, the next layer's inputs, both sides of residual adds and "
        "concatenations, depthwise groups), found by Torch-Pruning's dependency graph. "
        "The model gets really smaller and faster; accuracy drops more than with "
        "unstructured pruning and usually needs fine-tuning to come back."
    )
    config_class = ChannelPruneConfig
    frameworks = ("pytorch",)

    def apply(self, model: LoadedModel, config: Any, ctx: RunContext) -> PassResult:
        result, module, device, overrides = prepare(model, config, ctx)
        example = example_input(model, device)
        needs_data = config.finetune_epochs > 0 or config.method == "taylor"
        dataset = dataset_of(ctx, f"{config.method} pruning", model=model, required=needs_data)
        before = layer_channels(module)
        macs0, params0 = count_macs_params(module, example)
        ratio, span = config.amount, (0.0, 1.0)
        if config.target != "channels":
            ratio = search_ratio(module, model, config, overrides, example, dataset, ctx)
            span = (SEARCH_SHARE, 1.0)
        pruner = make_pruner(module, config, ratio, overrides, example)
        train_metrics: list[dict[str, Any]] = []
        low, high = span
        for step in range(1, config.steps + 1):
            ctx.check()
            start = low + (high - low) * (step - 1) / config.steps
            end = low + (high - low) * step / config.steps
            if config.method == "taylor":
                accumulate_gradients(module, dataset, config.taylor_batches, device)
            pruner.step()
            module.zero_grad(set_to_none=True)
            ctx.report(start + 0.1 * (end - start), f"step {step}/{config.steps}: pruned")
            if config.finetune_epochs:
                span_step = (start + 0.1 * (end - start), end)
                tuned = finetune(module, model, dataset, config, step=step, ctx=ctx, span=span_step)
                train_metrics.append(tuned)
        macs1, params1 = count_macs_params(module, example)
        after = layer_channels(module)
        result.module = module.cpu().eval()
        result.notes.append(
            f"{self.name}: {config.method}, channel ratio {ratio:.3f}, MACs {macs0 / macs1:.2f}x "
            f"fewer, parameters {params0 / params1:.2f}x fewer"
        )
        metrics: dict[str, Any] = {
            "channel_ratio": ratio,
            "macs_before": macs0,
            "macs_after": macs1,
            "params_before": params0,
            "params_after": params1,
            "macs_reduction": macs0 / macs1 if macs1 else float("inf"),
            "params_reduction": params0 / params1 if params1 else float("inf"),
            "layer_channels": {n: [before[n], after.get(n, 0)] for n in before},
        }
        if train_metrics:
            metrics["finetune"] = train_metrics[-1]
        ctx.report(1.0, "pruned")
        return PassResult(
            model=result,
            metrics=metrics,
            notes=["Structured pruning changed the layer shapes: reopen the saved weights "
                   "with the same --arch (model.pt records the pruned layer shapes)."],
        )  # fmt: skip


def importance_for(method: str) -> Any:
    """Torch-Pruning's importance criterion for a method name."""
    import torch_pruning as tp

    makers: dict[str, Callable[[], Any]] = {
        "l1": lambda: tp.importance.GroupMagnitudeImportance(p=1),
        "l2": lambda: tp.importance.GroupMagnitudeImportance(p=2),
        "bn-scale": tp.importance.BNScaleImportance,
        "taylor": tp.importance.GroupTaylorImportance,
    }
    if method not in makers:
        raise WorkbenchError(f"unknown channel ranking {method!r} ({', '.join(makers)})")
    return makers[method]()


def make_pruner(
    module: Any,
    config: ChannelPruneConfig,
    ratio: float,
    overrides: dict[str, float],
    example: Any,
) -> Any:
    """A Torch-Pruning pruner over ``module`` (builds the dependency graph)."""
    import torch_pruning as tp

    named = dict(module.named_modules())
    ignored = ignored_modules(module, config.ignore, config.keep_classifier)
    ratios = {named[n]: a for n, a in overrides.items()}
    ratios = kept_at_least_a_multiple(module, ratio, config.round_to, ratios, ignored)
    try:
        return tp.pruner.BasePruner(
            module,
            example,
            importance=importance_for(config.method),
            global_pruning=config.scope == "global",
            pruning_ratio=ratio,
            pruning_ratio_dict=ratios or None,
            max_pruning_ratio=config.max_layer_amount,
            iterative_steps=config.steps,
            ignored_layers=ignored,
            round_to=config.round_to if config.round_to > 1 else None,
        )
    except WorkbenchError:
        raise
    except Exception as exc:  # tracing fails on models the dependency graph cannot follow
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WorkbenchError(
            f"Torch-Pruning cannot trace this model's channel dependencies ({first}); use "
            "unstructured magnitude pruning instead"
        ) from None


def accumulate_gradients(module: Any, dataset: Any, batches: int, device: Any) -> None:
    """Gradients of the training loss on a few batches, for Taylor importance."""
    import torch

    x, y = dataset.train_tensors().tensors
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(len(x), generator=generator)
    size = 64
    module.zero_grad(set_to_none=True)
    was_training = module.training
    module.eval()  # running BatchNorm statistics, not this batch's, as at inference
    for index in range(batches):
        idx = order[index * size : (index + 1) * size]
        if len(idx) == 0:
            break
        loss = torch.nn.functional.cross_entropy(module(x[idx].to(device)), y[idx].to(device))
        loss.backward()
    module.train(was_training)


def count_macs_params(module: Any, example: Any) -> tuple[int, int]:
    """MACs (batch 1) and parameters, counted by Torch-Pruning's op counter."""
    import torch_pruning as tp

    macs, params = tp.utils.count_ops_and_params(module, example)
    return int(macs), int(params)


def layer_channels(module: Any) -> dict[str, int]:
    """Output channels of each conv and linear layer, by name."""
    return {layer.name: layer.channels for layer in prunable_layers(module)}


def search_ratio(
    module: Any,
    model: LoadedModel,
    config: ChannelPruneConfig,
    overrides: dict[str, float],
    example: Any,
    dataset: Any,
    ctx: RunContext,
) -> float:
    """The channel ratio whose one-shot pruning removes ``config.amount`` of the target.

    Bisection on copies: the reduction grows with the ratio (more channels removed,
    fewer MACs, parameters and milliseconds), so eight rounds pin it within 0.4 %
    (five for latency, whose measurements are noisier than that).
    """
    measure = _target_measure(config.target, model)
    base = measure(module, example)
    goal = base * (1.0 - config.amount)
    low, high = 0.0, config.max_layer_amount
    one_shot = dataclasses.replace(config, steps=1)
    rounds = LATENCY_ROUNDS if config.target == "latency" else SEARCH_ROUNDS
    for round_index in range(rounds):
        ctx.check()
        middle = (low + high) / 2
        trial = copy.deepcopy(module)
        if config.method == "taylor":
            accumulate_gradients(trial, dataset, config.taylor_batches, example.device)
        make_pruner(trial, one_shot, middle, overrides, example).step()
        value = measure(trial, example)
        if value > goal:
            low = middle
        else:
            high = middle
        ctx.report(
            SEARCH_SHARE * (round_index + 1) / rounds,
            f"searching the channel ratio for {config.amount:.0%} fewer {config.target}: "
            f"{middle:.3f}",
        )
    return high


def _target_measure(target: str, model: LoadedModel) -> Callable[[Any, Any], float]:
    if target == "macs":
        return lambda module, example: float(count_macs_params(module, example)[0])
    if target == "params":
        return lambda module, example: float(count_macs_params(module, example)[1])

    def latency(module: Any, example: Any) -> float:
        from workbench.core.compress.pruning.report import ort_latency_ms

        return ort_latency_ms(copy.deepcopy(module).cpu(), model, batch=1, seconds=0.3)

    return latency
