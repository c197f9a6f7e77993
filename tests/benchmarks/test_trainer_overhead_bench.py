"""The trainer's own cost against a bare PyTorch loop with the same batches (issue 20).

Two models: the digits CNN (small: ~6 ms a step on 2 cores, where bookkeeping and the
epoch checkpoint weigh most) and the ResNet-style shapes model on a subset of shapes
(larger: ~60 ms a step, 8x the parameters). Three loops train each the same way, in
turn, so a machine shared with other work slows all alike: the bare loop, the trainer
without a run folder (its per-step bookkeeping: events, history, train accuracy, the
pause/stop checks) and the trainer with one (plus an epoch checkpoint, written in the
background; on 2 cores that thread's CPU time comes out of the training's). The first
epoch of each run (warm-up) is left out and epoch k of a trainer run is paired with
epoch k of the bare run of the same round. The median of those paired ratios is held
(the ratio of minima swung 0.92-1.20 within an hour here; one lucky bare epoch moves
it); the minima, the spread of the paired ratios and the whole-run ratio (best of the
rounds; set-up, the last checkpoint's wait and all, as the issue measured it) are
printed beside it.

The bare loop records its losses, and the trainer's must be the same numbers: the
comparison is between loops doing the same training, not different trainings.
"""

from __future__ import annotations

import copy
import itertools
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
from bench_limits import limit

from workbench.core.catalogue import get_registry
from workbench.core.data.digits import load_digits
from workbench.core.data.shapes import load_shapes
from workbench.core.train import TrainConfig, Trainer
from workbench.core.train import events as ev
from workbench.core.train.schedules import make_scheduler
from workbench.core.train.setup import steps_per_epoch

pytestmark = [pytest.mark.benchmark, pytest.mark.slow]

# 1.05 strict (issue 20); ~1.24 by default on the shared, noisy 2-core machine, where a
# neighbour's burst during one side of a pair moves single ratios by 10-20 %.
OVERHEAD_LIMIT = limit(1.05, 1.18)


@dataclass
class Case:
    name: str
    model: Any
    data: Any
    config: TrainConfig
    repeats: int


def cases(device: str) -> list[Case]:
    registry = get_registry()
    return [
        Case(
            "digits CNN, batch 64",
            registry.model("digits_cnn").build(seed=0),
            load_digits(),
            TrainConfig(epochs=4, batch_size=64, weight_decay=1e-4, device=device),
            repeats=8,
        ),
        Case(  # 16 steps an epoch; 3 epochs x 3 repeats: ~150 steps a side
            "ResNet-style (zoo:resnet_shapes) on 1,024 shapes, batch 64",
            registry.model("resnet_shapes").build(seed=0),
            load_shapes(train_size=1024, val_size=256),
            TrainConfig(epochs=3, batch_size=64, weight_decay=1e-4, device=device),
            repeats=3,
        ),
    ]


def bare_loop(case: Case, losses: list[float]) -> tuple[float, list[float]]:
    """(whole seconds, seconds per epoch) of the plainest loop that trains and evaluates
    as the trainer does; each step's loss is appended to ``losses`` (read once, at the end,
    as a bare loop that logs nothing would never sync)."""
    config = case.config
    device = torch.device(config.device)
    start = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = copy.deepcopy(case.model).to(device)
        model.train()
        x, y = (t.to(device) for t in case.data.train_tensors().tensors)
        xv, yv = (t.to(device) for t in case.data.val_tensors().tensors)
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        spe = steps_per_epoch(len(x), config.batch_size)
        scheduler = make_scheduler(optimizer, config, spe)
        criterion = torch.nn.CrossEntropyLoss()
        generator = torch.Generator().manual_seed(config.seed)
        bs = config.batch_size
        marks = [time.perf_counter()]
        detached = []
        for _ in range(config.epochs):
            model.train()
            perm = torch.randperm(len(x), generator=generator).to(device)
            for b in range(spe):
                idx = perm[b * bs : (b + 1) * bs]
                loss = criterion(model(x[idx]), y[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                detached.append(loss.detach())
            model.eval()
            with torch.inference_mode():
                out = model(xv)
                float(torch.nn.functional.cross_entropy(out, yv))
                float((out.argmax(1) == yv).float().mean())
            marks.append(time.perf_counter())
        losses += torch.stack(detached).tolist()
    return time.perf_counter() - start, [b - a for a, b in itertools.pairwise(marks)]


def trainer_run(case: Case, run_dir: Path | None, losses: list[float]) -> tuple[float, list[float]]:
    """The same for ``Trainer.fit`` with its events, history and train accuracy, and with
    epoch checkpoints when given a ``run_dir``; epochs are timed between its own Started
    and Epoch events."""
    start = time.perf_counter()
    marks: list[float] = []

    def listener(event) -> None:
        if isinstance(event, ev.Started | ev.Epoch):
            marks.append(time.perf_counter())

    trainer = Trainer(case.model, case.data, case.config, run_dir=run_dir, listeners=[listener])
    result = trainer.fit()
    whole = time.perf_counter() - start
    losses += result.history.losses
    return whole, [b - a for a, b in itertools.pairwise(marks)]


def same_training(ours: list[float], bare: list[float], device: str) -> bool:
    if device == "cpu":
        return ours == bare
    # cuDNN picks kernels whose sums may round differently: the same training, not bits
    return len(ours) == len(bare) and ours[0] == pytest.approx(bare[0], rel=1e-4)


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
SIDES = ("bookkeeping", "checkpoints")  # the trainer without and with a run folder


@pytest.mark.parametrize("device", DEVICES)
def test_trainer_overhead_against_a_bare_loop(device: str, tmp_path: Path) -> None:
    runs = cases(device)
    epochs = {(c.name, side): [] for c in runs for side in ("bare", *SIDES)}
    whole = {(c.name, side): [] for c in runs for side in ("bare", *SIDES)}
    for repeat in range(max(c.repeats for c in runs)):
        for case in [c for c in runs if repeat < c.repeats]:
            bare_losses: list[float] = []
            seconds, times = bare_loop(case, bare_losses)
            epochs[case.name, "bare"] += times[1:]
            whole[case.name, "bare"].append(seconds)
            for side in SIDES if repeat % 2 else SIDES[::-1]:  # neither always runs first
                run_dir = tmp_path / f"{case.name[:6]}-{repeat}" if side == "checkpoints" else None
                our_losses: list[float] = []
                seconds, times = trainer_run(case, run_dir, our_losses)
                assert same_training(our_losses, bare_losses, device), case.name
                epochs[case.name, side] += times[1:]
                whole[case.name, side].append(seconds)
    where = f"{torch.get_num_threads()} threads" if device == "cpu" else device
    print(f"\ntrainer against a bare loop with the same batches ({where}, interleaved runs):")
    held = {}
    for case in runs:
        bare = epochs[case.name, "bare"]
        line = [f"  {case.name}: bare epoch min {min(bare) * 1000:.1f} ms ({len(bare)} pairs)"]
        for side in SIDES:
            ours = epochs[case.name, side]
            paired = [o / b for o, b in zip(ours, bare, strict=True)]
            quartiles = statistics.quantiles(paired, n=4)
            held[case.name, side] = statistics.median(paired)
            best_whole = min(whole[case.name, side]) / min(whole[case.name, "bare"])
            line.append(
                f"trainer, {side}: paired ratio median {held[case.name, side]:.3f} "
                f"(quartiles {quartiles[0]:.3f}-{quartiles[2]:.3f}), ratio of minima "
                f"{min(ours) / min(bare):.3f}, whole run {best_whole:.3f}"
            )
        print(";\n    ".join(line) + f" (limit {OVERHEAD_LIMIT:.2f})")
    for (name, side), ratio in held.items():
        assert ratio <= OVERHEAD_LIMIT, (
            f"{name}, {side}: the trainer takes {ratio:.3f}x a bare loop"
        )
