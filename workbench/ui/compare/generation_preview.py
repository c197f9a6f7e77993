"""Compare's generation preview: one prompt, each ticked language model's greedy
continuation side by side with its tokens/s.

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
from workbench.core.project import Variant
from workbench.ui.workers import JobHandle, TaskRunner

START_TEXT, CANCEL_TEXT = "Generate", "Cancel"
DEFAULT_PROMPT = "Return the number of"


class GenerationPreview(QWidget):
    """Prompt, max new tokens and Generate; below, one column per ticked variant."""

    generated = Signal(dict)  # variant id -> Continuation
    failed = Signal(object)

    def __init__(self, tasks: TaskRunner, ticked: Callable[[], list[Variant]], parent=None):
        super().__init__(parent)
        self.setObjectName("compare-generation")
        self.tasks, self.ticked = tasks, ticked
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
        self.status = QLabel("Tick language models on the left, type a prompt, Generate.")
        self.status.setObjectName("generation-status")
        self.status.setWordWrap(True)
        controls = QHBoxLayout()
        controls.addWidget(self.max_new)
        controls.addWidget(self.button)
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

        def fail(error: BaseException) -> None:
            self._finish("")
            self.failed.emit(error)

        def progress(fraction: float | None, message: str) -> None:
            self.status.setText((f"{fraction:.0%} " if fraction is not None else "") + message)

        self.button.setText(CANCEL_TEXT)
        self.status.setText(f"Generating with {len(variants)} variants…")
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
