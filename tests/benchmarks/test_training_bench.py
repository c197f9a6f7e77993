"""Training speed and GUI responsiveness, printed as figures (run: make bench)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest
from bench_limits import limit

from workbench.core.catalogue import get_registry
from workbench.core.data.digits import load_digits
from workbench.core.train import Trainer, suggest_config
from workbench.core.train import events as ev

pytestmark = pytest.mark.benchmark

# Targets from issue 4; load-sensitive ones get slack unless strict (see bench_limits.py).
# The trainer's overhead against a bare loop: test_trainer_overhead_bench.py.
# 50 ms strict; 250 ms by default: 151 ms was seen late in a full idle suite run (the
# process's heap by then makes the collector's pauses longer), 40-90 ms alone.
STALL_LIMIT_MS = limit(50, 5.0)
REDRAW_LIMIT_MS = 16
DIGITS_SECONDS = 30


def test_digits_cnn_reaches_97_percent_within_30_seconds(tmp_path: Path) -> None:
    config = suggest_config("digits_cnn", "digits")
    config.epochs = 8
    reached: list[float] = []
    epochs: list = []
    trainer = Trainer(
        get_registry().model("digits_cnn").build(seed=0), load_digits(), config, run_dir=tmp_path
    )
    start = time.perf_counter()

    def listener(event) -> None:
        if isinstance(event, ev.Epoch):
            epochs.append(event)
            if event.val_accuracy >= 0.97 and not reached:
                reached.append(time.perf_counter() - start)

    trainer.subscribe(listener)
    result = trainer.fit()
    total = time.perf_counter() - start
    best = max(e.val_accuracy for e in epochs)
    print(
        f"\ndigits CNN from scratch: 97 % validation accuracy after "
        f"{reached[0] if reached else float('nan'):.1f} s; {best:.2%} best, "
        f"{result.metrics['val_accuracy']:.2%} final after {len(epochs)} epochs in {total:.1f} s"
    )
    assert reached and reached[0] <= DIGITS_SECONDS


def test_resnet_learns_the_shapes(tmp_path: Path) -> None:
    config = suggest_config("resnet_shapes", "shapes")
    config.epochs = 2  # the tab suggests 6; two keep the benchmark near two minutes
    data = get_registry().dataset("shapes").load()
    epochs: list = []
    trainer = Trainer(
        get_registry().model("resnet_shapes").build(seed=0), data, config, run_dir=tmp_path
    )
    trainer.subscribe(lambda e: epochs.append(e) if isinstance(e, ev.Epoch) else None)
    start = time.perf_counter()
    result = trainer.fit()
    print(
        f"\nResNet-style on shapes ({data.num_train:,} train / {data.num_val:,} val, "
        f"{config.epochs} epochs, {config.optimizer} one-cycle, {config.augment.describe()}): "
        + ", ".join(f"epoch {e.epoch} {e.val_accuracy:.1%}" for e in epochs)
        + f"; {time.perf_counter() - start:.0f} s"
    )
    assert result.metrics["val_accuracy"] > 0.5


def test_gui_stays_responsive_while_training(qtbot, tmp_path: Path) -> None:
    import gc

    from PySide6.QtCore import QTimer

    gc.collect()  # earlier tests' garbage is not this run's stall

    from workbench.ui.training.training_tab import TrainingTab

    tab = TrainingTab()
    qtbot.addWidget(tab)
    tab.resize(1280, 800)
    tab.show()
    model = get_registry().model("digits_cnn").build(seed=0)
    tab.set_variant("v", model, arch="digits_cnn", dataset="digits", runs_dir=tmp_path)
    qtbot.waitUntil(lambda: not tab.tasks.busy, timeout=10_000)
    tab.form.editors["epochs"].setValue(100)
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    tab.start()
    qtbot.waitUntil(lambda: tab.curves.losses.size > 0, timeout=60_000)
    last[0] = time.perf_counter()
    timer.start()
    qtbot.wait(6000)
    timer.stop()
    steps = tab.curves.losses.size
    assert tab.request_stop_and_wait()
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=30_000)
    worst = max(gaps) * 1000
    print(
        f"\nGUI event loop while training (5 ms timer, {len(gaps)} ticks, {steps} steps drawn): "
        f"largest gap {worst:.1f} ms, median {statistics.median(gaps) * 1000:.1f} ms "
        f"(limit {STALL_LIMIT_MS} ms)"
    )
    assert worst <= STALL_LIMIT_MS


def test_redrawing_a_100k_point_loss_curve(qtbot) -> None:
    import numpy as np

    from workbench.ui.training.curves import TrainingCurves

    curves = TrainingCurves()
    qtbot.addWidget(curves)
    curves.resize(1000, 700)
    curves.show()
    n = 100_000
    steps = np.arange(1, n + 1)
    losses = 2.0 * np.exp(-steps / 20_000) + 0.1 * np.random.default_rng(0).random(n)
    curves.reset(list(np.full(n + 3000, 1e-3)))
    curves.add_steps(steps, losses, np.full(n, 1e-3))
    curves.redraw()
    curves.repaint()
    timings = {}
    for mode in ("smooth", "envelope"):
        curves.set_mode(mode)
        times = []
        for i in range(30):
            new = np.arange(n + i * 100 + 1, n + (i + 1) * 100 + 1)
            curves.add_steps(new, np.full(100, 0.2), np.full(100, 1e-3))
            start = time.perf_counter()
            curves.redraw()
            curves.loss_plot.repaint()
            times.append(time.perf_counter() - start)
        timings[mode] = statistics.median(times) * 1000
    print(
        f"\nredraw of the {n:,}-point loss curve (+100 points, setData + paint): "
        + ", ".join(f"{mode} {ms:.1f} ms" for mode, ms in timings.items())
        + f" (limit {REDRAW_LIMIT_MS} ms)"
    )
    assert max(timings.values()) < REDRAW_LIMIT_MS
