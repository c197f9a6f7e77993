"""Sensitivity scan: validation accuracy when one layer at a time is pruned, no fine-tuning.

Layers whose accuracy holds at high ratios can take more pruning; ``suggest_amounts``
turns the scan into per-layer amounts (``layer_amounts``) within an accuracy budget.

Structured scans do not rebuild the network per trial: the dependency graph is traced
once, and a trial zeroes the out-channel slices of the group Torch-Pruning would remove
(conv filters, their biases, BatchNorm scale and shift, residual partners). A zeroed
channel contributes exactly what a removed one does (nothing), so the accuracy equals
the pruned model's; the weights are restored after each trial.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel

DEFAULT_RATIOS = (0.25, 0.5, 0.75)
DEFAULT_SAMPLES = 500


@dataclass
class SensitivityReport:
    """Accuracy per layer per ratio, beside the unpruned baseline."""

    structured: bool
    method: str
    ratios: list[float]
    baseline: float
    accuracy: dict[str, list[float]] = field(default_factory=dict)  # layer -> per ratio
    samples: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "structured": self.structured,
            "method": self.method,
            "ratios": self.ratios,
            "baseline": self.baseline,
            "accuracy": self.accuracy,
            "samples": self.samples,
        }

    def suggest_amounts(self, max_drop: float = 0.01, ceiling: float | None = None) -> dict:
        """The largest scanned ratio of each layer losing at most ``max_drop`` accuracy."""
        amounts = {}
        for layer, values in self.accuracy.items():
            kept = [
                r for r, a in zip(self.ratios, values, strict=True) if a >= self.baseline - max_drop
            ]
            best = max(kept, default=0.0)
            amounts[layer] = min(best, ceiling) if ceiling is not None else best
        return amounts


def sensitivity_scan(
    model: LoadedModel,
    dataset: Any,
    *,
    structured: bool = True,
    method: str = "l1",
    ratios: Sequence[float] = DEFAULT_RATIOS,
    layers: Sequence[str] | None = None,
    max_samples: int | None = DEFAULT_SAMPLES,
    ctx: RunContext | None = None,
) -> SensitivityReport:
    """Prune each layer alone at each ratio and score the validation split.

    ``layers`` limits the scan (default: every conv and linear layer but the
    classifier); the model is not changed (a copy is scanned).
    """
    import copy

    import torch

    from workbench.core.compress.pruning.layers import prunable_layers, validation_accuracy
    from workbench.core.device import resolve_device

    ctx = ctx or RunContext()
    device = resolve_device(ctx.device)
    module = copy.deepcopy(model.module).to(device).eval()
    known = {layer.name: layer for layer in prunable_layers(module)}
    names = (
        list(layers)
        if layers is not None
        else [n for n, layer in known.items() if not layer.classifier]
    )
    unknown = [name for name in names if name not in known]
    if unknown:
        raise WorkbenchError(
            f"sensitivity scan: no conv or linear layer named {', '.join(unknown)}"
        )
    if not names or not ratios:
        raise WorkbenchError("sensitivity scan: no layers or no ratios to scan")
    baseline = validation_accuracy(module, dataset, device, max_samples)
    report = SensitivityReport(
        structured, method if structured else "magnitude", list(ratios), baseline
    )
    report.samples = min(len(dataset.x_val), max_samples or len(dataset.x_val))
    trial = _ChannelTrial(module, model, method, dataset, device) if structured else None
    saved = {k: v.clone() for k, v in module.state_dict().items()}
    total, done = len(names) * len(ratios), 0
    layer_modules = dict(module.named_modules())
    for name in names:
        scores = []
        for ratio in ratios:
            ctx.check()
            with torch.no_grad():
                if trial is not None:
                    trial.zero(layer_modules[name], ratio)
                else:
                    _zero_smallest(layer_modules[name].weight, ratio)
            scores.append(validation_accuracy(module, dataset, device, max_samples))
            module.load_state_dict(saved)
            done += 1
            ctx.report(done / total, f"{name} at {ratio:.0%}: {scores[-1]:.1%}")
        report.accuracy[name] = scores
    return report


def _zero_smallest(weight: Any, ratio: float) -> None:
    count = round(ratio * weight.numel())
    if count:
        order = weight.abs().flatten().argsort()[:count]
        weight.view(-1)[order] = 0.0


class _ChannelTrial:
    """One traced dependency graph; ``zero(layer, ratio)`` blanks the group's weakest channels."""

    def __init__(self, module: Any, model: LoadedModel, method: str, dataset: Any, device: Any):
        import torch_pruning as tp

        from workbench.core.compress.pruning.layers import example_input
        from workbench.core.compress.pruning.structured import accumulate_gradients, importance_for

        if method == "taylor":
            accumulate_gradients(module, dataset, 4, device)
        self.importance = importance_for(method)
        self.graph = tp.DependencyGraph().build_dependency(
            module, example_inputs=example_input(model, device)
        )

    def zero(self, layer: Any, ratio: float) -> None:
        channels = self.graph.get_out_channels(layer)
        count = min(round(ratio * channels), channels - 1)
        if count <= 0:
            return
        prune_out = self.graph.get_pruner_of_module(layer).prune_out_channels
        group = self.graph.get_pruning_group(layer, prune_out, idxs=list(range(channels)))
        scores = self.importance(group)
        if scores is None:  # e.g. bn-scale on a group with no BatchNorm
            return
        weakest = scores.argsort()[:count].tolist()
        group = self.graph.get_pruning_group(layer, prune_out, idxs=weakest)
        for dep, idxs in group:
            target = dep.target.module
            if not self.graph.is_out_channel_pruning_fn(dep.handler):
                continue
            for attr in ("weight", "bias"):
                tensor = getattr(target, attr, None)
                if tensor is not None and hasattr(tensor, "shape") and tensor.dim() >= 1:
                    tensor[list(idxs)] = 0.0
