"""Compare's generation preview: one prompt, each ticked language model's greedy
continuation side by side with its tokens/s; and "Time tokens/s", which measures each
ticked variant's prefill and decode speed on ONNX Runtime at batch 1 and 8 and keeps the
figures on the variant (the table's "decode tokens/s" rows, the scatter's x axis).

Generation runs in the TaskRunner (never on the GUI thread), one variant after another
so their tokens/s are not taken while competing for the cores; Cancel stops between
tokens, and an error (a variant with no tokenizer, a model that is not an LM) goes to
``failed`` (the window shows it in a dialog).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from workbench.core.context import RunContext
from workbench.core.lm.continuation import Continuation, continue_text
from workbench.core.lm.measure import SPEED_BATCHES, measure_generation
from workbench.core.measure.generation import GenerationReport
from workbench.core.measure.metrics import Metrics
from workbench.core.project import Project, Variant
from workbench.ui.compare.measure_all import store_on
from workbench.ui.workers import JobHandle, TaskRunner

START_TEXT, CANCEL_TEXT, TIME_TEXT = "Generate", "Cancel", "Time tokens/s"
DEFAULT_PROMPT = "Return the number of"


class GenerationPreview(QWidget):
    """Prompt, max new tokens and Generate; below, one column per ticked variant."""

    generated = Signal(dict)  # variant id -> Continuation
    measured = Signal(list)  # the variants whose tokens/s were stored
    failed = Signal(object)

    def __init__(
        self,
        tasks: TaskRunner,
        ticked: Callable[[], list[Variant]],
        parent=None,
        project: Callable[[], Project | None] = lambda: None,
    ):
        super().__init__(parent)
        self.setObjectName("compare-generation")
        self.tasks, self.ticked, self.project = tasks, ticked, project
        self.job: JobHandle | None = None
        self.results: dict[str, Continuation] = {}
        self.prompt = QPlainTextEdit(DEFAULT_PROMPT)
        self.prompt.setObjectName("generation-prompt")
        self.prompt.setPlaceholderText("Type the start of a text for each model to continue")
        self.prompt.setFixedHeight(64)
        self.max_new = QSpinBox()
        self.max_new.setRange(1, 512)
        self.max_new.setValue(32)
        self.max_new.setPrefix("up to ")
        self.max_new.setSuffix(" new tokens")
        self.button = QPushButton(START_TEXT)
        self.button.setObjectName("generation-button")
        self.button.setToolTip(
            "Continue the prompt with each ticked variant, greedily (the likeliest token "
            "each time), one variant after another"
        )
        self.button.clicked.connect(self.toggle)
        self.time_button = QPushButton(TIME_TEXT)
        self.time_button.setObjectName("generation-time-button")
        self.time_button.setToolTip(
            "Time each ticked variant's prefill and greedy decode on ONNX Runtime (CPU) at "
            f"batch {' and '.join(map(str, SPEED_BATCHES))}, one after another, and keep "
            "the figures: they appear in the table and place the variants on the scatter"
        )
        self.time_button.clicked.connect(self.toggle_timing)
        self.status = QLabel("Tick language models on the left, type a prompt, Generate.")
        self.status.setObjectName("generation-status")
        self.status.setWordWrap(True)
        controls = QHBoxLayout()
        controls.addWidget(self.max_new)
        controls.addWidget(self.button)
        controls.addWidget(self.time_button)
        controls.addWidget(self.status, 1)
        self.columns = QHBoxLayout()
        holder = QWidget()
        holder.setLayout(self.columns)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(holder)
        layout = QVBoxLayout(self)
        layout.addWidget(self.prompt)
        layout.addLayout(controls)
        layout.addWidget(scroll, 1)

    @property
    def running(self) -> bool:
        return self.job is not None

    def toggle(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.status.setText("Cancelling…")
        else:
            self.start()

    def toggle_timing(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.status.setText("Cancelling…")
        else:
            self.start_timing()

    def start_timing(self) -> JobHandle | None:
        """Measure the ticked variants' tokens/s on ONNX Runtime and store the figures."""
        variants = [v for v in self.ticked() if v.loaded is not None]
        if not variants:
            self.status.setText("Tick the variants to time (their models must be open).")
            return None

        def job(ctx: RunContext) -> dict[str, GenerationReport]:
            out = {}
            for index, variant in enumerate(variants):
                step = _scaled(ctx, index, len(variants), variant.name)
                out[variant.id] = measure_generation(
                    variant.loaded, dataset=variant.dataset, runtime="ort", ctx=step
                )
            return out

        def done(reports: dict[str, GenerationReport]) -> None:
            for variant in variants:
                report = reports[variant.id]
                store_on(self.project(), variant, Metrics(generation={report.key: report}))
            speeds = ", ".join(
                f"{v.name} {reports[v.id].points[0].tokens_per_s:,.0f}" for v in variants
            )
            self._finish(f"Decode tokens/s at batch 1 on ONNX Runtime: {speeds}.")
            self.measured.emit(variants)

        return self._start(job, done, self.time_button, f"Timing {len(variants)} variants…")

    def start(self) -> JobHandle | None:
        """Generate with every ticked variant whose model is open."""
        variants = [v for v in self.ticked() if v.loaded is not None]
        if not variants:
            self.status.setText("Tick the variants to compare (their models must be open).")
            return None
        prompt, max_new = self.prompt.toPlainText(), self.max_new.value()
        names = {v.id: v.name for v in variants}

        def job(ctx: RunContext) -> dict[str, Continuation]:
            out = {}
            for index, variant in enumerate(variants):
                ctx.report(index / len(variants), f"{variant.name}: preparing")
                step = _scaled(ctx, index, len(variants), variant.name)
                out[variant.id] = continue_text(
                    variant.loaded, prompt, max_new, dataset=variant.dataset, ctx=step
                )
            return out

        def done(results: dict[str, Continuation]) -> None:
            self._finish(f"Greedy continuations of {len(results)} variants.")
            self.show_results(names, results)
            self.generated.emit(results)

        return self._start(job, done, self.button, f"Generating with {len(variants)} variants…")

    def _start(self, job, done, button: QPushButton, message: str) -> JobHandle:
        """Run ``job`` in the task runner; ``button`` turns into Cancel, the other waits."""

        def fail(error: BaseException) -> None:
            self._finish("")
            self.failed.emit(error)

        def progress(fraction: float | None, message: str) -> None:
            self.status.setText((f"{fraction:.0%} " if fraction is not None else "") + message)

        button.setText(CANCEL_TEXT)
        (self.time_button if button is self.button else self.button).setEnabled(False)
        self.status.setText(message)
        self.job = self.tasks.start_job(
            job,
            done,
            fail,
            on_progress=progress,
            on_cancelled=lambda: self._finish("Cancelled."),
        )
        return self.job

    def show_results(self, names: dict[str, str], results: dict[str, Continuation]) -> None:
        """One column per variant: its name, the continuation after the prompt, tokens/s."""
        self.results = dict(results)
        while self.columns.count():
            widget = self.columns.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        prompt = self.prompt.toPlainText()
        # In the ticked order: a dict through a Qt signal comes back sorted by key (id).
        for variant_id in (i for i in names if i in results):
            self.columns.addWidget(_column(names[variant_id], prompt, results[variant_id]), 1)

    def _finish(self, text: str) -> None:
        self.job = None
        self.button.setText(START_TEXT)
        self.time_button.setText(TIME_TEXT)
        for button in (self.button, self.time_button):
            button.setEnabled(True)
        self.status.setText(text)


def _column(name: str, prompt: str, result: Continuation) -> QWidget:
    column = QFrame()
    column.setObjectName("generation-column")
    column.setFrameShape(QFrame.Shape.StyledPanel)
    title = QLabel(f"<b>{_escape(name)}</b>")
    text = QTextBrowser()
    text.setObjectName("generation-text")
    ending = " <i>[end of text]</i>" if result.ended else ""
    text.setHtml(
        f"<span style='color:#8a94a3'>{_escape(prompt)}</span>"
        f"<b>{_escape(result.text)}</b>{ending}".replace("\n", "<br>")
    )
    speed = QLabel(
        f"{result.tokens_per_s:,.0f} tokens/s · {len(result.tokens)} tokens · "
        f"{result.runtime} on {result.where}"
    )
    speed.setObjectName("generation-speed")
    speed.setToolTip(
        "Batch 1, greedy, no KV cache: each new token recomputes the whole prefix. "
        "One run, so a rough figure: models share the machine with everything else."
    )
    layout = QVBoxLayout(column)
    layout.addWidget(title)
    layout.addWidget(text, 1)
    layout.addWidget(speed)
    return column


def _escape(text: str) -> str:
    import html

    return html.escape(text)


def _scaled(ctx: RunContext, index: int, count: int, name: str) -> RunContext:
    """``ctx`` whose reports fill this variant's share of the bar, named after it."""

    def report(fraction: float | None, message: str) -> None:
        share = None if fraction is None else (index + fraction) / count
        ctx.report(share, f"{name}: {message}")

    return RunContext(device=ctx.device, progress=report, cancel=ctx.cancel)
