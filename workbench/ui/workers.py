"""Run core work off the GUI thread and bring its results back as Qt signals.

One pattern for background work (napari/superqt's FunctionWorker, reduced to what is
used here): a QObject living in its own QThread runs a plain core function; progress,
the result or the exception come back through queued signals, so callbacks run on the
GUI thread. A job started with ``start_job`` is called with a ``RunContext`` whose
``report`` becomes the ``progress`` signal and whose cancel token is set by
``JobHandle.cancel()``; cancelling is cooperative (the job stops at its next
``ctx.check()``), never QThread.terminate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from workbench.core.context import Cancelled, RunContext

PROGRESS_INTERVAL_S = 1 / 30  # the GUI redraws progress at most ~30 times a second


class FunctionWorker(QObject):
    """Runs ``function()`` (or ``function(ctx)``) once in a worker thread."""

    progressed = Signal(object, str)  # fraction (float or None), message
    succeeded = Signal(object)
    failed = Signal(object)  # the exception
    cancelled = Signal()
    done = Signal()

    def __init__(
        self, function: Callable[..., Any], context: RunContext, pass_context: bool
    ) -> None:
        super().__init__()
        self._function = function
        self._pass_context = pass_context
        self.context = context
        self.context.progress = self._report
        self._last_report = 0.0

    def _report(self, fraction: float | None, message: str) -> None:
        now = time.monotonic()
        finished = fraction is not None and fraction >= 1.0
        if finished or now - self._last_report >= PROGRESS_INTERVAL_S:
            self._last_report = now
            self.progressed.emit(fraction, message)

    @Slot()
    def run(self) -> None:
        try:
            result = self._function(self.context) if self._pass_context else self._function()
        except Cancelled:
            self.cancelled.emit()
        except Exception as exc:  # every failure is shown to the user, none kills the app
            self.failed.emit(exc)
        else:
            self.succeeded.emit(result)
        finally:
            self.done.emit()


class JobHandle(QObject):
    """The GUI-thread end of one job.

    It is created on the GUI thread, so the worker's signals reach its slots as queued
    calls; connecting them to a lambda would run the callback on the worker thread.
    """

    def __init__(
        self,
        runner: TaskRunner,
        function: Callable[..., Any],
        context: RunContext,
        pass_context: bool,
        on_success: Callable[[Any], None],
        on_failure: Callable[[BaseException], None],
        on_progress: Callable[[float | None, str], None] | None,
        on_cancelled: Callable[[], None] | None,
    ) -> None:
        super().__init__(runner)
        self._runner = runner
        self._on_success = on_success
        self._on_failure = on_failure
        self._on_progress = on_progress
        self._on_cancelled = on_cancelled
        self.thread = QThread()
        self.worker = FunctionWorker(function, context, pass_context)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.progressed.connect(self.progress)
        self.worker.succeeded.connect(self.success)
        self.worker.failed.connect(self.failure)
        self.worker.cancelled.connect(self.was_cancelled)
        self.worker.done.connect(self.thread.quit)
        self.thread.finished.connect(self.ended)

    def cancel(self) -> None:
        self.worker.context.cancel.cancel()

    @Slot(object, str)
    def progress(self, fraction: float | None, message: str) -> None:
        if self._on_progress is not None:
            self._on_progress(fraction, message)

    @Slot(object)
    def success(self, result: Any) -> None:
        self._on_success(result)

    @Slot(object)
    def failure(self, error: BaseException) -> None:
        self._on_failure(error)

    @Slot()
    def was_cancelled(self) -> None:
        if self._on_cancelled is not None:
            self._on_cancelled()

    @Slot()
    def ended(self) -> None:
        self._runner._forget(self)


class TaskRunner(QObject):
    """Owns the threads of running jobs so none outlives the window that started it."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: list[JobHandle] = []

    def start(
        self,
        function: Callable[[], Any],
        on_success: Callable[[Any], None],
        on_failure: Callable[[BaseException], None],
    ) -> JobHandle:
        """Run ``function()`` in a new thread (short work with nothing to report)."""
        return self._launch(function, False, RunContext(), on_success, on_failure, None, None)

    def start_job(
        self,
        job: Callable[[RunContext], Any],
        on_success: Callable[[Any], None],
        on_failure: Callable[[BaseException], None],
        *,
        on_progress: Callable[[float | None, str], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        context: RunContext | None = None,
    ) -> JobHandle:
        """Run ``job(ctx)`` in a new thread; its reports arrive at ``on_progress``."""
        return self._launch(
            job, True, context or RunContext(), on_success, on_failure, on_progress, on_cancelled
        )

    def _launch(self, function, pass_context, context, *callbacks) -> JobHandle:
        job = JobHandle(self, function, context, pass_context, *callbacks)
        self._jobs.append(job)
        job.thread.start()
        return job

    @property
    def busy(self) -> bool:
        return bool(self._jobs)

    def cancel_all(self) -> None:
        for job in self._jobs:
            job.cancel()

    def wait_all(self, timeout_ms: int = 30_000) -> None:
        """Ask every job to stop, then wait for the threads to end (never killed)."""
        self.cancel_all()
        for job in list(self._jobs):
            job.thread.quit()
            job.thread.wait(timeout_ms)

    def _forget(self, job: JobHandle) -> None:
        if job in self._jobs:
            self._jobs.remove(job)
        job.worker.deleteLater()
        job.thread.deleteLater()
        job.deleteLater()
