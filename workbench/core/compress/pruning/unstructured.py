"""Unstructured magnitude pruning with ``torch.nn.utils.prune``, made permanent at the end.

The smallest weights (by |w|, globally or per layer) become zero; iterative schedules
raise the sparsity in equal steps with fine-tuning between them, the masks held by
torch's pruning re-parametrisation so the zeros stay zero while training. The tensors
keep their shapes: only sparse kernels or a compressed file gain from the zeros.
"""

from __future__ import annotations

from typing import Any

from workbench.core.compress.base import Pass, PassResult
from workbench.core.compress.pruning.config import MagnitudePruneConfig
from workbench.core.compress.pruning.layers import (
    dataset_of,
    finetune,
    ignored_modules,
    prepare,
)
from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel

NOTE_NO_SPEED = (
    "Unstructured zeros make no dense model faster: the tensors keep their shapes, so "
    "ONNX Runtime and PyTorch do the same work; only a compressed file gets smaller."
)


class MagnitudePrune(Pass):
    name = "magnitude-prune"
    title = "Magnitude pruning (unstructured)"
    description = (
        "Sets the smallest weights of convolution and linear layers to zero, globally or "
        "per layer, optionally in steps with fine-tuning between them. Accuracy holds to "
        "high sparsity, but the model keeps its shape: it runs no faster on dense "
        "runtimes, and only a compressed file gets smaller."
    )
    config_class = MagnitudePruneConfig
    frameworks = ("pytorch",)

    def apply(self, model: LoadedModel, config: Any, ctx: RunContext) -> PassResult:
        from torch.nn.utils import prune

        result, module, _device, overrides = prepare(model, config, ctx)
        targets = _targets(module, config)
        dataset = dataset_of(ctx, "fine-tuning", model=model, required=config.finetune_epochs > 0)
        train_metrics: list[dict[str, Any]] = []
        previous: dict[str, float] = dict.fromkeys(targets, 0.0)
        for step in range(1, config.steps + 1):
            ctx.check()
            span = ((step - 1) / config.steps, step / config.steps)
            wanted = {
                name: overrides.get(name, config.amount) * step / config.steps for name in targets
            }
            # Each call prunes a fraction of what is still unpruned (torch's
            # PruningContainer), so ask for the step's share of the remainder.
            relative = {
                name: (wanted[name] - previous[name]) / (1.0 - previous[name]) for name in targets
            }
            together = [n for n in targets if n not in overrides and config.scope == "global"]
            if together and relative[together[0]] > 0:
                prune.global_unstructured(
                    [(targets[n], "weight") for n in together],
                    pruning_method=prune.L1Unstructured,
                    amount=relative[together[0]],
                )
            for name, layer in targets.items():
                if name not in together and relative[name] > 0:
                    prune.l1_unstructured(layer, "weight", amount=relative[name])
            previous = wanted
            ctx.report(span[0] + 0.1 * (span[1] - span[0]), f"step {step}: pruned")
            if config.finetune_epochs:
                # The masked weight torch keeps as a plain attribute is a non-leaf
                # tensor, which deepcopy (the Trainer trains a copy) refuses; the forward
                # pre-hook recomputes it from weight_orig * weight_mask on every call.
                for layer in targets.values():
                    if prune.is_pruned(layer):
                        layer.weight = layer.weight.detach()
                span_step = (span[0] + 0.1 * (span[1] - span[0]), span[1])
                tuned = finetune(module, model, dataset, config, step=step, ctx=ctx, span=span_step)
                train_metrics.append(tuned)
        for layer in targets.values():
            if prune.is_pruned(layer):
                prune.remove(layer, "weight")  # permanent: plain weights with zeros in them
        result.module = module.cpu().eval()
        metrics = _sparsity_metrics(targets)
        if train_metrics:
            metrics["finetune"] = train_metrics[-1]
        result.notes.append(
            f"{self.name}: {metrics['sparsity']:.1%} of {len(targets)} layers' weights are zero"
        )
        ctx.report(1.0, "pruned")
        return PassResult(model=result, metrics=metrics, notes=[NOTE_NO_SPEED])


def _targets(module: Any, config: MagnitudePruneConfig) -> dict[str, Any]:
    from torch import nn

    kinds = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
    skipped = {id(m) for top in ignored_modules(module, config.ignore, config.keep_classifier)
               for m in top.modules()}  # fmt: skip
    targets = {
        name: layer
        for name, layer in module.named_modules()
        if isinstance(layer, kinds) and id(layer) not in skipped
    }
    if not targets:
        raise WorkbenchError("no convolution or linear layers are left to prune")
    return targets


def _sparsity_metrics(targets: dict[str, Any]) -> dict[str, Any]:
    zeros = {name: int((layer.weight == 0).sum()) for name, layer in targets.items()}
    sizes = {name: layer.weight.numel() for name, layer in targets.items()}
    total = sum(sizes.values())
    return {
        "sparsity": sum(zeros.values()) / total,
        "zeroed_weights": sum(zeros.values()),
        "pruned_layers": len(targets),
        "layer_sparsity": {name: zeros[name] / sizes[name] for name in targets},
    }
