"""Where a run starts: the pieces ``Trainer`` sets up before its first step, and the
result it hands back at the end.

Functions of the trainer (as ``resume.run_state`` is) so that ``trainer.py`` holds the
loop and its per-step bookkeeping only.
"""

from __future__ import annotations

import copy
from typing import Any

from workbench.core.train import distributed, setup
from workbench.core.train.augment import BatchAugment, augmentable
from workbench.core.train.checkpoints import read_checkpoint
from workbench.core.train.control import TrainResult
from workbench.core.train.events import TrainingError
from workbench.core.train.resume import apply_resume_config, restore_state
from workbench.core.train.schedules import make_scheduler


def prepare(trainer: Any) -> None:
    """Give ``trainer`` what its loop reads: its own copy of the model on the device, the
    optimizer, schedule, precision, loss, generators, augmentation and loader, at step 0
    or, when resuming, as its checkpoint left them."""
    import torch

    cfg = trainer.config
    saved: dict[str, Any] = {}
    if trainer.resume:
        if trainer.checkpoint_path is None:
            raise TrainingError("resuming needs the run folder that holds the checkpoint")
        saved = read_checkpoint(trainer.checkpoint_path)
        trainer.config = cfg = apply_resume_config(cfg, saved, trainer.notes)
    torch.manual_seed(cfg.seed)
    trainer.model = copy.deepcopy(trainer.source_model).to(trainer.device)
    trainer.model.train()
    trainer.group = distributed.current_group()  # None unless launched by torchrun
    distributed.check_batch(cfg.batch_size, trainer.group, trainer.notes)
    trainer.step_model = distributed.wrap(
        trainer.model, trainer.device, trainer.group, trainer.notes
    )
    workers = cfg.loader_workers
    trainer.x, trainer.y, trainer.x_val, trainer.y_val = setup.device_tensors(
        trainer.dataset, trainer.device, workers
    )
    # A text dataset's samples stack the model's named inputs (core.data.text).
    trainer.stacked = setup.stacked_inputs(trainer.dataset)
    setup.check_fits(trainer.model, trainer.dataset, trainer.x_val, trainer.x, trainer.stacked)
    trainer.n_train = len(trainer.x)
    if trainer.n_train == 0:
        raise TrainingError(f"dataset {trainer.dataset.name!r} has no training samples")
    trainer.spe = setup.steps_per_epoch(trainer.n_train, cfg.batch_size)
    trainer.total_steps = cfg.epochs * trainer.spe
    trainer.optimizer = setup.make_optimizer(trainer.model, cfg)
    trainer.scheduler = make_scheduler(trainer.optimizer, cfg, trainer.spe)
    trainer.autocast, trainer.scaler = setup.precision(cfg, trainer.device, trainer.notes)
    trainer.criterion = setup.make_criterion(cfg, trainer.dataset.task)
    # Labels per sample: 1 for a classifier, the window's tokens for an LM.
    trainer.labels_per_row = max(1, int(trainer.y[0].numel()))
    trainer.data_rng = torch.Generator().manual_seed(cfg.seed)
    trainer.aug_rng = torch.Generator(trainer.device).manual_seed(cfg.seed + 1)
    trainer.augment = None
    if cfg.augment.enabled:
        if augmentable(trainer.dataset.input_shape, trainer.x.dtype):
            trainer.augment = BatchAugment(cfg.augment, trainer.aug_rng)
        else:
            trainer.notes.append("augmentation applies to images only; it was not used")
    trainer.loader = None
    if workers:
        pin = trainer.device.type == "cuda"
        trainer.loader, trainer.batch_sampler = setup.worker_loader(
            trainer.x, trainer.y, workers, pin
        )
    trainer.epoch = 0  # epochs completed
    trainer.step_in_epoch = 0
    trainer.global_step = 0
    trainer.perm: Any = None
    trainer.sums = {"loss": 0.0, "correct": 0, "samples": 0}
    trainer.early = {"best": None, "bad": 0, "best_epoch": 0}
    trainer.best_model: dict[str, Any] | None = None
    trainer.elapsed = 0.0
    if trainer.resume:
        restore_state(trainer, saved)


def result_of(trainer: Any, status: str) -> TrainResult:
    """The result of a run that ended with ``status``: the best epoch's weights when early
    stopping kept them, on the CPU in eval mode, and that epoch's figures."""
    if trainer.best_model is not None and status != "cancelled":
        trainer.model.load_state_dict(trainer.best_model)
    model = trainer.model.to("cpu").eval()
    metrics: dict[str, Any] = {
        "epochs": trainer.epoch,
        "steps": trainer.global_step,
        "seconds": round(trainer.elapsed + trainer._active, 3),
    }
    record = trainer.history.epochs[-1] if trainer.history.epochs else None
    if trainer.best_model is not None and trainer.early["best_epoch"]:
        record = trainer.history.epochs[trainer.early["best_epoch"] - 1]
    if record is not None:
        for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
            metrics[key] = record[key]
        for key in ("train_perplexity", "val_perplexity"):
            if record.get(key) is not None:
                metrics[key] = record[key]
        metrics["best_epoch"] = record["epoch"]
    return TrainResult(
        model=model,
        history=trainer.history,
        metrics=metrics,
        status=status,
        config=trainer.config,
        checkpoint=trainer.last_checkpoint,
        notes=tuple(trainer.notes),
    )
