"""The trainer on real data and real models: events, determinism, resume, faults."""

from __future__ import annotations

import itertools
import math
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from workbench.core.catalogue import get_registry
from workbench.core.data.dataset import ArrayDataset
from workbench.core.data.digits import load_digits
from workbench.core.measure.runners import torch_threads
from workbench.core.train import (
    AugmentConfig,
    TrainConfig,
    TrainControl,
    Trainer,
    TrainingError,
    out_of_memory_message,
    suggest_config,
)
from workbench.core.train import events as ev
from workbench.core.train.augment import BatchAugment
from workbench.core.train.checkpoints import CHECKPOINT_NAME, read_checkpoint, write_checkpoint
from workbench.core.train.config import ConfigError
from workbench.core.train.schedules import lr_factor, planned_rates


def mlp(seed: int = 0) -> torch.nn.Module:
    return get_registry().model("digits_mlp").build(seed=seed)


def small_digits(train: int = 480, val: int = 120) -> ArrayDataset:
    data = load_digits()
    return ArrayDataset(
        "digits-small",
        "classification",
        data.x_train[:train],
        data.y_train[:train],
        data.x_val[:val],
        data.y_val[:val],
        10,
        data.class_names,
    )


def run(model, data, config, **kwargs):
    events: list = []
    trainer = Trainer(model, data, config, listeners=[events.append], **kwargs)
    return trainer.fit(), events


FAST = TrainConfig(epochs=3, batch_size=32, lr=3e-3, schedule="cosine")


def test_events_arrive_in_order_and_match_the_history(tmp_path: Path) -> None:
    result, events = run(mlp(), small_digits(), FAST, run_dir=tmp_path)
    assert isinstance(events[0], ev.Started) and isinstance(events[-1], ev.Finished)
    assert events[-1].result is result and result.status == "finished"
    started = events[0]
    assert started.steps_per_epoch == 15 and started.total_steps == 45 and started.first_step == 0
    steps = [e for e in events if isinstance(e, ev.Step)]
    assert [s.step for s in steps] == list(range(1, 46))
    epochs = [e for e in events if isinstance(e, ev.Epoch)]
    assert [e.epoch for e in epochs] == [1, 2, 3]
    # Each epoch event comes after its last step and before the next epoch's first.
    index = {id(e): i for i, e in enumerate(events)}
    for epoch in epochs:
        last = next(s for s in steps if s.step == epoch.epoch * 15)
        assert index[id(last)] < index[id(epoch)]
        assert all(index[id(s)] > index[id(epoch)] for s in steps if s.epoch > epoch.epoch)
    checkpoints = [e for e in events if isinstance(e, ev.Checkpoint)]
    assert [c.epoch for c in checkpoints] == [1, 2, 3]
    for checkpoint in checkpoints:
        epoch = epochs[checkpoint.epoch - 1]
        assert index[id(epoch)] < index[id(checkpoint)] < index[id(events[-1])]
    assert all(isinstance(e, ev.Progress) for e in events if type(e).__name__ == "Progress")
    assert result.history.losses == [s.loss for s in steps]
    assert result.history.lrs == [s.lr for s in steps]
    assert [r["epoch"] for r in result.history.epochs] == [1, 2, 3]
    assert result.metrics["val_accuracy"] == epochs[-1].val_accuracy
    assert epochs[-1].train_loss < epochs[0].train_loss
    assert (tmp_path / CHECKPOINT_NAME).is_file()


@pytest.mark.parametrize("flush_interval_s", [0.0, 60.0])
def test_an_epochs_train_loss_and_accuracy_count_every_sample_once(
    flush_interval_s: float,
) -> None:
    """The counts made at each flush (every step, or once an epoch) add up to the figures
    of the samples trained on: with a learning rate too small to move the MLP (no
    BatchNorm, no dropout), those are the untrained model's over the training set."""
    model, data = mlp(), small_digits()
    config = TrainConfig(epochs=1, batch_size=32, lr=1e-12, weight_decay=0.0)
    _, events = run(model, data, config, flush_interval_s=flush_interval_s)
    x, y = data.train_tensors().tensors
    with torch.inference_mode():
        out = model.train()(x)
    epoch = next(e for e in events if isinstance(e, ev.Epoch))
    assert epoch.train_accuracy == (out.argmax(1) == y).sum().item() / len(y)
    expected_loss = torch.nn.functional.cross_entropy(out, y).item()
    assert epoch.train_loss == pytest.approx(expected_loss, rel=1e-5)


def test_the_callers_model_is_not_changed() -> None:
    model = mlp()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result, _ = run(model, small_digits(), TrainConfig(epochs=1, batch_size=32))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not all(torch.equal(before[k], v) for k, v in result.model.state_dict().items())
    assert next(result.model.parameters()).device.type == "cpu" and not result.model.training


def test_a_seed_gives_the_same_run_on_cpu() -> None:
    config = TrainConfig(epochs=1, batch_size=32, seed=3)
    first, _ = run(mlp(), small_digits(), config)
    second, _ = run(mlp(), small_digits(), config)
    other, _ = run(mlp(), small_digits(), TrainConfig(epochs=1, batch_size=32, seed=4))
    assert first.history.losses == second.history.losses
    assert first.history.losses != other.history.losses


@pytest.mark.slow
def test_digits_cnn_reaches_97_percent() -> None:
    model = get_registry().model("digits_cnn").build(seed=0)
    config = suggest_config("digits_cnn", "digits")
    config.epochs = 6
    # One thread: batches of 64 on this small CNN gain nothing from a second, which only
    # spins when other processes share the 2 cores (2.5 s against 14.6 s, measured).
    with torch_threads(1):
        result, _ = run(model, load_digits(), config)
    assert result.metrics["val_accuracy"] >= 0.97, result.history.epochs


def _stop_at(control: TrainControl, step: int):
    def listener(event) -> None:
        if isinstance(event, ev.Step) and event.step == step:
            control.stop()

    return listener


def test_a_stopped_run_resumes_to_the_uninterrupted_losses(tmp_path: Path) -> None:
    config = TrainConfig(
        epochs=3, batch_size=32, lr=3e-3, schedule="one-cycle", label_smoothing=0.1
    )
    full, _ = run(mlp(), small_digits(), config)

    control = TrainControl()
    trainer = Trainer(
        mlp(), small_digits(), config, run_dir=tmp_path / "b", control=control, flush_interval_s=0
    )
    seen: list = []
    trainer.subscribe(seen.append)
    trainer.subscribe(_stop_at(control, 20))
    stopped = trainer.fit()
    assert stopped.status == "cancelled" and isinstance(seen[-1], ev.Cancelled)
    assert seen[-1].checkpoint == tmp_path / "b" / CHECKPOINT_NAME
    assert isinstance(seen[-2], ev.Checkpoint) and seen[-2].step == 20
    assert len(stopped.history.losses) == 20  # ended right after the step it was asked at

    resumed, events = run(mlp(), small_digits(), config, run_dir=tmp_path / "b", resume=True)
    assert events[0].first_step == 20 and events[0].history["steps"] == list(range(1, 21))
    assert next(e.step for e in events if isinstance(e, ev.Step)) == 21
    assert resumed.history.losses == full.history.losses  # exactly, step by step
    assert resumed.history.epochs == [
        {**r, "seconds": s["seconds"]}
        for r, s in zip(full.history.epochs, resumed.history.epochs, strict=True)
    ]
    for key, value in full.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key


class Killed(BaseException):
    """Stands for the process dying: not an Exception, so nothing handles it."""


def test_a_killed_run_resumes_from_its_last_epoch_checkpoint(tmp_path: Path) -> None:
    config = TrainConfig(epochs=3, batch_size=32, augment=AugmentConfig(), seed=1)
    full, _ = run(mlp(), small_digits(), config)

    def die(event) -> None:
        if isinstance(event, ev.Step) and event.step == 25:  # in epoch 2
            raise Killed

    with pytest.raises(Killed):
        Trainer(mlp(), small_digits(), config, run_dir=tmp_path, listeners=[die]).fit()
    state = read_checkpoint(tmp_path / CHECKPOINT_NAME)
    assert state["epoch"] == 1 and state["global_step"] == 15
    resumed, events = run(mlp(), small_digits(), config, run_dir=tmp_path, resume=True)
    assert events[0].first_step == 15
    assert resumed.history.losses == full.history.losses


def test_resume_needs_a_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="no checkpoint"):
        Trainer(mlp(), small_digits(), FAST, run_dir=tmp_path, resume=True).fit()


def test_pause_holds_between_steps_until_resumed() -> None:
    control = TrainControl()
    seen: list = []
    paused_at: list[int] = []

    def listener(event) -> None:
        seen.append(event)
        if isinstance(event, ev.Step) and event.step == 5 and not paused_at:
            paused_at.append(event.step)
            control.pause()

    trainer = Trainer(
        mlp(), small_digits(), FAST, control=control, listeners=[listener], flush_interval_s=0
    )
    outcome: list = []
    thread = threading.Thread(target=lambda: outcome.append(trainer.fit()))
    thread.start()
    deadline = threading.Event()
    for _ in range(200):
        if any(isinstance(e, ev.Paused) for e in seen):
            break
        deadline.wait(0.05)
    paused = next(e for e in seen if isinstance(e, ev.Paused))
    count = len(seen)
    deadline.wait(0.4)
    assert len(seen) == count and thread.is_alive()  # nothing happens while paused
    control.resume()
    thread.join(60)
    assert outcome and outcome[0].status == "finished"
    kinds = [type(e).__name__ for e in seen]
    assert kinds.index("Paused") < kinds.index("Resumed")
    assert paused.step == 5  # held right after the step it was asked at


class BlowsUpInEpoch2(torch.nn.Module):
    """A digits MLP whose outputs become infinite after 20 training forwards."""

    def __init__(self) -> None:
        super().__init__()
        self.net = mlp()
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        if self.training:
            self.calls += 1
            if self.calls > 20:
                return out * float("inf")
        return out


def test_an_infinite_loss_stops_the_run_and_keeps_the_last_good_checkpoint(
    tmp_path: Path,
) -> None:
    events: list = []
    trainer = Trainer(BlowsUpInEpoch2(), small_digits(), FAST, run_dir=tmp_path)
    trainer.subscribe(events.append)
    with pytest.raises(TrainingError) as caught:
        trainer.fit()
    message = caught.value.message
    assert "loss became" in message and "step 21" in message and "epoch 2" in message
    assert "last good checkpoint is kept" in message
    assert isinstance(events[-1], ev.Failed) and events[-1].message == message
    state = read_checkpoint(tmp_path / CHECKPOINT_NAME)
    assert state["epoch"] == 1
    assert all(torch.isfinite(v).all() for v in state["model"].values())


def test_a_huge_learning_rate_is_caught_as_nan() -> None:
    config = TrainConfig(epochs=1, batch_size=32, optimizer="sgd", lr=1e10, schedule="constant")
    with pytest.raises(TrainingError, match=r"loss became (nan|inf)"):
        Trainer(mlp(), small_digits(), config).fit()


def test_out_of_memory_message_names_a_smaller_batch() -> None:
    text = out_of_memory_message(256, "cuda:0")
    assert "cuda:0 ran out of memory at batch size 256" in text and "--batch-size 128" in text
    assert "--batch-size" not in out_of_memory_message(1, "cuda:0")


def test_mixed_precision_is_ignored_on_cpu_with_a_note() -> None:
    config = TrainConfig(epochs=1, batch_size=32, amp="fp16", device="cpu")
    result, events = run(mlp(), small_digits(), config)
    assert any("mixed precision" in note for note in events[0].notes)
    assert result.status == "finished"


def test_early_stopping_ends_the_run_and_keeps_the_best_weights() -> None:
    config = TrainConfig(epochs=6, batch_size=32, early_stopping=1, min_delta=10.0)
    result, events = run(mlp(), small_digits(), config)
    epochs = [e for e in events if isinstance(e, ev.Epoch)]
    assert len(epochs) == 2 and result.status == "early-stopped"
    assert result.metrics["best_epoch"] == 1
    assert result.metrics["val_accuracy"] == epochs[0].val_accuracy


def test_a_model_that_does_not_fit_the_data_is_named() -> None:
    model = get_registry().model("resnet_shapes").build(seed=0)
    with pytest.raises(TrainingError, match="does not accept 'digits-small' samples"):
        Trainer(model, small_digits(), FAST).fit()


def test_config_is_validated_and_round_trips() -> None:
    config = suggest_config("resnet_shapes", "shapes")
    assert TrainConfig.from_dict(config.to_dict()) == config
    with pytest.raises(
        ConfigError, match="optimizer must be one of sgd, adam, adamw; got 'rmsprop'"
    ):
        TrainConfig(optimizer="rmsprop").validate()
    with pytest.raises(ConfigError, match="batch_size must be positive"):
        TrainConfig(batch_size=0).validate()
    with pytest.raises(ConfigError, match="training settings: unknown setting 'colour'"):
        TrainConfig.from_dict({"colour": "red"})


def test_schedules() -> None:
    spe = 10
    cosine = TrainConfig(epochs=4, schedule="cosine", warmup_epochs=1)
    rates = planned_rates(cosine, spe)
    assert rates[0] == pytest.approx(cosine.lr / 10) and rates[9] == pytest.approx(cosine.lr)
    assert rates[-1] < cosine.lr * 0.01 and all(a >= b for a, b in itertools.pairwise(rates[9:]))
    step = TrainConfig(epochs=6, schedule="step", step_epochs=2, step_gamma=0.5)
    assert [lr_factor(s, step, spe) for s in (0, 19, 20, 40, 59)] == [1, 1, 0.5, 0.25, 0.25]
    cycle = planned_rates(TrainConfig(epochs=10, schedule="one-cycle"), spe)
    peak = int(np.argmax(cycle))
    assert peak == 30 and cycle[0] == pytest.approx(TrainConfig().lr / 25)
    assert cycle[-1] < cycle[0] / 50
    assert set(planned_rates(TrainConfig(epochs=2, schedule="constant"), spe)) == {2e-3}


def test_augmentation_crop_is_an_exact_shift_with_zero_fill() -> None:
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.float32).reshape(2, 1, 6, 6) + 1
    generator = torch.Generator().manual_seed(0)
    out = BatchAugment(AugmentConfig(crop_padding=2), generator)(x)
    for i in range(2):
        matches = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if torch.allclose(out[i], _shifted(x[i], dy, dx), atol=1e-4)
        ]
        assert len(matches) == 1
    flipped = BatchAugment(AugmentConfig(hflip=True), torch.Generator().manual_seed(1))(x)
    for i in range(2):
        assert torch.allclose(flipped[i], x[i], atol=1e-4) or torch.allclose(
            flipped[i], x[i].flip(-1), atol=1e-4
        )
    a = BatchAugment(
        AugmentConfig(rotation=10, brightness=0.2, contrast=0.2), torch.Generator().manual_seed(5)
    )(x)
    b = BatchAugment(
        AugmentConfig(rotation=10, brightness=0.2, contrast=0.2), torch.Generator().manual_seed(5)
    )(x)
    assert torch.equal(a, b) and not torch.equal(a, x) and math.isfinite(float(a.sum()))


def _shifted(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    out = torch.zeros_like(image)
    h, w = image.shape[-2:]
    src = image[..., max(0, dy) : h + min(0, dy), max(0, dx) : w + min(0, dx)]
    out[..., max(0, -dy) : h + min(0, -dy), max(0, -dx) : w + min(0, -dx)] = src
    return out


def test_augmented_runs_on_images_are_deterministic() -> None:
    shapes = get_registry().dataset("shapes").load(train_size=256, val_size=64)
    config = TrainConfig(
        epochs=1, batch_size=64, augment=AugmentConfig(crop_padding=2, hflip=True, rotation=5)
    )
    build = lambda: get_registry().model("resnet_shapes").build(seed=0, width=0.25)  # noqa: E731
    first, events = run(build(), shapes, config)
    second, _ = run(build(), shapes, config)
    assert first.history.losses == second.history.losses
    assert not any("augmentation" in n for n in events[0].notes)
    sequences = get_registry().dataset("sequences").load(train_size=64, val_size=16)
    model = get_registry().model("transformer_seq").build(seed=0)
    _, events = run(
        model, sequences, TrainConfig(epochs=1, batch_size=32, augment=AugmentConfig(hflip=True))
    )
    assert any("augmentation applies to images only" in n for n in events[0].notes)


def test_checkpoints_are_verified_and_refused_when_broken(tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    write_checkpoint(path, {"epoch": 1})
    assert read_checkpoint(path)["epoch"] == 1
    assert not list(tmp_path.glob(".*"))  # no temp file left behind
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(TrainingError, match=r"c\.pt is not a readable checkpoint"):
        read_checkpoint(path)
    torch.save({"something": 1}, path)
    with pytest.raises(TrainingError, match="not a workbench training checkpoint"):
        read_checkpoint(path)


@pytest.mark.slow
def test_loader_workers_give_the_same_losses() -> None:
    config = TrainConfig(epochs=1, batch_size=64)
    in_memory, _ = run(mlp(), small_digits(), config)
    workers = TrainConfig(epochs=1, batch_size=64, loader_workers=1)
    with_workers, _ = run(mlp(), small_digits(), workers)
    assert with_workers.history.losses == in_memory.history.losses
