"""What a checkpoint holds and how a run is put back exactly as it was.

Everything that decides the next step is saved: weights, optimizer and scheduler
state, the grad scaler, every random generator (global torch, CUDA, shuffling,
augmentation), the position in the epoch with its shuffled order, the epoch's running
sums, early-stopping state and the history. On the CPU a resumed run therefore
reproduces the uninterrupted run's losses exactly.
"""

from __future__ import annotations

from typing import Any

from workbench.core.train.config import TrainConfig
from workbench.core.train.events import TrainingError

# Settings that may differ when resuming: they change where and how fast, not what.
RESUMABLE_CHANGES = ("device", "loader_workers", "eval_batch_size", "epochs")


def apply_resume_config(
    requested: TrainConfig, state: dict[str, Any], notes: list[str]
) -> TrainConfig:
    """The checkpoint's settings, with the few a resumed run may change taken from ``requested``."""
    saved = TrainConfig.from_dict(state["config"])
    ignored = []
    for name, value in requested.to_dict().items():
        if name in RESUMABLE_CHANGES or getattr(requested, name) == getattr(saved, name):
            continue
        if name == "augment":
            value = requested.augment.describe()
        ignored.append(f"{name}={value}")
    for name in RESUMABLE_CHANGES:
        setattr(saved, name, getattr(requested, name))
    if ignored:
        notes.append("resumed with the checkpoint's settings; ignored " + ", ".join(ignored))
    if saved.epochs != state["config"]["epochs"]:
        notes.append(
            f"epochs changed from {state['config']['epochs']} to {saved.epochs}: the "
            "learning-rate schedule is stretched to the new length"
        )
    if state["epoch"] > saved.epochs:
        raise TrainingError(
            f"the checkpoint has {state['epoch']} epochs done; ask for more than that"
        )
    return saved.validate()


def run_state(trainer: Any) -> dict[str, Any]:
    """The live state of a run (tensors not yet copied: pass it through ``cpu_copy``)."""
    import torch

    cuda = trainer.device.type == "cuda"
    return {
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "scheduler": trainer.scheduler.state_dict(),
        "scaler": trainer.scaler.state_dict() if trainer.scaler is not None else None,
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state(trainer.device) if cuda else None,
            "data": trainer.data_rng.get_state(),
            "augment": trainer.aug_rng.get_state(),
        },
        "epoch": trainer.epoch,
        "step_in_epoch": trainer.step_in_epoch,
        "global_step": trainer.global_step,
        "steps_per_epoch": trainer.spe,
        "permutation": trainer.perm,
        "sums": dict(trainer.sums),
        "early": dict(trainer.early),
        "best_model": trainer.best_model,
        "history": trainer.history.to_dict(),
        "config": trainer.config.to_dict(),
        "elapsed": trainer.elapsed + trainer._active,
    }


def restore_state(trainer: Any, state: dict[str, Any]) -> None:
    """Put a freshly set-up trainer back where ``state`` was taken."""
    import torch

    from workbench.core.train.history import TrainHistory

    if state["steps_per_epoch"] != trainer.spe:
        raise TrainingError(
            f"the checkpoint was taken with {state['steps_per_epoch']} steps per epoch, this "
            f"dataset gives {trainer.spe}: resume with the same data and batch size"
        )
    try:
        trainer.model.load_state_dict(state["model"])
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise TrainingError(f"the checkpoint does not fit this model: {first}") from None
    trainer.optimizer.load_state_dict(state["optimizer"])
    trainer.scheduler.load_state_dict(state["scheduler"])
    if trainer.scaler is not None and state["scaler"]:
        trainer.scaler.load_state_dict(state["scaler"])
    rng = state["rng"]
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] is not None and trainer.device.type == "cuda":
        torch.cuda.set_rng_state(rng["cuda"], trainer.device)
    trainer.data_rng.set_state(rng["data"])
    trainer.aug_rng.set_state(rng["augment"])
    trainer.epoch = int(state["epoch"])
    trainer.step_in_epoch = int(state["step_in_epoch"])
    trainer.global_step = int(state["global_step"])
    trainer.perm = state["permutation"]
    trainer.sums = dict(state["sums"])
    trainer.early = dict(state["early"])
    trainer.best_model = state["best_model"]
    trainer.history = TrainHistory.from_dict(state["history"])
    trainer.elapsed = float(state["elapsed"])
    trainer.total_steps = trainer.config.epochs * trainer.spe
