"""The pieces a run is built from: device tensors, optimizer, precision, evaluation.

Kept apart from the loop in ``trainer.py`` so the loop reads as the loop.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any

from workbench.core.data.dataset import ArrayDataset
from workbench.core.train.config import TrainConfig
from workbench.core.train.events import TrainingError

LANGUAGE_MODELING = "language-modeling"
TASKS = ("classification", LANGUAGE_MODELING)


def make_criterion(config: TrainConfig, task: str) -> Any:
    """Cross-entropy; for a language model over every position's logits (B, T, V)
    against the next tokens (B, T)."""
    import torch

    loss = torch.nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    if task != LANGUAGE_MODELING:
        return loss
    return lambda logits, labels: loss(logits.flatten(0, -2), labels.flatten())


def perplexity(loss: float) -> float:
    """exp of a mean token cross-entropy; inf rather than an overflow."""
    return math.exp(loss) if loss < 700 else math.inf


def make_optimizer(model: Any, config: TrainConfig) -> Any:
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise TrainingError("the model has no trainable parameters")
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params,
            lr=config.lr,
            momentum=config.momentum,
            weight_decay=config.weight_decay,
            nesterov=config.momentum > 0,
        )
    kind = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    return kind(params, lr=config.lr, weight_decay=config.weight_decay)


def precision(config: TrainConfig, device: Any, notes: list[str]) -> tuple[Callable, Any]:
    """(autocast context factory, grad scaler or None); AMP only on CUDA."""
    import torch

    if config.amp == "off":
        return contextlib.nullcontext, None
    if device.type != "cuda":
        notes.append(f"mixed precision ({config.amp}) is for CUDA devices; ran in float32")
        return contextlib.nullcontext, None
    if config.amp == "bf16" and not torch.cuda.is_bf16_supported():
        notes.append("this GPU lacks bf16; used fp16 with a gradient scaler")
        config.amp = "fp16"
    dtype = torch.bfloat16 if config.amp == "bf16" else torch.float16
    scaler = torch.amp.GradScaler("cuda") if config.amp == "fp16" else None
    return (lambda: torch.autocast("cuda", dtype=dtype)), scaler


def device_tensors(dataset: ArrayDataset, device: Any, workers: int) -> tuple[Any, ...]:
    """(x_train, y_train, x_val, y_val); the training pair stays on the CPU for workers."""
    x_train, y_train = dataset.train_tensors().tensors
    x_val, y_val = dataset.val_tensors().tensors
    if workers == 0:
        x_train, y_train = x_train.to(device), y_train.to(device)
    return x_train, y_train, x_val.to(device), y_val.to(device)


def steps_per_epoch(samples: int, batch_size: int) -> int:
    """Batches per epoch; a last batch of one sample is dropped (BatchNorm cannot train on it)."""
    steps, remainder = divmod(samples, batch_size)
    return steps + (1 if remainder > 1 else 0) or 1


class EpochBatches:
    """A batch sampler whose index lists are set per epoch (for DataLoader workers)."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def worker_loader(x: Any, y: Any, workers: int, pin: bool) -> tuple[Any, EpochBatches]:
    from torch.utils.data import DataLoader, TensorDataset

    sampler = EpochBatches()
    # Spawned, not forked (Linux's default): training runs in a worker thread of a
    # process that has Qt's, ONNX Runtime's and OpenMP's threads too, and a fork copies
    # their held locks into a child that can then wait forever, with the loader waiting
    # for it (it only notices workers that die). Spawn costs an import of torch once per
    # run (the workers persist) and is what Windows and macOS do anyway.
    loader = DataLoader(
        TensorDataset(x, y),
        batch_sampler=sampler,
        num_workers=workers,
        pin_memory=pin,
        persistent_workers=True,
        multiprocessing_context="spawn",
    )
    return loader, sampler


def stacked_inputs(dataset: Any) -> bool:
    """Whether ``dataset`` holds several named inputs per sample on axis 1 (a text
    dataset's ids and masks), which ``forward`` then passes as separate arguments."""
    return bool(getattr(dataset, "input_names", ()))


def forward(model: Any, batch: Any, stacked: bool = False) -> Any:
    """The model's logits for a batch. ``stacked``: the batch holds several named inputs
    on axis 1 (a text dataset's token ids and masks), passed as separate arguments. A
    text model's tuple of named outputs gives its first, the logits (a ModelOutput
    without labels has no loss before them), as does a tuple of one tensor."""
    out = model(*batch.unbind(1)) if stacked else model(batch)
    if isinstance(out, (tuple, list)) and out and (stacked or len(out) == 1):
        return out[0]
    return out


def evaluate(
    model: Any, x: Any, y: Any, batch_size: int, autocast: Callable, stacked: bool = False
) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) over a split, per label (a language model's per
    token: its logits (B, T, V) are flattened); one host sync at the end."""
    import torch
    import torch.nn.functional as F

    if len(x) == 0:
        return float("nan"), float("nan")
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), device=x.device, dtype=torch.float64)
    correct = torch.zeros((), device=x.device, dtype=torch.int64)
    with torch.inference_mode(), autocast():
        for start in range(0, len(x), batch_size):
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]
            out = forward(model, xb, stacked).float()
            loss_sum += F.cross_entropy(out.flatten(0, -2), yb.flatten(), reduction="sum")
            correct += (out.argmax(-1) == yb).sum()
    model.train(was_training)
    n = y.numel()
    return float(loss_sum) / n, int(correct) / n


def check_fits(
    model: Any, dataset: ArrayDataset, x_val: Any, x_train: Any, stacked: bool = False
) -> None:
    """One forward pass in eval mode: a clear error before training if shapes do not fit."""
    import torch

    sample = (x_val if len(x_val) else x_train)[:2].to(next(model.parameters()).device)
    if dataset.task == LANGUAGE_MODELING:
        _check_vocabulary(model, dataset)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            out = forward(model, sample, stacked)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TrainingError(
            f"the model does not accept {dataset.name!r} samples of shape "
            f"{tuple(dataset.input_shape)}: {first}"
        ) from None
    finally:
        model.train(was_training)
    if dataset.task == LANGUAGE_MODELING:
        _check_lm_logits(out, dataset)
        return
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        raise TrainingError("the model must return one (batch, classes) tensor of logits")
    if out.shape[1] < dataset.num_classes:
        raise TrainingError(
            f"the model has {out.shape[1]} outputs but {dataset.name!r} has "
            f"{dataset.num_classes} classes"
        )


def _check_lm_logits(out: Any, dataset: ArrayDataset) -> None:
    """A language model's logits: (batch, tokens, vocabulary), the vocabulary holding
    every token id of the dataset's tokenizer."""
    import torch

    if not isinstance(out, torch.Tensor) or out.dim() != 3:
        raise TrainingError(
            f"{dataset.name!r} is next-token text: the model must return one "
            "(batch, tokens, vocabulary) tensor of logits"
        )
    if out.shape[-1] < dataset.num_classes:
        raise TrainingError(
            f"the model's vocabulary has {out.shape[-1]:,} tokens but {dataset.name!r}'s "
            f"tokenizer uses {dataset.num_classes:,}; train a model with a vocabulary of at "
            f"least {dataset.num_classes:,}"
        )


def _check_vocabulary(model: Any, dataset: ArrayDataset) -> None:
    """The model's token embedding (its first ``nn.Embedding``, as in GPT-2 and tiny_lm,
    before the position one) must hold every id of the dataset's tokenizer."""
    import torch

    embedding = next((m for m in model.modules() if isinstance(m, torch.nn.Embedding)), None)
    if embedding is not None and embedding.num_embeddings < dataset.num_classes:
        raise TrainingError(
            f"the model's vocabulary has {embedding.num_embeddings:,} tokens but "
            f"{dataset.name!r}'s tokenizer uses {dataset.num_classes:,}; train a model with a "
            f"vocabulary of at least {dataset.num_classes:,}"
        )
