"""What every compression wizard shares: the source model, the run page, the outcome.

One base for all pass families (Orange's ``WidgetTest`` idea applied to the widgets
themselves): a ``PassWizard`` holds the variant's ``LoadedModel`` and the window's
``TaskRunner``; its pages are built from the pass's config (``config_form.ConfigPage``),
from explained choices (``ExplainedChoicePage``) and one ``RunPage`` that runs the pass
in a worker with progress and Cancel. Finish emits ``outcome_ready`` with a
``WizardOutcome``, which the main window turns into a child variant.

Pages start their jobs through the wizard (``start_job``, ``start``), which runs them
on the window's ``TaskRunner``. Closing the wizard, by any button, cancels every job it
started; one opened with ``delete_when_closed`` (the main window's) is then deleted
once the last of them has delivered its answer, so a closed wizard does not keep its
models and tables alive, and no late answer reaches a deleted page. A test that makes
its own runner waits for ``runner.busy`` to clear before the wizard goes.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel
from workbench.ui.app_words import error_line
from workbench.ui.workers import JobHandle, TaskRunner


@dataclass
class WizardOutcome:
    """What a finished wizard made: the new model and what to record on its variant."""

    model: LoadedModel
    name: str  # suggested variant name, e.g. "resnet_shapes (pruned 50%)"
    step: dict[str, Any]  # the recipe step: {"pass": name, "config": {...}}
    metrics: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)  # kind -> path on disk
    notes: list[str] = field(default_factory=list)


class PassWizard(QWizard):
    """A wizard over one source model; pages set ``outcome``, Finish emits it."""

    outcome_ready = Signal(object)  # WizardOutcome

    def __init__(
        self,
        source: LoadedModel,
        tasks: TaskRunner,
        *,
        title: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("pass-wizard")
        self.setWindowTitle(f"{title}: {source.display_name}")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)  # same look on every platform
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, False)
        self.resize(820, 620)
        self.source = source
        self.tasks = tasks
        self.outcome: WizardOutcome | None = None
        self._jobs: list[JobHandle] = []
        self._delete_when_closed = False

    def start_job(
        self,
        job: Callable[[RunContext], Any],
        on_success: Callable[[Any], None],
        on_failure: Callable[[BaseException], None],
        **callbacks: Any,
    ) -> JobHandle:
        """Run a page's ``job(ctx)`` on the window's runner (``TaskRunner.start_job``)."""
        return self._track(self.tasks.start_job(job, on_success, on_failure, **callbacks))

    def start(
        self,
        function: Callable[[], Any],
        on_success: Callable[[Any], None],
        on_failure: Callable[[BaseException], None],
    ) -> JobHandle:
        """Run a page's short ``function()`` (``TaskRunner.start``)."""
        return self._track(self.tasks.start(function, on_success, on_failure))

    def _track(self, handle: JobHandle) -> JobHandle:
        self._jobs.append(handle)
        # `over` is emitted on the GUI thread, so a plain callable is safe here.
        handle.over.connect(lambda: self._job_over(handle))
        return handle

    def _job_over(self, handle: JobHandle) -> None:
        if handle in self._jobs:
            self._jobs.remove(handle)
        if self._delete_when_closed and not self.isVisible() and not self._jobs:
            self.deleteLater()

    def delete_when_closed(self) -> None:
        """Delete this wizard once it is closed and its jobs have answered."""
        self._delete_when_closed = True

    def accept(self) -> None:  # Qt's name: Finish
        if self.outcome is not None:
            self.outcome_ready.emit(self.outcome)
        super().accept()

    def done(self, result: int) -> None:  # Qt's name: every way out (Finish, Cancel, Esc, x)
        for handle in self._jobs:
            handle.cancel()
        super().done(result)
        if self._delete_when_closed and not self._jobs:
            self.deleteLater()


class ExplainedChoicePage(QWizardPage):
    """Radio buttons, each with a plain-language explanation under it."""

    def __init__(
        self,
        title: str,
        subtitle: str,
        choices: Sequence[tuple[str, str, str]],  # (key, label, explanation)
        default: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        layout = QVBoxLayout(self)
        for key, label, explanation in choices:
            button = QRadioButton(label)
            button.setObjectName(f"choice-{key}")
            note = QLabel(explanation)
            note.setWordWrap(True)
            note.setContentsMargins(24, 0, 0, 8)  # indented under its button, text colour
            self.group.addButton(button)
            self.buttons[key] = button
            layout.addWidget(button)
            layout.addWidget(note)
        layout.addStretch(1)
        first = default if default in self.buttons else next(iter(self.buttons), None)
        if first is not None:
            self.buttons[first].setChecked(True)
        self.group.buttonToggled.connect(lambda *_: self.completeChanged.emit())

    def value(self) -> str:
        for key, button in self.buttons.items():
            if button.isChecked():
                return key
        return ""

    def set_value(self, key: str) -> None:
        self.buttons[key].setChecked(True)

    def isComplete(self) -> bool:  # Qt's name
        return bool(self.value())


class RunPage(QWizardPage):
    """Runs the pass when entered: progress, elapsed time, Cancel, and an inline error.

    ``make_job()`` is called on entering (so it reads the other pages' current values)
    and returns the function to run in a worker as ``job(ctx)``; ``on_result(result)``
    runs on the GUI thread when it succeeds. Going Back and Next again runs it anew.
    """

    finished = Signal(bool)  # True on success

    def __init__(
        self,
        title: str,
        make_job: Callable[[], Callable[[RunContext], Any]],
        on_result: Callable[[Any], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setTitle(title)
        self.setObjectName("run-page")
        self._make_job = make_job
        self._on_result = on_result
        self._job: JobHandle | None = None
        self._started = 0.0
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = False
        self.message = QLabel("")
        self.message.setObjectName("run-message")
        self.message.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setObjectName("run-progress")
        self.cancel_button = QPushButton("Cancel run")
        self.cancel_button.setObjectName("run-cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.details = QPlainTextEdit()
        self.details.setObjectName("run-details")
        self.details.setReadOnly(True)
        self.details.hide()
        self.controls = QHBoxLayout()  # the progress bar and the run's buttons
        self.controls.addWidget(self.bar, 1)
        self.controls.addWidget(self.cancel_button)
        self.body = QVBoxLayout(self)
        self.body.addLayout(self.controls)
        self.body.addWidget(self.message)
        self.body.addWidget(self.details)
        self.body.addStretch(1)

    def initializePage(self) -> None:  # Qt's name: entered with Next
        self.start()

    def cleanupPage(self) -> None:  # Qt's name: left with Back
        self.cancel()

    def start(self) -> None:
        self.cancel()
        self.done, self.result, self.error = False, None, None
        self.details.hide()
        self.bar.setRange(0, 0)
        self.cancel_button.setEnabled(True)
        self.message.setText("Starting…")
        self._started = time.monotonic()
        try:
            job = self._make_job()
        except WorkbenchError as exc:  # settings the pages could not catch
            self._failed(exc)
            return
        self._job = self.wizard().start_job(  # type: ignore[attr-defined]
            job,
            self._succeeded,
            self._failed,
            on_progress=self._progress,
            on_cancelled=self._cancelled,
        )
        self.completeChanged.emit()

    def cancel(self) -> None:
        if self._job is not None and not self.done:
            self._job.cancel()

    @property
    def running(self) -> bool:
        return self._job is not None and not self.done

    def isComplete(self) -> bool:  # Qt's name
        return self.done and self.error is None

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self._started:.1f} s"

    def _progress(self, fraction: float | None, message: str) -> None:
        if fraction is None:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(round(1000 * min(max(fraction, 0.0), 1.0)))
        self.message.setText(f"{message}  ({self._elapsed()})")

    def _end(self, ok: bool, text: str) -> None:
        self._job = None
        self.done = True
        self.cancel_button.setEnabled(False)
        self.bar.setRange(0, 1000)
        self.bar.setValue(1000 if ok else 0)
        self.message.setText(text)
        self.completeChanged.emit()
        self.finished.emit(ok)

    def _succeeded(self, result: Any) -> None:
        self.result = result
        try:
            self._on_result(result)
        except Exception as exc:  # a result the page cannot show is an error, not a crash
            self._failed(exc)
            return
        self._end(True, f"Done in {self._elapsed()}.")

    def _failed(self, error: BaseException) -> None:
        self.error = error
        text = error_line(error)
        if isinstance(error, WorkbenchError):
            details = error.details or ""
        else:
            details = "".join(traceback.format_exception(error))
        if details:
            self.details.setPlainText(details)
            self.details.show()
        self._end(False, f"Failed: {text}\nGo Back to change the settings, or Cancel.")

    def _cancelled(self) -> None:
        self.error = WorkbenchError("cancelled")
        self._end(False, "Cancelled; nothing was made. Go Back to run it again.")
