"""Learning-rate schedules as one pure function of the step.

Hand-written rather than chained torch schedulers (StepLR, CosineAnnealingLR,
OneCycleLR behind a SequentialLR for warm-up): a pure ``factor(step)`` gives every
schedule the same warm-up, makes resume exact (the only state is the step count, kept
by ``LambdaLR``), and lets the training tab draw the whole planned curve before the run
starts. One-cycle follows OneCycleLR's defaults (start at lr/25, cosine up, cosine down
to lr/25e4) without its momentum cycling.
"""

from __future__ import annotations

import math
from typing import Any

from workbench.core.train.config import TrainConfig

ONE_CYCLE_RISE = 0.3  # fraction of the run spent rising when no warm-up is given
ONE_CYCLE_START = 1 / 25
ONE_CYCLE_END = 1 / 25e4


def lr_factor(step: int, config: TrainConfig, steps_per_epoch: int) -> float:
    """The multiplier of ``config.lr`` for 0-based ``step`` of the run."""
    total = max(1, config.epochs * steps_per_epoch)
    warmup = round(config.warmup_epochs * steps_per_epoch)
    if config.schedule == "one-cycle":
        rise = warmup or max(1, round(ONE_CYCLE_RISE * total))
        if step < rise:
            return _cosine(ONE_CYCLE_START, 1.0, step / rise)
        return _cosine(1.0, ONE_CYCLE_END, (step - rise) / max(1, total - rise))
    if step < warmup:
        return (step + 1) / warmup
    after = step - warmup
    if config.schedule == "cosine":
        return _cosine(1.0, 0.0, after / max(1, total - warmup))
    if config.schedule == "step":
        every = (config.step_epochs or max(1, config.epochs // 3)) * steps_per_epoch
        return config.step_gamma ** (after // max(1, every))
    return 1.0


def _cosine(start: float, end: float, progress: float) -> float:
    progress = min(max(progress, 0.0), 1.0)
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * progress))


def planned_rates(config: TrainConfig, steps_per_epoch: int) -> list[float]:
    """The learning rate of every step of the run, for drawing before it starts."""
    total = config.epochs * steps_per_epoch
    return [config.lr * lr_factor(s, config, steps_per_epoch) for s in range(total)]


def make_scheduler(optimizer: Any, config: TrainConfig, steps_per_epoch: int) -> Any:
    """A ``LambdaLR`` stepping once per optimizer step."""
    from torch.optim.lr_scheduler import LambdaLR

    return LambdaLR(optimizer, lambda step: lr_factor(step, config, steps_per_epoch))
