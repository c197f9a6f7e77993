"""What a training run tells its listeners, in this order:

``Started``, then per step ``Step`` (batched: several arrive together, then one
``Progress``), ``Epoch`` at each epoch's end, ``Checkpoint`` once that epoch's
checkpoint is safely on disk, ``Paused``/``Resumed`` around a pause, and exactly one
of ``Finished``, ``Failed`` or ``Cancelled`` last.

Plain frozen dataclasses: the CLI prints them, the GUI worker forwards them as Qt
signals, the history records them; none of them holds a tensor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.errors import WorkbenchError


class TrainingError(WorkbenchError):
    """A run that cannot go on: a NaN loss, out of memory, data that does not fit."""


@dataclass(frozen=True, slots=True)
class Started:
    total_steps: int
    steps_per_epoch: int
    epochs: int
    first_step: int  # steps already done (a resumed run starts after them)
    device: str
    train_samples: int
    val_samples: int
    notes: tuple[str, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)  # a resumed run's steps so far


@dataclass(frozen=True, slots=True)
class Step:
    step: int  # 1-based, counted over the whole run
    epoch: int  # 1-based
    loss: float
    lr: float


@dataclass(frozen=True, slots=True)
class Progress:
    step: int
    total_steps: int
    epoch: int
    samples_per_s: float
    eta_s: float | None
    gpu_memory: int | None = None  # bytes allocated on a CUDA device; None elsewhere


@dataclass(frozen=True, slots=True)
class Epoch:
    epoch: int  # 1-based
    step: int
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    lr: float
    seconds: float  # training time of the run so far, pauses left out
    improved: bool = True  # the early-stopping metric got better this epoch
    # A language model's exp(mean token cross-entropy); None for classifiers.
    train_perplexity: float | None = None
    val_perplexity: float | None = None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    path: Path
    epoch: int  # epochs completed when it was taken (a stop may take one mid-epoch)
    step: int


@dataclass(frozen=True, slots=True)
class Paused:
    step: int


@dataclass(frozen=True, slots=True)
class Resumed:
    step: int


@dataclass(frozen=True, slots=True)
class Finished:
    result: Any  # workbench.core.train.trainer.TrainResult


@dataclass(frozen=True, slots=True)
class Failed:
    message: str
    checkpoint: Path | None = None  # the last good one, kept


@dataclass(frozen=True, slots=True)
class Cancelled:
    step: int
    checkpoint: Path | None = None  # resume from here
    result: Any = None  # the partly trained TrainResult


Event = (
    Started | Step | Progress | Epoch | Checkpoint | Paused | Resumed
    | Finished | Failed | Cancelled
)  # fmt: skip
Listener = Callable[[Event], None]


def out_of_memory_message(batch_size: int, device: str) -> str:
    """What to tell a user whose batch did not fit: the batch size to try next."""
    smaller = max(1, batch_size // 2)
    hint = f"try --batch-size {smaller}" if smaller < batch_size else "use a smaller model"
    return (
        f"{device} ran out of memory at batch size {batch_size}; {hint} "
        "(mixed precision, --amp bf16 or fp16, also halves activation memory)"
    )
