"""The Training tab with a real trainer in a real thread: start, pause, resume, stop, finish."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from workbench.core.catalogue import get_registry
from workbench.ui.training.curves import TrainingCurves, ema, envelope
from workbench.ui.training.training_tab import TrainingTab
from workbench.ui.workers import EventStreamJob


@pytest.fixture
def tab(qtbot, tmp_path: Path):
    widget = TrainingTab()
    qtbot.addWidget(widget)
    widget.resize(1200, 780)
    widget.show()
    model = get_registry().model("digits_mlp").build(seed=0)
    widget.set_variant(
        "v1", model, arch="digits_mlp", dataset="digits", source="zoo:digits_mlp",
        runs_dir=tmp_path / "runs",
    )  # fmt: skip
    qtbot.waitUntil(lambda: not widget.tasks.busy, timeout=10_000)
    yield widget
    assert widget.request_stop_and_wait()
    qtbot.waitUntil(lambda: not widget.is_running() and not widget.tasks.busy, timeout=30_000)


def test_defaults_come_from_the_variant(tab: TrainingTab) -> None:
    config = tab.form.config()
    assert config.epochs == 15 and config.batch_size == 64 and config.optimizer == "adamw"
    assert tab.form.dataset_spec() == "digits"
    assert tab.start_button.isEnabled() and not tab.stop_button.isEnabled()


def test_a_run_finishes_and_hands_over_the_trained_variant(qtbot, tab: TrainingTab) -> None:
    tab.form.editors["epochs"].setValue(2)
    with qtbot.waitSignal(tab.run_finished, timeout=120_000) as finished:
        tab.start()
        assert tab.is_running() and not tab.form.isEnabled()
    run = finished.args[0]
    assert run.result.status == "finished" and run.kind == "trained" and run.key == "v1"
    assert len(run.result.history.epochs) == 2 and run.result.metrics["val_accuracy"] > 0.5
    assert (run.run_dir / "model.pt").is_file() and (run.run_dir / "variant.json").is_file()
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=10_000)
    assert tab.curves.losses.size == len(run.result.history.losses)
    assert tab.curves.epochs["val_acc"].size == 2
    assert tab.progress.value() == 1000 and tab.start_button.isEnabled()
    assert tab.earlier and tab.earlier[-1]["losses"] == run.result.history.losses
    if "training on cpu" in tab.log.toPlainText():  # nothing GPU-related on the CPU
        assert tab.gpu_memory.isHidden() and "GPU" not in tab.status.text()


def test_pause_resume_and_stop_through_the_buttons(qtbot, tab: TrainingTab) -> None:
    tab.form.editors["epochs"].setValue(200)
    tab.start()
    qtbot.waitUntil(lambda: tab.curves.losses.size >= 5, timeout=60_000)
    qtbot.mouseClick(tab.pause_button, qtbot_left())
    qtbot.waitUntil(lambda: "paused after step" in tab.log.toPlainText(), timeout=30_000)
    assert "paused" in tab.progress.format()
    assert tab.resume_button.isEnabled() and not tab.pause_button.isEnabled()
    held = tab.curves.losses.size
    qtbot.wait(400)
    assert tab.curves.losses.size == held  # no step while paused
    qtbot.mouseClick(tab.resume_button, qtbot_left())
    qtbot.waitUntil(lambda: tab.curves.losses.size > held, timeout=30_000)
    with qtbot.waitSignal(tab.running_changed, timeout=60_000) as ended:
        qtbot.mouseClick(tab.stop_button, qtbot_left())
    assert ended.args == [False]
    assert "checkpoint kept" in tab.log.toPlainText()
    assert tab.form.resume.isEnabled() and tab.form.resume.isChecked()
    stopped_at = tab.curves.losses.size
    assert list(Path(tab.runs_dir).glob("run-*/checkpoint.pt"))

    tab.form.editors["epochs"].setValue(200)
    tab.start()  # resumes the stopped run from its checkpoint
    qtbot.waitUntil(lambda: tab.curves.losses.size > stopped_at, timeout=60_000)
    assert tab.curves.steps.values[0] == 1  # the resumed run's past is drawn too
    assert tab.request_stop_and_wait()
    assert tab.job is None or not tab.job.thread.isRunning()


def qtbot_left():
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_a_failing_run_is_reported_in_the_tab(qtbot, tab: TrainingTab) -> None:
    tab.form.dataset.setCurrentText("/no/such/data")
    with qtbot.waitSignal(tab.run_failed, timeout=60_000) as failed:
        tab.start()
    assert "neither a dataset name" in str(failed.args[0])
    assert "error:" in tab.log.toPlainText()
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=10_000)


def test_a_non_pytorch_variant_cannot_be_started(qtbot, tmp_path: Path) -> None:
    widget = TrainingTab()
    qtbot.addWidget(widget)
    widget.set_variant("onnx", None, name="model.onnx", runs_dir=tmp_path)
    qtbot.waitUntil(lambda: not widget.tasks.busy, timeout=10_000)
    assert not widget.start_button.isEnabled() and "PyTorch" in widget.title.text()


def test_event_stream_is_throttled_and_ordered(qtbot) -> None:
    def flood(ctx, emit) -> str:
        for i in range(200_000):
            emit(i)
        return "done"

    job = EventStreamJob(flood)
    batches: list[list[int]] = []
    job.events.connect(batches.append)
    started = time.perf_counter()
    with qtbot.waitSignal(job.succeeded, timeout=60_000) as done:
        job.start()
    elapsed = time.perf_counter() - started
    qtbot.waitUntil(lambda: not job.is_running(), timeout=10_000)
    assert done.args == ["done"]
    assert [i for batch in batches for i in batch] == list(range(200_000))
    assert len(batches) <= elapsed * 30 + 3  # at most ~30 deliveries a second


def test_ema_matches_the_recurrence_and_continues() -> None:
    values = np.random.default_rng(0).random(3000)
    for weight in (0.0, 0.3, 0.9, 0.999):
        expected, raw = [], 0.0
        for i, v in enumerate(values):
            raw = weight * raw + (1 - weight) * v
            expected.append(raw / (1 - weight ** (i + 1)) if weight else v)
        whole, _ = ema(values, weight)
        head, state = ema(values[:1234], weight)
        tail, _ = ema(values[1234:], weight, state)
        assert np.allclose(whole, expected, rtol=1e-9, atol=1e-12)
        assert np.allclose(np.concatenate([head, tail]), expected, rtol=1e-9, atol=1e-12)


def test_envelope_covers_every_point() -> None:
    y = np.random.default_rng(1).random(10_001)
    x = np.arange(1, len(y) + 1, dtype=float)
    centres, low, high = envelope(x, y, buckets=100)
    assert len(centres) <= 102 and low.min() == y.min() and high.max() == y.max()
    assert np.all(low <= high)


def test_curves_keep_their_items_across_updates(qtbot) -> None:
    curves = TrainingCurves()
    qtbot.addWidget(curves)
    items = (curves.raw, curves.smooth, curves.lr, curves.val_acc)
    count = len(curves.loss_plot.getPlotItem().items)
    curves.reset([0.1] * 100)
    for start in range(0, 100, 10):
        steps = np.arange(start + 1, start + 11)
        curves.add_steps(steps, 1.0 / steps, [0.1] * 10)
        curves.redraw()
    curves.add_epoch(
        {"epoch": 1, "train_loss": 1, "train_accuracy": 0.5, "val_loss": 1, "val_accuracy": 0.6}
    )
    curves.set_mode("envelope")
    curves.set_log(True, True)
    curves.redraw()
    assert (curves.raw, curves.smooth, curves.lr, curves.val_acc) == items
    assert len(curves.loss_plot.getPlotItem().items) == count
    _, y = curves.raw.getData()
    assert len(curves.steps.values) == 100 and y[-1] == pytest.approx(
        -2.0
    )  # log10, shown in log mode


def test_the_device_chooser_lists_this_machine_and_says_why_cuda_is_absent(
    tab: TrainingTab,
) -> None:
    import torch

    from workbench.core.device import cuda_missing

    chooser = tab.form.device
    labels = [chooser.itemText(i) for i in range(chooser.count())]
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        assert any(label.startswith("cuda:0 — ") and name in label for label in labels)
        return
    assert labels[:2] == ["auto (cpu here)", "cpu"]
    assert labels[-1] == "cuda — not available here"
    assert f"CUDA is not offered: {cuda_missing(torch)}" in chooser.toolTip()
    assert tab.form.config().device == "auto"


def test_gpu_memory_in_use_is_shown_beside_the_progress(qtbot, tab: TrainingTab) -> None:
    """The label a CUDA run feeds (MemorySampler's events); no GPU here, so the event
    is handed to the tab's event slot as the worker's stream would deliver it."""
    from workbench.core.train.gpu_memory import DeviceMemory

    assert tab.gpu_memory.isHidden()
    gib = 1024**3
    tab._on_events([DeviceMemory("cuda:0", 3 * gib // 2, 5 * gib, 150_109_593_600)])
    assert tab.gpu_memory.isVisible()
    assert tab.gpu_memory.text() == "GPU memory 1.5 GiB in use · peak 5.0 GiB of 139.8 GiB"
    tab.form.editors["epochs"].setValue(1)
    with qtbot.waitSignal(tab.run_finished, timeout=120_000):
        tab.start()  # a new run starts without the last run's figures
        assert tab.gpu_memory.isHidden()
