"""What every compression wizard shares: the source model, the run page, the outcome.

One base for all pass families (Orange's ``WidgetTest`` idea applied to the widgets
themselves): a ``PassWizard`` holds the variant's ``LoadedModel`` and the window's
``TaskRunner``; its pages are built from the pass's config (``config_form.ConfigPage``),
from explained choices (``ExplainedChoicePage``) and one ``RunPage`` that runs the pass
in a worker with progress and Cancel. Finish emits ``outcome_ready`` with a
``WizardOutcome``, which the main window turns into a child variant.

The wizard runs its jobs on the window's ``TaskRunner``, which outlives it; a test that
makes its own runner waits for ``runner.busy`` to clear before the wizard goes.
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

    def accept(self) -> None:  # Qt's name: Finish
        if self.outcome is not None:
            self.outcome_ready.emit(self.outcome)
        super().accept()

    def reject(self) -> None:  # Qt's name: Cancel or Esc; a running job is asked to stop
        for page_id in self.pageIds():
            page = self.page(page_id)
            if isinstance(page, RunPage):
                page.cancel()
        super().reject()


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
        wizard = self.wizard()
        tasks: TaskRunner = wizard.tasks  # type: ignore[attr-defined]
        self._job = tasks.start_job(
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
        if isinstance(error, WorkbenchError):
            text, details = error.message, error.details or ""
        else:
            text = f"{type(error).__name__}: {error}"
            details = "".join(traceback.format_exception(error))
        if details:
            self.details.setPlainText(details)
            self.details.show()
        self._end(False, f"Failed: {text}\nGo Back to change the settings, or Cancel.")

    def _cancelled(self) -> None:
        self.error = WorkbenchError("cancelled")
        self._end(False, "Cancelled; nothing was made. Go Back to run it again.")
