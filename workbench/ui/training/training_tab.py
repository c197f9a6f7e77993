"""The Training tab: settings, Start / Pause / Resume / Stop, live curves and progress.

The run itself is the core ``Trainer`` in an ``EventStreamJob`` thread; its events
arrive here in batches at most ~30 times a second and only feed arrays to existing
plot items. A finished run is written as a variant folder (weights, variant.json,
history) inside ``runs_dir`` and announced with ``run_finished``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from workbench.core.data import DEFAULT_IMAGE_SIDE
from workbench.core.device import torch_devices
from workbench.core.errors import WorkbenchError
from workbench.core.train.config import TrainConfig, suggest_config
from workbench.core.train.control import TrainControl, TrainResult
from workbench.core.train.gpu_memory import MemorySampler
from workbench.core.train.schedules import planned_rates
from workbench.ui.graph_view.elided_label import ElidedLabel
from workbench.ui.training.curve_controls import CurveControls
from workbench.ui.training.curves import TrainingCurves
from workbench.ui.training.form import TrainingForm
from workbench.ui.training.runs import TrainingRun, read_runs
from workbench.ui.workers import EventStreamJob, TaskRunner

TRAINING_NICE = 5  # training threads yield the CPU to the GUI thread (Linux)


class TrainingTab(QWidget):
    """Train the selected variant. Wire with ``set_variant`` and ``run_finished``."""

    run_finished = Signal(object)  # TrainingRun
    run_failed = Signal(object)  # the exception (already shown in the tab)
    running_changed = Signal(bool)
    state_changed = Signal(str)  # idle | running | paused | stopping

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("training-tab")
        self.tasks = TaskRunner(self)
        self.job: EventStreamJob | None = None
        self.control: TrainControl | None = None
        self.key = ""
        self.text: Any = None  # how the model's tokenizer reads texts (a text model's)
        self.model: Any = None
        self.arch: str | None = None
        self.source = ""
        self.runs_dir: Path | None = None
        self._unsaved_runs: Path | None = None  # this session's runs of unsaved variants
        self.earlier: list[dict[str, Any]] = []
        self._total_steps = 0
        self._epochs = 0
        self._run_dir: Path | None = None

        self.title = ElidedLabel("No variant selected")
        # elided: a long variant name must not push the window wider than a laptop screen
        self.title.setObjectName("training-title")
        self.title.setStyleSheet("font-weight: 600; font-size: 11pt;")
        self.start_button = QPushButton("▶  Start")
        self.pause_button = QPushButton("❚❚  Pause")
        self.resume_button = QPushButton("▶  Resume")
        self.stop_button = QPushButton("■  Stop")
        self.start_button.setObjectName("training-start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.pause)
        self.resume_button.clicked.connect(self.resume)
        self.stop_button.clicked.connect(self.stop)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        for button in (self.start_button, self.pause_button, self.resume_button, self.stop_button):
            button.setMinimumWidth(92)
            top.addWidget(button)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.progress.setTextVisible(True)
        self.gpu_memory = QLabel("")  # shown only while a run on a GPU reports it
        self.gpu_memory.setObjectName("training-gpu-memory")
        self.gpu_memory.hide()
        self.status = QLabel("")
        self.status.setObjectName("training-status")
        self.status.setMinimumWidth(320)
        self.status.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        bar = QHBoxLayout()
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.gpu_memory)
        bar.addWidget(self.status)

        self.form = TrainingForm()
        self.form.device.load(self.tasks, torch_devices)
        scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(300)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.curves = TrainingCurves()
        self.view = CurveControls(self.curves)

        self.log = QPlainTextEdit()
        self.log.setObjectName("training-log")
        self.log.setReadOnly(True)
        self.log.setMaximumHeight(78)
        self.log.setPlaceholderText("Messages from the run appear here.")

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(4, 0, 0, 0)
        right_layout.addWidget(self.view)
        right_layout.addWidget(self.curves, 1)
        right_layout.addWidget(self.log)
        splitter = QSplitter()
        splitter.addWidget(scroll)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([340, 900])

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)
        self._set_state("idle")

    # -- wiring -------------------------------------------------------------------------

    def set_variant(
        self,
        key: str,
        model: Any,
        *,
        arch: str | None = None,
        dataset: str | None = None,
        source: str = "",
        name: str = "",
        runs_dir: Path | None = None,
        image_size: tuple[int, int] | None = None,
        text: Any = None,
    ) -> None:
        """Show ``model`` (a torch nn.Module, or None) as the one to train.

        Form defaults come from the architecture and dataset names; ``runs_dir`` is
        where its run folders go (default: the variant's folder in a temporary one kept
        for the session, so that selecting it again still finds its earlier runs).
        ``image_size`` is the model's input side, at which image folders are read;
        ``text`` (a ``Tokenization``) how a text model's tokenizer reads labelled texts.
        """
        if self.is_running():
            return
        self.key, self.model, self.arch, self.source = key, model, arch, source
        self.text = text
        self.form.set_text_model(text is not None)
        if runs_dir is None and self._unsaved_runs is None:
            self._unsaved_runs = Path(tempfile.mkdtemp(prefix="wb-runs-"))
        self.runs_dir = Path(runs_dir) if runs_dir else self._unsaved_runs / (key or "variant")
        trainable = model is not None and hasattr(model, "parameters")
        self.title.setText(
            f"{name or arch or key} · {dataset or 'choose a dataset'}"
            if trainable
            else f"{name or key}: training needs a PyTorch variant"
        )
        self.form.set_config(suggest_config(arch, dataset, texts=text is not None))
        self.form.set_dataset(dataset, texts=text is not None)
        self.form.image_size.setValue(image_size[0] if image_size else DEFAULT_IMAGE_SIDE)
        self.start_button.setEnabled(trainable)
        self.earlier = []
        self.curves.set_earlier_runs([])
        runs_dir_now = self.runs_dir
        self.tasks.start(
            lambda: read_runs(runs_dir_now),
            lambda runs: self._runs_read(runs_dir_now, runs),
            lambda error: self._message(f"earlier runs could not be read: {error}"),
        )

    def _runs_read(self, folder: Path, runs: list[dict[str, Any]]) -> None:
        if folder != self.runs_dir:
            return
        self.earlier = [r["history"] for r in runs if r["history"] and r["finished"]]
        self.curves.set_earlier_runs(self.earlier)
        resumable = [r for r in runs if r["resumable"]]
        self._resumable = resumable[-1]["dir"] if resumable else None
        self.form.resume.setEnabled(self._resumable is not None)
        self.form.resume.setChecked(False)

    # -- control ------------------------------------------------------------------------

    def is_running(self) -> bool:
        return self.job is not None and self.job.is_running()

    def start(self) -> None:
        if self.is_running() or self.model is None:
            return
        try:
            config = self.form.config()
        except WorkbenchError as exc:
            self._message(exc.message, error=True)
            return
        resume = self.form.resume.isChecked() and getattr(self, "_resumable", None) is not None
        run_dir = self._resumable if resume else _new_run_dir(self.runs_dir)
        self._run_dir = run_dir
        spec, options = self.form.dataset_spec(), self.form.data_options()
        model, key, arch, source, text = self.model, self.key, self.arch, self.source, self.text
        control = self.control = TrainControl()

        def job(ctx: Any, emit: Any) -> TrainingRun:
            from workbench.core.data.resolve import resolve_dataset
            from workbench.core.train.outputs import variant_kind, write_trained_variant
            from workbench.core.train.trainer import Trainer

            data = resolve_dataset(
                spec, seed=config.seed, workers=config.loader_workers, text=text, **options
            )
            trainer = Trainer(
                model, data, config, ctx, run_dir=run_dir, resume=resume, control=control
            )
            trainer.subscribe(emit)
            trainer.subscribe(MemorySampler(emit))  # GPU memory beside the run; CPU: silent
            result = trainer.fit()
            kind = variant_kind(source or "zoo:")
            run = TrainingRun(key, result, run_dir, kind, data.name, arch, source, spec=spec)
            if text is not None:  # recorded in the step, so its recipe reads texts alike
                run.text = options["text_options"].to_dict() or None
            if result.status != "cancelled":
                run.paths = write_trained_variant(
                    result, run_dir, source=source or "zoo:", arch=arch, dataset=data.name
                )
            return run

        self.job = EventStreamJob(job, self, nice=TRAINING_NICE)
        self.job.events.connect(self._on_events)
        self.job.succeeded.connect(self._on_succeeded)
        self.job.failed.connect(self._on_failed)
        self.job.ended.connect(self._on_ended)
        self.curves.reset()
        self.curves.set_earlier_runs(self.earlier)
        self.log.clear()
        self.gpu_memory.hide()
        self._message(f"{'resuming' if resume else 'starting'}: loading {spec}…")
        self.progress.setValue(0)
        self.progress.setFormat("loading data…")
        self._set_state("running")
        self.job.start()
        self.running_changed.emit(True)

    def pause(self) -> None:
        if self.control is not None and self.is_running():
            self.control.pause()
            self._set_state("paused")

    def resume(self) -> None:
        if self.control is not None and self.is_running():
            self.control.resume()
            self._set_state("running")

    def stop(self) -> None:
        """Stop after the current step; a checkpoint is saved so the run can resume."""
        if self.control is not None and self.is_running():
            self.control.stop()
            self._set_state("stopping")
            self._message("stopping after the current step…")

    def request_stop_and_wait(self, timeout_ms: int = 30_000) -> bool:
        """Stop a run and block until its thread ended (for closing the window).

        Ask the user first; True when nothing is left running.
        """
        if not self.is_running() or self.job is None:
            return True
        if self.control is not None:
            self.control.stop()
        self.job.cancel()
        return self.job.wait(timeout_ms)

    # -- events -------------------------------------------------------------------------

    def _on_events(self, batch: list[Any]) -> None:
        steps: list[int] = []
        losses: list[float] = []
        rates: list[float] = []
        progress = None
        for event in batch:
            kind = type(event).__name__
            if kind == "Step":
                steps.append(event.step)
                losses.append(event.loss)
                rates.append(event.lr)
            elif kind == "Progress":
                progress = event
            elif kind == "Epoch":
                self._flush_steps(steps, losses, rates)
                self.curves.add_epoch(_epoch_record(event))
                if event.val_perplexity is not None:
                    self._message(
                        f"epoch {event.epoch}: train loss {event.train_loss:.4f}, val "
                        f"perplexity {event.val_perplexity:.1f}, next-token accuracy "
                        f"{event.val_accuracy:.2%}"
                    )
                elif event.val_accuracy is not None:
                    self._message(
                        f"epoch {event.epoch}: train loss {event.train_loss:.4f}, val loss "
                        f"{event.val_loss:.4f}, val accuracy {event.val_accuracy:.2%}"
                    )
            elif kind == "Started":
                self._started(event)
            elif kind == "DeviceMemory":
                self.gpu_memory.setText(event.describe())
                self.gpu_memory.setToolTip(f"PyTorch's allocator on {event.device}")
                self.gpu_memory.show()
            elif kind == "Paused":
                self._set_state("paused")
                self._message(f"paused after step {event.step}")
            elif kind == "Resumed" and self.control and not self.control.stopping.is_set():
                self._set_state("running")
            elif kind == "Checkpoint":
                self.status.setToolTip(f"last checkpoint: {event.path} (epoch {event.epoch})")
            elif kind == "Failed":
                kept = " The last good checkpoint is kept." if event.checkpoint else ""
                self._message(event.message + kept, error=True)
            elif kind == "Cancelled":
                self._message(
                    f"stopped at step {event.step}; checkpoint kept in {event.checkpoint}. "
                    "Tick “resume the last stopped run” to continue."
                )
            elif kind == "Finished":
                self._finished(event.result)
        self._flush_steps(steps, losses, rates)
        self.curves.redraw()
        if progress is not None:
            self._show_progress(progress)

    def _flush_steps(self, steps: list, losses: list, rates: list) -> None:
        if steps:
            self.curves.add_steps(steps, losses, rates)
            steps.clear()
            losses.clear()
            rates.clear()

    def _started(self, event: Any) -> None:
        self._total_steps, self._epochs = event.total_steps, event.epochs
        config = TrainConfig.from_dict(event.config)
        self.curves.reset(planned_rates(config, event.steps_per_epoch), event.history, event.epochs)
        self._message(
            f"training on {event.device}: {event.train_samples:,} samples "
            f"({event.val_samples:,} for validation), {event.steps_per_epoch} steps × "
            f"{event.epochs} epochs; augmentation: {config.augment.describe()}"
        )
        for note in event.notes:
            self._message(f"note: {note}")

    def _show_progress(self, event: Any) -> None:
        fraction = event.step / max(1, event.total_steps)
        self.progress.setValue(round(fraction * 1000))
        paused = " · paused" if self.state == "paused" else ""
        self.progress.setFormat(f"epoch {event.epoch}/{self._epochs} · {fraction:.0%}{paused}")
        parts = [f"{event.samples_per_s:,.0f} samples/s"]
        if event.eta_s is not None:
            parts.append(f"ETA {_clock(event.eta_s)}")
        parts.append(f"step {event.step:,}/{event.total_steps:,}")
        self.status.setText("  ·  ".join(parts))

    def _finished(self, result: TrainResult) -> None:
        metrics = result.metrics
        accuracy = metrics.get("val_accuracy")
        shown = f"accuracy {accuracy:.2%}" if isinstance(accuracy, float) else "accuracy n/a"
        if isinstance(metrics.get("val_perplexity"), float):
            shown = f"perplexity {metrics['val_perplexity']:.1f} (next-token {shown})"
        self.progress.setValue(1000)
        self.progress.setFormat(f"{result.status} · {metrics['epochs']} epochs")
        self._message(
            f"{result.status}: validation {shown} after {metrics['epochs']} epochs "
            f"in {metrics['seconds']:.1f} s"
        )

    def _on_succeeded(self, run: TrainingRun) -> None:
        if run.result.status == "cancelled":
            self._resumable = run.run_dir
            self.form.resume.setEnabled(True)
            self.form.resume.setChecked(True)
            return
        self.earlier.append(run.result.history.to_dict())
        self.curves.set_earlier_runs(self.earlier[:-1])
        self.form.resume.setChecked(False)
        self.run_finished.emit(run)

    def _on_failed(self, error: BaseException) -> None:
        text = (
            error.message
            if isinstance(error, WorkbenchError)
            else f"{type(error).__name__}: {error}"
        )
        if not self.log.toPlainText().endswith(text.split("\n")[0][-40:]):
            self._message(text, error=True)
        self.progress.setFormat("failed")
        self.run_failed.emit(error)

    def _on_ended(self) -> None:
        self.job = None
        self._set_state("idle")
        self.running_changed.emit(False)

    # -- view ---------------------------------------------------------------------------

    def _set_state(self, state: str) -> None:
        if state == "paused" and "paused" not in self.progress.format():
            self.progress.setFormat(self.progress.format() + " · paused")
        elif state != "paused":
            self.progress.setFormat(self.progress.format().replace(" · paused", ""))
        running = state in ("running", "paused", "stopping")
        self.start_button.setEnabled(not running and self.model is not None)
        self.pause_button.setEnabled(state == "running")
        self.resume_button.setEnabled(state == "paused")
        self.stop_button.setEnabled(state in ("running", "paused"))
        self.form.setEnabled(not running)
        changed = getattr(self, "state", None) != state
        self.state = state
        if changed:
            self.state_changed.emit(state)

    def _message(self, text: str, error: bool = False) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.log.appendPlainText(f"{stamp}  {'error: ' if error else ''}{text}")


def _new_run_dir(runs_dir: Path) -> Path:
    """A fresh ``run-DATE-TIME`` folder name; two short runs may start in one second."""
    stamp = time.strftime("run-%Y%m%d-%H%M%S")
    run_dir, count = runs_dir / stamp, 1
    while run_dir.exists():
        count += 1
        run_dir = runs_dir / f"{stamp}-{count}"
    return run_dir


def _epoch_record(event: Any) -> dict[str, Any]:
    return {
        "epoch": event.epoch,
        "train_loss": event.train_loss,
        "train_accuracy": event.train_accuracy,
        "val_loss": event.val_loss,
        "val_accuracy": event.val_accuracy,
        "val_perplexity": event.val_perplexity,
    }


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return (
        f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        if seconds >= 3600
        else f"{seconds // 60}:{seconds % 60:02d}"
    )
