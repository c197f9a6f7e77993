"""The shared wizard base: explained choices, a run page in a worker, the outcome on Finish."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QWizard

from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io import load
from workbench.ui.wizards.base import ExplainedChoicePage, PassWizard, RunPage, WizardOutcome
from workbench.ui.workers import TaskRunner

CHOICES = [
    ("fast", "Fast", "Quick and rough."),
    ("slow", "Slow", "Careful and thorough."),
]


def _wizard(qtbot, job, results: list) -> tuple[PassWizard, ExplainedChoicePage, RunPage]:
    source = load("zoo:digits_mlp")
    wizard = PassWizard(source, TaskRunner(), title="Test")
    qtbot.addWidget(wizard)
    choice = ExplainedChoicePage("Method", "Pick one.", CHOICES, default="slow")
    run = RunPage("Run", lambda: job, results.append)
    wizard.addPage(choice)
    wizard.addPage(run)
    wizard.show()
    return wizard, choice, run


def test_choice_page_has_its_default_and_changes(qtbot) -> None:
    _w, choice, _run = _wizard(qtbot, lambda ctx: 1, [])
    assert choice.value() == "slow"
    choice.buttons["fast"].click()
    assert choice.value() == "fast"
    assert choice.isComplete()


def test_run_page_runs_the_job_in_a_worker_and_finish_emits_the_outcome(qtbot) -> None:
    results: list = []
    threads: list = []

    def job(ctx: RunContext) -> WizardOutcome:
        import threading

        threads.append(threading.current_thread())
        ctx.report(0.5, "half way")
        return WizardOutcome(model=load("zoo:digits_mlp"), name="made", step={"pass": "x"})

    wizard, _choice, run = _wizard(qtbot, job, results)
    emitted: list = []
    wizard.outcome_ready.connect(emitted.append)
    wizard.next()
    qtbot.waitUntil(lambda: run.done, timeout=10_000)
    assert run.isComplete() and results and results[0].name == "made"
    import threading

    assert threads and threads[0] is not threading.main_thread()
    wizard.outcome = results[0]
    wizard.button(QWizard.WizardButton.FinishButton).click()
    assert [o.name for o in emitted] == ["made"]
    qtbot.waitUntil(lambda: not wizard.tasks.busy, timeout=10_000)


def test_run_page_shows_a_failure_inline_and_blocks_finish(qtbot) -> None:
    def job(ctx: RunContext) -> None:
        raise WorkbenchError("the model has no layers to prune")

    wizard, _choice, run = _wizard(qtbot, job, [])
    wizard.next()
    qtbot.waitUntil(lambda: run.done, timeout=10_000)
    assert not run.isComplete()
    assert "no layers to prune" in run.message.text()
    qtbot.waitUntil(lambda: not wizard.tasks.busy, timeout=10_000)


def test_cancel_stops_the_job_cooperatively(qtbot) -> None:
    started: list = []

    def job(ctx: RunContext) -> None:
        started.append(True)
        for _ in range(500):
            ctx.check()
            time.sleep(0.01)

    wizard, _choice, run = _wizard(qtbot, job, [])
    wizard.next()
    qtbot.waitUntil(lambda: bool(started), timeout=10_000)
    run.cancel_button.click()
    qtbot.waitUntil(lambda: run.done, timeout=10_000)
    assert not run.isComplete()
    assert "Cancelled" in run.message.text()
    qtbot.waitUntil(lambda: not wizard.tasks.busy, timeout=10_000)
