"""The worker bridge: results, errors, progress and cancel reach the GUI thread."""

from __future__ import annotations

import threading

from PySide6.QtCore import QThread

from workbench.core.context import RunContext
from workbench.ui.workers import TaskRunner


def test_result_arrives_on_the_gui_thread(qtbot) -> None:
    runner = TaskRunner()
    seen: dict = {}
    gui_thread = QThread.currentThread()

    def work() -> str:
        seen["worker_thread"] = threading.current_thread().name
        return "ok"

    def done(result: str) -> None:
        seen["result"] = result
        seen["on_gui"] = QThread.currentThread() is gui_thread

    runner.start(work, done, lambda e: seen.setdefault("error", e))
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)
    assert seen["result"] == "ok" and seen["on_gui"]
    assert seen["worker_thread"] != threading.main_thread().name


def test_error_is_delivered_not_raised(qtbot) -> None:
    runner = TaskRunner()
    errors: list[BaseException] = []
    runner.start(lambda: 1 / 0, lambda r: None, errors.append)
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)
    assert len(errors) == 1 and isinstance(errors[0], ZeroDivisionError)


def test_progress_and_cooperative_cancel(qtbot) -> None:
    runner = TaskRunner()
    started = threading.Event()
    progress: list[tuple] = []
    outcome: list[str] = []

    def job(ctx: RunContext) -> str:
        ctx.report(0.0, "starting")
        started.set()
        for step in range(10_000):
            ctx.check()
            threading.Event().wait(0.001)
            if step == 0:
                ctx.report(1.0, "first step done")
        return "finished"

    handle = runner.start_job(
        job,
        lambda r: outcome.append(r),
        lambda e: outcome.append(repr(e)),
        on_progress=lambda f, m: progress.append((f, m)),
        on_cancelled=lambda: outcome.append("cancelled"),
    )
    assert started.wait(10)
    handle.cancel()
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)
    assert outcome == ["cancelled"]
    assert progress[0] == (0.0, "starting") and (1.0, "first step done") in progress
