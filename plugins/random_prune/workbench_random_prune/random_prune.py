"""The random-pruning pass: zero a seeded random fraction of Conv/Linear weights, for good."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from workbench.core.compress import Pass, PassResult, copy_model
from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel

LAYER_KINDS = ("Conv", "Linear")


@dataclass
class RandomPruneConfig:
    amount: float = field(
        default=0.5,
        metadata={"help": "fraction of the chosen layers' weights to zero", "min": 0.0, "max": 1.0},
    )
    scope: Literal["per-layer", "global"] = field(
        default="per-layer",
        metadata={
            "help": "per-layer: the same fraction in every layer; global: one draw over all "
            "the chosen weights together, so layers end up with different fractions"
        },
    )
    layers: list[str] = field(
        default_factory=lambda: list(LAYER_KINDS),
        metadata={"help": "which kinds of layer to prune", "choices": LAYER_KINDS},
    )
    keep_classifier: bool = field(
        default=False,
        metadata={"help": "leave the last Linear layer (usually the classifier) dense"},
    )
    seed: int | None = field(
        default=None,
        metadata={"help": "seed for the random choice (none: the run's seed)", "min": 0},
    )


class RandomPrune(Pass):
    name = "random-prune"
    title = "Random pruning (control)"
    description = (
        "Zeroes a random fraction of the weights of every convolution and linear layer and "
        "makes it permanent. Expect accuracy to drop: this is the baseline other pruning "
        "methods are measured against. The model keeps its shape, so it runs no faster."
    )
    config_class = RandomPruneConfig
    frameworks = ("pytorch",)

    def apply(self, model: LoadedModel, config: Any, ctx: RunContext) -> PassResult:
        import torch
        from torch import nn
        from torch.nn.utils import prune

        kinds = {"Conv": (nn.Conv1d, nn.Conv2d, nn.Conv3d), "Linear": (nn.Linear,)}
        wanted = tuple(t for kind in config.layers for t in kinds[kind])
        result = copy_model(model)
        module = result.module
        targets = [(n, m) for n, m in module.named_modules() if wanted and isinstance(m, wanted)]
        if config.keep_classifier:
            linears = [n for n, m in module.named_modules() if isinstance(m, nn.Linear)]
            targets = [(n, m) for n, m in targets if not linears or n != linears[-1]]
        if not targets:
            raise WorkbenchError(
                f"{model.display_name} has no {' or '.join(config.layers) or 'chosen'} "
                "layers to prune"
            )
        # Masks from a private generator on the CPU, not torch.nn.utils.prune's
        # random_unstructured: the global RNG stays untouched and a seed gives the same
        # masks on any device. prune.custom_from_mask + prune.remove make them permanent.
        generator = torch.Generator().manual_seed(ctx.seed if config.seed is None else config.seed)
        scores = [torch.rand(m.weight.shape, generator=generator) for _, m in targets]
        masks = _masks(scores, config.amount, config.scope)
        for index, ((name, layer), mask) in enumerate(zip(targets, masks, strict=True)):
            ctx.check()
            prune.custom_from_mask(layer, "weight", mask.to(layer.weight.device))
            prune.remove(layer, "weight")
            ctx.report((index + 1) / len(targets), f"pruned {name}")
        zeros = sum(int((m.weight == 0).sum()) for _, m in targets)
        total = sum(m.weight.numel() for _, m in targets)
        per_layer = {n: float((m.weight == 0).float().mean()) for n, m in targets}
        result.notes.append(f"random-prune: {zeros / total:.1%} of {len(targets)} layers' weights")
        return PassResult(
            model=result,
            metrics={
                "sparsity": zeros / total,
                "zeroed_weights": zeros,
                "pruned_layers": len(targets),
                "layer_sparsity": per_layer,
            },
            notes=[
                "Weights were chosen at random: a control, expected to lose accuracy until "
                "fine-tuned.",
                "Dense runtimes gain no speed from zeroed weights; only a compressed file "
                "gets smaller.",
            ],
        )


def _masks(scores: list[Any], amount: float, scope: str) -> list[Any]:
    """1 = keep, 0 = zero: the ``amount`` fraction with the lowest random scores goes."""
    import torch

    if scope == "global":
        flat = torch.cat([s.flatten() for s in scores])
        count = round(amount * flat.numel())
        threshold = torch.kthvalue(flat, count).values if count else None
        return [
            (s > threshold).float() if threshold is not None else torch.ones_like(s) for s in scores
        ]
    masks = []
    for score in scores:
        count = round(amount * score.numel())
        mask = torch.ones(score.numel())
        mask[torch.argsort(score.flatten())[:count]] = 0.0
        masks.append(mask.reshape(score.shape))
    return masks
