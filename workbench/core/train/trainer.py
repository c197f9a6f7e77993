"""The training loop, Qt-free: the CLI and the GUI worker run this same code.

``Trainer(model, dataset, config, ctx, run_dir=...).fit()`` trains a copy of the model
(the caller's is never changed) and tells its listeners what happens (see ``events``).
The loop does only what a bare PyTorch loop does plus three cheap things per step
(append the detached loss, the correct count and the learning rate to lists; look at
the clock and the pause/stop flags); losses are read from the device in batches at
most ``flush_interval_s`` apart, which is also when NaN is noticed and events go out.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.core.context import RunContext
from workbench.core.data.dataset import ArrayDataset
from workbench.core.device import resolve_device
from workbench.core.train import distributed, setup
from workbench.core.train.checkpoints import (
    CHECKPOINT_NAME,
    CheckpointWriter,
    cpu_copy,
    write_checkpoint,
)
from workbench.core.train.config import TrainConfig
from workbench.core.train.control import TrainControl, TrainResult
from workbench.core.train.events import (
    Cancelled,
    Checkpoint,
    Epoch,
    Event,
    Failed,
    Finished,
    Listener,
    Paused,
    Progress,
    Resumed,
    Started,
    Step,
    TrainingError,
    out_of_memory_message,
)
from workbench.core.train.history import TrainHistory
from workbench.core.train.prepare import prepare, result_of
from workbench.core.train.resume import run_state

FLUSH_INTERVAL_S = 0.05
# batch_loss(outputs, xb, yb, idx) -> loss, in place of the criterion (distillation):
# idx are the batch's training-set indices (for per-sample data such as cached logits).
BatchLoss = Callable[[Any, Any, Any, Any], Any]


class Trainer:
    """One run of ``config`` on ``dataset``, optionally resumed from ``run_dir``."""

    def __init__(
        self,
        model: Any,
        dataset: ArrayDataset,
        config: TrainConfig | None = None,
        ctx: RunContext | None = None,
        *,
        run_dir: Path | None = None,
        resume: bool = False,
        control: TrainControl | None = None,
        listeners: tuple[Listener, ...] | list[Listener] = (),
        flush_interval_s: float = FLUSH_INTERVAL_S,
        batch_loss: BatchLoss | None = None,
    ) -> None:
        self.config = copy.deepcopy(config or TrainConfig()).validate()
        self.source_model = model
        self.dataset = dataset
        self.ctx = ctx or RunContext(device=self.config.device, seed=self.config.seed)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.resume = resume
        self.control = control or TrainControl()
        self.listeners: list[Listener] = list(listeners)
        self.flush_interval_s = flush_interval_s
        self.batch_loss = batch_loss
        self.notes: list[str] = list(getattr(dataset, "notes", ()))
        self.history = TrainHistory()
        self.last_checkpoint: Path | None = None

    # -- public -----------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def pause(self) -> None:
        self.control.pause()

    def resume_run(self) -> None:
        self.control.resume()

    def stop(self) -> None:
        self.control.stop()

    @property
    def checkpoint_path(self) -> Path | None:
        return self.run_dir / CHECKPOINT_NAME if self.run_dir is not None else None

    def fit(self) -> TrainResult:
        """Train; returns the result, or raises TrainingError after a ``Failed`` event."""
        import torch

        if self.dataset.task not in setup.TASKS:
            raise TrainingError(
                f"training supports {' and '.join(setup.TASKS)}, not {self.dataset.task!r}"
            )
        self.device = resolve_device(self.config.device)
        cuda = [self.device.index or 0] if self.device.type == "cuda" else []
        self.writer = CheckpointWriter()
        try:
            with torch.random.fork_rng(devices=cuda):
                return self._fit()
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            self._fail(out_of_memory_message(self.config.batch_size, str(self.device)))
        except TrainingError as exc:
            self._fail(exc.message)
        except Exception as exc:
            self._fail(f"training failed: {type(exc).__name__}: {exc}", raise_error=False)
            raise
        finally:
            self.writer.close()
        raise AssertionError("unreachable")

    # -- the run ----------------------------------------------------------------------

    def _fit(self) -> TrainResult:
        prepare(self)
        cfg = self.config
        self._emit(
            Started(
                total_steps=self.total_steps,
                steps_per_epoch=self.spe,
                epochs=cfg.epochs,
                first_step=self.global_step,
                device=str(self.device),
                train_samples=self.n_train,
                val_samples=len(self.x_val),
                notes=tuple(self.notes),
                config=cfg.to_dict(),
                history=self.history.to_dict() if self.global_step else {},
            )
        )
        self._pending: tuple[list, list, list, list] = ([], [], [], [])
        self._session_steps = 0
        self._session_start = time.perf_counter()
        self._active = 0.0  # seconds trained this session, pauses left out
        self._mark = self._session_start
        status = "finished"
        while self.epoch < cfg.epochs:
            if not self._train_epoch():
                return self._cancelled()
            if self._end_epoch():
                status = "early-stopped"
                break
        for event in self.writer.wait():
            self._emit_checkpoint(event)
        result = result_of(self, status)
        self._emit(Finished(result))
        return result

    def _batches(self) -> Any:
        """(x, y) batches of the current epoch from ``step_in_epoch`` on."""
        import torch

        bs = self.config.batch_size
        if self.perm is None:
            self.perm = torch.randperm(self.n_train, generator=self.data_rng)
        bounds = [(b * bs, min((b + 1) * bs, self.n_train)) for b in range(self.spe)]
        bounds = bounds[self.step_in_epoch :]
        if self.loader is not None:
            self.batch_sampler.batches = [
                distributed.shard(self.perm[a:b], self.group).tolist() for a, b in bounds
            ]
            for xb, yb in self.loader:
                yield xb.to(self.device, non_blocking=True), yb.to(self.device, non_blocking=True)
            return
        perm = self.perm.to(self.device)
        x, y = self.x, self.y
        for a, b in bounds:
            idx = distributed.shard(perm[a:b], self.group)
            yield x[idx], y[idx]

    def _batch_index(self) -> Any:
        """Training-set indices of the batch being trained (the slice ``_batches`` took)."""
        bs, start = self.config.batch_size, self.step_in_epoch * self.config.batch_size
        return distributed.shard(self.perm[start : min(start + bs, self.n_train)], self.group)

    def _train_epoch(self) -> bool:
        """Train to the end of the epoch; False when stopped on request."""
        import torch

        model, optimizer, scheduler = self.step_model, self.optimizer, self.scheduler
        criterion, augment, autocast = self.criterion, self.augment, self.autocast
        batch_loss = self.batch_loss
        scaler = self.scaler
        clip = self.config.grad_clip
        stacked = self.stacked
        losses, corrects, rates, sizes = self._pending
        control, cancel = self.control, self.ctx.cancel
        group = optimizer.param_groups[0]
        next_flush = time.perf_counter() + self.flush_interval_s
        model.train()
        for xb, yb in self._batches():
            if augment is not None:
                xb = augment(xb)
            with autocast():
                out = setup.forward(model, xb, stacked)
                if batch_loss is None:
                    loss = criterion(out, yb)
                else:
                    loss = batch_loss(out, xb, yb, self._batch_index())
            optimizer.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
                if clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
                optimizer.step()
            else:
                scaler.scale(loss).backward()
                if clip:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
                scaler.step(optimizer)
                scaler.update()
            rates.append(group["lr"])
            scheduler.step()
            losses.append(loss.detach())
            corrects.append((out.argmax(-1) == yb).sum())  # per token for an LM
            sizes.append(yb.shape[0])
            self.step_in_epoch += 1
            self.global_step += 1
            if time.perf_counter() >= next_flush:
                self._flush()
                next_flush = time.perf_counter() + self.flush_interval_s
            if not control.running.is_set():
                self._flush()
                self._hold()
            if control.stopping.is_set() or cancel.cancelled:
                self._flush()
                return False
        self._flush()
        return True

    def _flush(self) -> None:
        """Read the pending losses from the device, check them, emit Step/Progress events."""
        import torch

        losses, corrects, rates, sizes = self._pending
        per_row = self.labels_per_row  # an LM's loss and accuracy are per token
        now = time.perf_counter()
        self._active += now - self._mark
        self._mark = now
        if losses:
            values = torch.stack(losses).float().tolist()
            correct = int(torch.stack(corrects).sum())
            first = self.global_step - len(values) + 1
            rate = self._rate()
            epoch = self.epoch + 1
            for offset, (loss, lr, size) in enumerate(zip(values, rates, sizes, strict=True)):
                if not math.isfinite(loss):
                    self._nan(first + offset, loss, lr)
                self.sums["loss"] += loss * size * per_row
                self.sums["samples"] += size * per_row
                event = Step(step=first + offset, epoch=epoch, loss=loss, lr=lr)
                self.history.add_step(event)
                self._emit(event)
            self.sums["correct"] += correct
            self._session_steps += len(values)
            for items in self._pending:
                items.clear()
            remaining = self.total_steps - self.global_step
            per_step = self._active / max(1, self._session_steps)
            self._emit(
                Progress(
                    step=self.global_step,
                    total_steps=self.total_steps,
                    epoch=epoch,
                    samples_per_s=rate,
                    eta_s=remaining * per_step if self._session_steps else None,
                    gpu_memory=self._gpu_memory(),
                )
            )
            self.ctx.report(
                self.global_step / self.total_steps,
                f"epoch {epoch}/{self.config.epochs}, loss {values[-1]:.4g}",
            )
        for event in self.writer.poll():
            self._emit_checkpoint(event)

    def _rate(self) -> float:
        samples = self._session_steps * self.config.batch_size + sum(self._pending[3])
        return samples / self._active if self._active > 0 else 0.0

    def _gpu_memory(self) -> int | None:
        if self.device.type != "cuda":
            return None
        import torch

        return int(torch.cuda.memory_allocated(self.device))

    def _hold(self) -> None:
        """Wait while paused; a stop (or cancel) ends the wait."""
        self._emit(Paused(step=self.global_step))
        while not self.control.running.wait(0.1):
            if self.ctx.cancel.cancelled:
                self.control.stop()
        self._mark = time.perf_counter()  # the pause does not count as training time
        self._emit(Resumed(step=self.global_step))

    def _nan(self, step: int, loss: float, lr: float) -> None:
        for event in self.writer.wait():
            self._emit_checkpoint(event)
        kept = (
            f"; the last good checkpoint is kept ({self.last_checkpoint.name}, epoch "
            f"{self._checkpoint_epoch})"
            if self.last_checkpoint
            else ""
        )
        raise TrainingError(
            f"the training loss became {loss} at step {step} (epoch {self.epoch + 1}) with "
            f"learning rate {lr:.3g}; lower the learning rate or set gradient clipping{kept}"
        )

    def _end_epoch(self) -> bool:
        """Evaluate, record, checkpoint; True when early stopping ends the run."""
        cfg = self.config
        started = time.perf_counter()
        val_loss, val_acc = setup.evaluate(
            self.model, self.x_val, self.y_val, cfg.eval_batch_size, self.autocast, self.stacked
        )
        has_val = len(self.x_val) > 0
        if self.group is not None:  # each process saw its slice: totals over all of them
            totals = distributed.sum_across(list(self.sums.values()), self.group)
            self.sums = dict(zip(self.sums, totals, strict=True))
        samples = max(1, self.sums["samples"])
        improved, stop = self._early_stopping(val_loss, val_acc) if has_val else (True, False)
        self._active += time.perf_counter() - started
        self.epoch += 1
        train_loss = self.sums["loss"] / samples
        lm = self.dataset.task == setup.LANGUAGE_MODELING
        event = Epoch(
            epoch=self.epoch,
            step=self.global_step,
            train_loss=train_loss,
            train_accuracy=self.sums["correct"] / samples,
            val_loss=val_loss if has_val else None,
            val_accuracy=val_acc if has_val else None,
            lr=self.history.lrs[-1] if self.history.lrs else self.config.lr,
            seconds=self.elapsed + self._active,
            improved=improved,
            train_perplexity=setup.perplexity(train_loss) if lm else None,
            val_perplexity=setup.perplexity(val_loss) if lm and has_val else None,
        )
        self.history.add_epoch(event)
        self._emit(event)
        self.step_in_epoch = 0
        self.perm = None
        self.sums = {"loss": 0.0, "correct": 0, "samples": 0}
        if self.checkpoint_path is not None and self._writes:
            state = cpu_copy(run_state(self))
            done = self.writer.submit(self.checkpoint_path, state, self.epoch, self.global_step)
            for checkpoint in done:
                self._emit_checkpoint(checkpoint)
        self._mark = time.perf_counter()
        return stop

    def _early_stopping(self, val_loss: float, val_acc: float) -> tuple[bool, bool]:
        cfg = self.config
        value = val_acc if cfg.early_metric == "val_accuracy" else -val_loss
        best = self.early["best"]
        improved = best is None or value > best + cfg.min_delta
        if improved:
            self.early.update(best=value, bad=0, best_epoch=self.epoch + 1)
            if cfg.early_stopping:
                self.best_model = cpu_copy(self.model.state_dict())
        else:
            self.early["bad"] += 1
        return improved, bool(cfg.early_stopping) and self.early["bad"] >= cfg.early_stopping

    def _cancelled(self) -> TrainResult:
        for event in self.writer.wait():
            self._emit_checkpoint(event)
        if self.checkpoint_path is not None and self._writes:
            path = write_checkpoint(self.checkpoint_path, cpu_copy(run_state(self)))
            self._emit_checkpoint(Checkpoint(path=path, epoch=self.epoch, step=self.global_step))
        result = result_of(self, "cancelled")
        self._emit(Cancelled(step=self.global_step, checkpoint=self.last_checkpoint, result=result))
        return result

    @property
    def _writes(self) -> bool:
        """Only one process of a distributed run writes checkpoints."""
        return self.group is None or self.group.is_main

    def _emit_checkpoint(self, event: Checkpoint) -> None:
        self.last_checkpoint = event.path
        self._checkpoint_epoch = event.epoch
        self._emit(event)

    # -- events -------------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)

    def _fail(self, message: str, raise_error: bool = True) -> None:
        try:
            for event in self.writer.wait():
                self._emit_checkpoint(event)
        except TrainingError:
            pass
        self._emit(Failed(message=message, checkpoint=self.last_checkpoint))
        if raise_error:
            raise TrainingError(message)
