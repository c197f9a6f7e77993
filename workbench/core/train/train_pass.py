"""The training engine as a recipe step: a ``Pass`` whose config is ``TrainConfig``.

So a recipe's ``pass: train`` step is validated (``config_from_dict``), replayed
(``run_pass``) and recorded (``config_to_dict``) like any compression pass. It is not
in the registry's pass list: the pass pickers and ``workbench apply`` offer
compression, while training has its own tab and ``workbench train``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from workbench.core.compress.base import Pass, PassResult
from workbench.core.context import Cancelled, RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel
from workbench.core.measure.inputs import data_for
from workbench.core.train.config import TrainConfig
from workbench.core.train.distributed import current_group, process_device
from workbench.core.train.trainer import Trainer

TRAIN_STEP = "train"
# The names variants record for a trained step; recipes written from them say these.
TRAIN_KINDS = (TRAIN_STEP, "trained", "fine-tuned", "fine-tune")


class Train(Pass):
    name = TRAIN_STEP
    title = "Training"
    description = "Trains the model (a copy) on the step's data with the training engine."
    config_class = TrainConfig

    def check(self, model: LoadedModel) -> None:
        if model.framework != "pytorch" or model.module is None:
            raise WorkbenchError(f"training needs a PyTorch model, not {model.framework}")

    def apply(self, model: LoadedModel, config: Any, ctx: RunContext) -> PassResult:
        if not ctx.data:
            raise WorkbenchError("no data to train on: give the recipe 'data:' or --data")
        # Under torchrun over NCCL each process trains on its own GPU (its local rank).
        config = dataclasses.replace(config, device=process_device(config.device, current_group()))
        dataset = data_for(model, ctx.data, seed=config.seed, workers=config.loader_workers,
                           text_options=ctx.text)  # fmt: skip
        result = Trainer(model.module, dataset, config, ctx).fit()  # it trains a copy
        if result.status == "cancelled":
            raise Cancelled("cancelled")
        trained = dataclasses.replace(
            model, module=result.model, exported_program=None, notes=list(result.notes)
        )
        return PassResult(trained, dict(result.metrics), list(result.notes))
