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

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from workbench.core.context import Cancelled, RunContext

PROGRESS_INTERVAL_S = 1 / 30  # the GUI redraws progress at most ~30 times a second


def _no_progress(fraction: float | None, message: str) -> None:
    """Where a finished job's late reports go."""


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
            # The worker and its context refer to each other (progress is our bound
            # method), so only a full collection frees them, and the app's gc.freeze()
            # while a graph is shown kept each open's job (its graph with it) for good.
            # Let go of the job and the loop now; reference counting frees them.
            self._function = None
            self.context.progress = _no_progress
            self.done.emit()


class JobHandle(QObject):
    """The GUI-thread end of one job.

    It is created on the GUI thread, so the worker's signals reach its slots as queued
    calls; connecting them to a lambda would run the callback on the worker thread.
    """

    over = Signal()  # on the GUI thread, after the job's last callback has run

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
        self.over.emit()
        self._runner._forget(self)


class TaskRunner(QObject):
    """Owns the threads of running jobs so none outlives the window that started it."""

    def __init__(self, parent: QObject | None = None) -> None:
        # Without a parent the application owns it: a runner that Python frees while
        # its job handles still have queued deletes crashed in ~QObject (seen in tests
        # whose wizard owned a bare TaskRunner()). A runner lives as long as its owner.
        super().__init__(parent if parent is not None else QCoreApplication.instance())
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
            if job.thread.wait(timeout_ms):
                self._forget(job)  # don't leave it to the queued `ended` slot: we may be closing

    def _forget(self, job: JobHandle) -> None:
        if job not in self._jobs:
            return
        self._jobs.remove(job)
        # The worker and the thread have no Qt parent: Python owns them and frees them
        # with the handle, once the thread has really ended. Calling deleteLater on
        # them as well let Qt and Python both delete them (a crash in ~QObject).
        job.thread.wait()
        job.deleteLater()


class _EventWorker(QObject):
    """Runs ``function(ctx, emit)`` in the worker thread; ``emit`` only queues events."""

    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    done = Signal()

    def __init__(
        self, function: Callable[..., Any], context: RunContext, emit: Any, nice: int
    ) -> None:
        super().__init__()
        self._function = function
        self._context = context
        self._emit = emit
        self._nice = nice

    @Slot()
    def run(self) -> None:
        if self._nice:
            # Linux: a thread's nice value is its own, and the compute threads torch
            # starts from it inherit it; the GUI thread then wins the CPU when it needs it.
            import contextlib
            import os
            import threading

            with contextlib.suppress(AttributeError, OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self._nice)
        try:
            result = self._function(self._context, self._emit)
        except Cancelled:
            self.cancelled.emit()
        except Exception as exc:  # shown to the user; never kills the app
            self.failed.emit(exc)
        else:
            self.succeeded.emit(result)
        finally:
            self._function = None  # the run's model and data go with it, as above
            self.done.emit()


class EventStreamJob(QObject):
    """A job that streams events (a training run) from a QThread to the GUI thread.

    ``function(ctx, emit)`` runs in the thread and may call ``emit(event)`` as often as
    it likes: events are queued (a deque append, safe across threads) and a GUI-thread
    timer hands them over as one ``events(list)`` signal at most ``1000 / interval_ms``
    times a second, so a fast loop can never flood the event loop. All events emitted
    before the function returned arrive before ``succeeded``/``failed``/``cancelled``,
    then ``ended``. Stopping is cooperative (the context's cancel token, or whatever
    control the function watches); the thread is never terminated.
    """

    events = Signal(list)
    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    ended = Signal()

    def __init__(
        self,
        function: Callable[[RunContext, Callable[[Any], None]], Any],
        parent: QObject | None = None,
        *,
        context: RunContext | None = None,
        interval_ms: int = round(PROGRESS_INTERVAL_S * 1000),
        nice: int = 0,
    ) -> None:
        """``nice`` > 0 lowers the worker thread's CPU priority (Linux), for long
        compute-bound work that must not make the GUI stutter."""
        import collections

        from PySide6.QtCore import QTimer

        super().__init__(parent)
        self.context = context or RunContext()
        self._queue: collections.deque[Any] = collections.deque()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._drain)
        self._running = False
        self.thread = QThread()
        self._worker = _EventWorker(function, self.context, self._queue.append, nice)
        self._worker.moveToThread(self.thread)
        self.thread.started.connect(self._worker.run)
        self._worker.succeeded.connect(self._on_succeeded)
        self._worker.failed.connect(self._on_failed)
        self._worker.cancelled.connect(self._on_cancelled)
        self._worker.done.connect(self.thread.quit)
        self.thread.finished.connect(self._on_finished)

    def start(self) -> None:
        self._running = True
        self._timer.start()
        self.thread.start()

    def cancel(self) -> None:
        self.context.cancel.cancel()

    def is_running(self) -> bool:
        return self._running

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until the thread ends (after asking it to stop); True if it did.

        ``quit`` is called here because the queued ``done -> quit`` connection cannot
        reach this (blocked) thread; the thread's loop ends once the function returns.
        """
        self.thread.quit()
        return self.thread.wait(timeout_ms)

    @Slot()
    def _drain(self) -> None:
        batch = []
        while self._queue:
            batch.append(self._queue.popleft())
        if batch:
            self.events.emit(batch)

    @Slot(object)
    def _on_succeeded(self, result: Any) -> None:
        self._drain()
        self.succeeded.emit(result)

    @Slot(object)
    def _on_failed(self, error: Any) -> None:
        self._drain()
        self.failed.emit(error)

    @Slot()
    def _on_cancelled(self) -> None:
        self._drain()
        self.cancelled.emit()

    @Slot()
    def _on_finished(self) -> None:
        self._timer.stop()
        self._drain()
        self._running = False
        self.thread.wait()  # the worker and thread are Python's, freed with this job
        self.ended.emit()
