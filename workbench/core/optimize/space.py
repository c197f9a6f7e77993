"""The search space: each candidate is a chain of registered passes (a recipe), built on
its parent's chain, so every step's output is the next step's input and the chosen
point replays with `workbench run`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.core.optimize.config import OptimizeConfig

QUANT_PASSES = {"int8": "quantize-static", "fp16": "quantize-fp16"}


@dataclass
class Candidate:
    """One point of the search: its steps, and the candidate those steps extend."""

    key: str  # "p0.75-distill-int8": also its folder name
    ratio: float  # channels removed (0: the original's shape)
    recovery: str  # "distill", "finetune" or "" (no pruning)
    quant: str  # "none", "int8", "fp16"
    steps: list[dict[str, Any]] = field(default_factory=list)  # recipe steps, in order
    parent: str | None = None  # key of the candidate whose model the last step starts from
    depth: int = 0  # blocks left out (distilled candidates)

    @property
    def own_step(self) -> dict[str, Any]:
        return self.steps[-1]


def pruning_step(
    config: OptimizeConfig,
    ratio: float,
    recovery: str,
    epochs: int,
    amounts: dict[str, float],
    depth: int = 0,
) -> dict[str, Any]:
    """The pruning-and-recovery step: a distillation into the pruned copy (less ``depth``
    blocks), or channel pruning fine-tuned on the labels (with the sensitivity scan's
    per-layer caps)."""
    multiple = config.channel_multiple()
    if recovery == "distill":
        settings = {"student": f"pruned:{ratio:g}", "round_to": multiple, "epochs": epochs,
                    "seed": config.seed, "measure": False}  # fmt: skip
        if depth:
            settings["drop_blocks"] = depth
        return {"pass": "distill", "config": settings}
    settings = {"method": "l1", "amount": ratio, "round_to": multiple, "finetune_epochs": epochs}
    if amounts:
        settings["layer_amounts"] = [f"{name}={value:g}" for name, value in sorted(amounts.items())]
    return {"pass": "channel-prune", "config": settings}


def quant_step(method: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"pass": QUANT_PASSES[method], "config": dict(settings or {})}


def plan(
    config: OptimizeConfig,
    ratios: list[float],
    amounts: dict[float, dict[str, float]],
    scanned: int = 0,
    blocks: int = 0,
) -> tuple[list[Candidate], dict[str, str]]:
    """Every candidate in the order tried: the original quantized first (cheap), then
    the surviving ratios, most aggressive first for latency and size (where the gain is),
    each trained candidate followed at once by its quantized children, a distilled one
    by its shallower twins (``config.drop_blocks`` up to the ``blocks`` the model can
    drop, the fewest first). Also returns the
    fine-tuned candidates left out as twins of a smaller ratio's: when the sensitivity
    scan caps every one of the ``scanned`` layers, the ratio itself changes nothing."""
    quants = config.quantizations()
    same: dict[str, str] = {}
    seen: dict[tuple, str] = {}
    for ratio in sorted(ratios):
        caps = amounts.get(ratio, {})
        if caps and len(caps) == scanned:
            twin = seen.setdefault(tuple(sorted(caps.items())), f"p{ratio:g}-finetune")
            if twin != f"p{ratio:g}-finetune":
                same[f"p{ratio:g}-finetune"] = twin
    out: list[Candidate] = []
    for quant in quants:
        if quant != "none":
            out.append(Candidate(f"p0-{quant}", 0.0, "", quant, [quant_step(quant)]))
    depths = sorted(d for d in set(config.drop_blocks) if d <= blocks)
    for ratio in sorted(ratios, reverse=True):
        for recovery in config.recovery:
            for depth in depths if recovery == "distill" else [0]:
                step = pruning_step(config, ratio, recovery, config.epochs,
                                    amounts.get(ratio, {}), depth)  # fmt: skip
                key = f"p{ratio:g}-" + (f"d{depth}-" if depth else "") + recovery
                base = Candidate(key, ratio, recovery, "none", [step], depth=depth)
                if base.key in same:
                    continue
                out.append(base)
                for quant in quants:
                    if quant != "none":
                        out.append(Candidate(f"{base.key}-{quant}", ratio, recovery, quant,
                                             [step, quant_step(quant)], parent=base.key,
                                             depth=depth))  # fmt: skip
    return out, same


def layer_caps(report: Any, ratio: float, drop: float) -> dict[str, float]:
    """Per-layer amounts for ``ratio`` from a sensitivity scan: a layer that, pruned alone
    at the ratio, loses more than ``drop`` (a fraction) gets the largest scanned ratio
    it bears (0: left whole); the others take ``ratio`` itself (not listed)."""
    caps: dict[str, float] = {}
    for layer, scores in report.accuracy.items():
        bearable = [
            r for r, a in zip(report.ratios, scores, strict=True)
            if a >= report.baseline - drop and r <= ratio
        ]  # fmt: skip
        at_ratio = [a for r, a in zip(report.ratios, scores, strict=True) if r >= ratio]
        worst = min(at_ratio) if at_ratio else min(scores)
        if worst < report.baseline - drop:
            caps[layer] = max(bearable, default=0.0)
    return caps
