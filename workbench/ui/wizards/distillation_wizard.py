"""Distil the selected variant into a smaller student, step by step.

Pages: teacher → student (parameters, MACs, latency before training) → loss (in plain
words) → data and budget → run (progress, live curves of the hard and soft losses,
student, baseline and teacher accuracy; Cancel) → summary (student vs teacher vs
baseline). The run is ``run_pass(Distill, ...)``, the same call as ``workbench
distill``; Finish emits a ``WizardOutcome`` for the new variant.
"""

from __future__ import annotations

import collections
import dataclasses
import html
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget, QWizardPage

from workbench.core.compress.distillation.config import DistillConfig
from workbench.core.config_schema import config_from_dict, config_to_dict
from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel
from workbench.core.measure.spread import SpeedRatio
from workbench.core.units import human_bytes, human_count
from workbench.ui.training.curves import TrainingCurves, _curve, _key_html, add_legend
from workbench.ui.wizards.base import PassWizard, RunPage, WizardOutcome
from workbench.ui.wizards.distillation_pages import BudgetPage, LossPage, StudentPage, TeacherPage
from workbench.ui.wizards.quantization_wizard import is_language_model
from workbench.ui.workers import TaskRunner

DRAIN_MS = 100  # the run page takes the worker's events at most ten times a second
HARD, SOFT, TEACHER, BASELINE = "#c0392b", "#8e44ad", "#2e8b57", "#7f7f7f"
BANNER = "background: #fff3cd; color: #664d03; border: 1px solid #e0c36a; padding: 6px;"


class DistillCurves(TrainingCurves):
    """The Training tab's curves plus the two loss parts, the teacher and the baseline."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lr_plot.hide()  # the schedule is fixed here; room for the losses instead
        self.key.setText(_key_html(lr=False))
        self.acc_plot.getAxis("left").setTickSpacing(0.2, 0.1)
        # Train and validation are in the colour key; the teacher and the baseline get a
        # legend, bottom right: accuracies climb to the top.
        add_legend(self.acc_plot, offset=(-8, -8))
        self.hard = _curve(self.loss_plot, HARD, 1.4, "hard (labels)")
        self.soft = _curve(self.loss_plot, SOFT, 1.4, "soft (teacher)")
        self.baseline_acc = _curve(self.acc_plot, BASELINE, 2.0, "baseline (no teacher)",
                                   style=Qt.PenStyle.DashLine, symbol="t", symbolSize=6,
                                   symbolBrush=BASELINE, symbolPen=None)  # fmt: skip
        # A flat curve, not an InfiniteLine: it gets a legend entry, and the figure goes
        # in the title, where no accuracy point can cover it.
        self.teacher_line = _curve(self.acc_plot, TEACHER, 1.6, "teacher",
                                   style=Qt.PenStyle.DotLine)  # fmt: skip
        self.teacher_line.hide()
        self._epochs = 0
        self.what = "Accuracy"  # a language model's: next-token accuracy
        self.parts: dict[str, list[float]] = {"step": [], "hard": [], "soft": []}
        self.baseline: dict[str, list[float]] = {"epoch": [], "acc": []}
        self._steps: dict[str, list[float]] = {"step": [], "loss": [], "lr": []}

    def start(self, epochs: int) -> None:
        self.reset(epochs=epochs)
        self._epochs = epochs
        self._acc_title(f"{self.what} per epoch")
        for values in (*self.parts.values(), *self.baseline.values(), *self._steps.values()):
            values.clear()
        self.teacher_line.hide()

    def feed(self, phase: str, event: Any) -> None:
        kind = type(event).__name__
        if kind == "TeacherScore":
            span = [0.5, max(self._epochs, 1) + 0.5]
            self.teacher_line.setData(span, [event.accuracy, event.accuracy])
            self.teacher_line.show()
            self._acc_title(f"{self.what} per epoch (teacher {event.accuracy:.1%})")
        elif kind == "LossParts":
            self.parts["step"].append(event.step)
            self.parts["hard"].append(event.hard)
            self.parts["soft"].append(event.soft)
        elif phase == "distill" and kind == "Step":
            for key, value in zip(self._steps, (event.step, event.loss, event.lr), strict=True):
                self._steps[key].append(value)
        elif phase == "distill" and kind == "Epoch":
            self.add_epoch(dataclasses.asdict(event))
        elif phase == "baseline" and kind == "Epoch" and event.val_accuracy is not None:
            self.baseline["epoch"].append(event.epoch)
            self.baseline["acc"].append(event.val_accuracy)

    def _acc_title(self, text: str) -> None:
        self.acc_plot.getPlotItem().setTitle(
            f"<span style='color:#333;font-size:10pt'>{text}</span>"
        )

    def redraw(self) -> None:
        if self._steps["step"]:  # steps arrive one event each; the EMA takes them in bulk
            self.add_steps(self._steps["step"], self._steps["loss"], self._steps["lr"])
            for values in self._steps.values():
                values.clear()
        super().redraw()
        self.hard.setData(self.parts["step"], self.parts["hard"])
        self.soft.setData(self.parts["step"], self.parts["soft"])
        self.baseline_acc.setData(self.baseline["epoch"], self.baseline["acc"])


class DistillRunPage(RunPage):
    """The shared run page with the live curves under the progress bar."""

    def __init__(self, make_job: Any, on_result: Any, parent: QWidget | None = None) -> None:
        super().__init__("Distilling", make_job, on_result, parent)
        self.setSubTitle("The student trains with the teacher, then (if chosen) without it.")
        # Said as soon as the teacher is scored, before minutes of training from it.
        self.teacher_warning = QLabel("")
        self.teacher_warning.setObjectName("teacher-warning")
        self.teacher_warning.setWordWrap(True)
        self.teacher_warning.setStyleSheet(BANNER)
        self.teacher_warning.hide()
        self.body.insertWidget(0, self.teacher_warning)
        self.curves = DistillCurves()
        self.curves.setMinimumHeight(420)
        self.body.insertWidget(self.body.count() - 1, self.curves, 1)
        self.body.setStretch(self.body.count() - 1, 0)  # the curves take the free height
        self.queue: collections.deque[tuple[str, Any]] = collections.deque()
        self.control: Any = None  # the TrainControl of the run in progress
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("run-pause")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self._pause)
        self.controls.insertWidget(1, self.pause_button)  # between the bar and Cancel
        self.finished.connect(lambda _ok: self._end_pause())
        self.timer = QTimer(self)
        self.timer.setInterval(DRAIN_MS)
        self.timer.timeout.connect(self.drain)
        self.finished.connect(lambda _ok: self._stop_timer())

    def listener(self, phase: str, event: Any) -> None:
        """Called on the worker thread: only queues (a deque append is thread-safe)."""
        self.queue.append((phase, event))

    def _pause(self, paused: bool) -> None:
        """Hold between steps (the trainer waits, the curves stay); Resume goes on."""
        if self.control is None:
            return
        if paused:
            self.control.pause()
        else:
            self.control.resume()
        self.pause_button.setText("Resume" if paused else "Pause")

    def _end_pause(self) -> None:
        self.pause_button.setChecked(False)
        self.pause_button.setEnabled(False)

    def cancel(self) -> None:
        if self.control is not None:
            self.control.resume()  # a paused run must wake to see the cancel
        super().cancel()

    def start(self) -> None:
        from workbench.core.train import TrainControl

        self.control = TrainControl()
        self.pause_button.setChecked(False)
        self.pause_button.setEnabled(True)
        self.queue.clear()
        self.teacher_warning.hide()
        try:
            epochs = self.wizard().config().epochs  # type: ignore[attr-defined]
        except WorkbenchError:
            epochs = 0  # the run itself reports the bad setting
        self.curves.start(epochs)
        self.timer.start()
        super().start()

    def drain(self) -> None:
        if not self.queue:
            return
        while self.queue:
            phase, event = self.queue.popleft()
            if type(event).__name__ == "TeacherScore" and event.warning:
                self.teacher_warning.setText(f"⚠ {event.warning[0].upper()}{event.warning[1:]}.")
                self.teacher_warning.show()
            self.curves.feed(phase, event)
        self.curves.redraw()

    def _stop_timer(self) -> None:
        self.drain()
        self.timer.stop()


class DistillSummaryPage(QWizardPage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Summary")
        self.setSubTitle("Finish adds the student as a new variant under the teacher.")
        self.text = QLabel("")
        self.text.setObjectName("summary-text")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addStretch(1)


def summary_html(metrics: dict[str, Any], notes: list[str]) -> str:
    """Student vs teacher vs baseline: accuracy (perplexity for a language model),
    latency, parameters, size."""
    if metrics.get("student_perplexity") is not None:
        return lm_summary_html(metrics, notes)

    def pct(v: Any) -> str:
        return f"{v:.1%}" if isinstance(v, float) else "–"

    def ms(v: Any) -> str:
        return f"{v:.2f} ms" if isinstance(v, float) else "not measured"

    m = metrics
    rows = [("Teacher", m.get("teacher_accuracy"), m.get("teacher_latency_ms"),
             m.get("teacher_parameters"), m.get("teacher_size_bytes")),
            ("Student (distilled)", m.get("student_accuracy"), m.get("student_latency_ms"),
             m.get("student_parameters"), m.get("student_size_bytes"))]  # fmt: skip
    if "baseline_accuracy" in m:
        rows.append(("Student without teacher", m["baseline_accuracy"],
                     m.get("student_latency_ms"), m.get("student_parameters"),
                     m.get("student_size_bytes")))  # fmt: skip
    cells = "".join(
        f"<tr><td>{name}</td><td align='right'><b>{pct(acc)}</b></td>"
        f"<td align='right'>{ms(lat)}</td><td align='right'>{human_count(params or 0)}</td>"
        f"<td align='right'>{human_bytes(size or 0)}</td></tr>"
        for name, acc, lat, params, size in rows
    )
    lines = []
    gain = m.get("gain_over_baseline_points")
    if gain is not None:
        verdict = "helped" if gain > 0 else "did not help"
        lines.append(f"The teacher {verdict}: <b>{gain:+.1f} points</b> over the same student "
                     "trained on the labels alone (same epochs and seed).")  # fmt: skip
    if m.get("gap_to_teacher_points") is not None:
        gap = m["gap_to_teacher_points"]
        lines.append(f"The student is {abs(gap):.1f} points {'below' if gap >= 0 else 'above'} "
                     f"the teacher with {m['parameter_ratio']:.0%} of its parameters"
                     + (f", {m['speedup']:.1f}× as fast." if "speedup" in m else "."))  # fmt: skip
    spread = SpeedRatio.from_json(m["speedup_rounds"]) if m.get("speedup_rounds") else None
    if spread is not None and spread.unsteady:
        lines.append(f"<b>Speed-up {html.escape(spread.flag() or '')}.</b>")
    timed = html.escape(m.get("latency_conditions") or "")
    notes_html = "".join(f"<li>{n}</li>" for n in notes)
    return (
        "<table cellspacing='0' cellpadding='4'><tr><th align='left'></th>"
        "<th align='right'>Accuracy</th>"
        f"<th align='right'>Latency (batch 1{', ' + timed if timed else ''})</th>"
        f"<th align='right'>Parameters</th><th align='right'>Weights</th></tr>{cells}</table>"
        + "".join(f"<p>{line}</p>" for line in lines)
        + (f"<ul>{notes_html}</ul>" if notes else "")
    )


def lm_summary_html(metrics: dict[str, Any], notes: list[str]) -> str:
    """The language-model summary: perplexity (lower is better) in place of accuracy."""
    m = metrics

    def ms(v: Any) -> str:
        return f"{v:.2f} ms" if isinstance(v, float) else "not measured"

    rows = [("Teacher", "teacher"), ("Student (distilled)", "student")]
    if m.get("baseline_perplexity") is not None:
        rows.append(("Student without teacher", "baseline"))
    cells = ""
    for name, key in rows:
        side = "teacher" if key == "teacher" else "student"  # the baseline is the student
        cells += (
            f"<tr><td>{name}</td><td align='right'><b>{m[key + '_perplexity']:.2f}</b></td>"
            f"<td align='right'>{ms(m.get(side + '_latency_ms'))}</td>"
            f"<td align='right'>{human_count(m.get(side + '_parameters') or 0)}</td></tr>"
        )
    student, teacher = m["student_perplexity"], m["teacher_perplexity"]
    lines = [f"The student's perplexity is {student / teacher - 1:+.1%} against the teacher's, "
             f"with {m['parameter_ratio']:.0%} of its parameters"
             + (f", {m['speedup']:.1f}× as fast." if "speedup" in m else ".")]  # fmt: skip
    if m.get("baseline_perplexity") is not None:
        base = m["baseline_perplexity"]
        verdict = "helped" if student < base else "did not help"
        lines.append(f"The teacher {verdict}: perplexity <b>{student:.2f}</b> against "
                     f"{base:.2f} for the same student trained on the text alone.")  # fmt: skip
    notes_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return (
        "<table cellspacing='0' cellpadding='4'><tr><th align='left'></th>"
        "<th align='right'>Perplexity (lower is better)</th>"
        "<th align='right'>Latency (batch 1)</th><th align='right'>Parameters</th></tr>"
        f"{cells}</table>"
        + "".join(f"<p>{line}</p>" for line in lines)
        + (f"<ul>{notes_html}</ul>" if notes else "")
    )


class DistillationWizard(PassWizard):
    """Teacher → student → loss → data and budget → run → summary."""

    def __init__(
        self, source: LoadedModel, tasks: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(source, tasks, title="Distil into a smaller student", parent=parent)
        self.setObjectName("distillation-wizard")
        self.resize(920, 760)
        self.lm = is_language_model(source)  # judged by perplexity; no image augmentation
        self.teacher = TeacherPage(source, lm=self.lm)
        self.student = StudentPage(source)
        self.loss = LossPage(DistillConfig, lm=self.lm)
        self.budget = BudgetPage(DistillConfig, source, lm=self.lm)
        self.run = DistillRunPage(self._make_job, self._show)
        if self.lm:
            self.run.curves.what = "Next-token accuracy"
        self.summary = DistillSummaryPage()
        for page in (self.teacher, self.student, self.loss, self.budget, self.run, self.summary):
            self.addPage(page)

    def config(self) -> DistillConfig:
        """The settings of every page as one validated config (WorkbenchError if not)."""
        values = {"student": self.student.spec(), "init": self.student.init(),
                  "round_to": self.student.rounding(),
                  "drop_blocks": self.student.dropping()}  # fmt: skip
        values.update(self.loss.form.values())
        values.update(self.budget.form.values())
        return config_from_dict(DistillConfig, values, where="distill")

    def _make_job(self) -> Any:
        from workbench.core.compress import run_pass
        from workbench.core.compress.distillation.distill_pass import Distill

        config, source, listener = self.config(), self.source, self.run.listener
        control = self.run.control

        def job(ctx: RunContext) -> tuple[DistillConfig, Any]:
            ctx.listener, ctx.control = listener, control
            ctx.trust = True  # the user typed these settings into the wizard
            return config, run_pass(Distill, source, config, ctx)

        return job

    def _show(self, result: tuple[DistillConfig, Any]) -> None:
        config, outcome = result
        pruned = outcome.metrics.get("student_kind") == "pruned"
        student = (
            f"pruned {config.student.removeprefix('pruned:')}" if pruned else outcome.model.arch
        )
        self.outcome = WizardOutcome(
            model=outcome.model,
            name=f"{self.source.display_name} → {student} (distilled)",
            step={"pass": "distill", "config": config_to_dict(config)},
            metrics=dict(outcome.metrics),
            notes=list(outcome.notes),
        )
        self.summary.text.setText(summary_html(outcome.metrics, outcome.notes))
