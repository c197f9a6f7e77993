"""The distillation pass: the input model is the teacher; the result is a trained student."""

from __future__ import annotations

from typing import Any

from workbench.core.compress.base import Pass, PassResult
from workbench.core.compress.distillation.config import DistillConfig
from workbench.core.compress.distillation.run import distill
from workbench.core.context import RunContext
from workbench.core.io.loaded import LoadedModel

NAME = "distill"
TITLE = "Knowledge distillation"
DESCRIPTION = (
    "Trains a smaller student (a narrower or shallower architecture, a pruned copy of the "
    "model, or your own) to copy this model's answers as well as the labels: the student "
    "usually ends up more accurate than the same network trained on the labels alone. "
    "Optionally trains that label-only baseline too, to show the gain."
)


class Distill(Pass):
    name = NAME
    title = TITLE
    description = DESCRIPTION
    config_class = DistillConfig
    frameworks = ("pytorch",)

    def apply(self, model: LoadedModel, config: Any, ctx: RunContext) -> PassResult:
        """Data from ``config.data``, else ``ctx.data``, else the model's own;
        ``ctx.listener`` (``(phase, event)``) receives the live events."""

        made = distill(model, config, ctx)
        metrics = {k: v for k, v in made.metrics.items() if v is not None}
        return PassResult(model=made.student, metrics=metrics, notes=made.notes)
