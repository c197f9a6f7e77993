"""The distillation wizard end to end: real teacher, real training in a worker, real widgets."""

from __future__ import annotations

import pytest
from fixtures.trained import trained_digits_mlp
from PySide6.QtWidgets import QWizard

from workbench.core.measure.runners import torch_threads
from workbench.ui.wizards.distillation_wizard import DistillationWizard
from workbench.ui.workers import TaskRunner


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One intra-op thread: on a shared 2-core machine two spinning OpenMP threads make
    these tiny models several times slower, not faster."""
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def teacher():
    return trained_digits_mlp()


def _wizard(qtbot, teacher) -> DistillationWizard:
    wizard = DistillationWizard(teacher, TaskRunner())
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def test_the_wizard_distils_and_finishes_with_a_student_variant(qtbot, teacher) -> None:
    wizard = _wizard(qtbot, teacher)
    wizard.next()  # teacher -> student
    student = wizard.student
    assert student.value() == "pruned"  # digits_mlp takes no width: a pruned copy first
    student.buttons["zoo"].click()
    student.options.setText("hidden=32")
    assert student.spec() == "zoo:digits_mlp:hidden=32" and not student.width.isEnabled()
    qtbot.waitUntil(lambda: student.figures_for == "zoo:digits_mlp:hidden=32", timeout=30_000)
    assert "Parameters" in student.figures.text() and "ms" in student.figures.text()
    wizard.next()  # -> loss
    wizard.loss.form.set_value({"alpha": 0.25, "temperature": 3.0})
    wizard.next()  # -> data and budget
    assert wizard.budget.form.values()["baseline"] is True  # on by default in the wizard
    wizard.budget.form.set_value({"epochs": 2, "train_samples": 400})
    emitted: list = []
    wizard.outcome_ready.connect(emitted.append)
    wizard.next()  # -> run
    run = wizard.run
    qtbot.waitUntil(lambda: run.done, timeout=60_000)
    assert run.isComplete(), run.message.text()
    curves = wizard.run.curves
    assert len(curves.parts["hard"]) == curves.steps.size > 0  # live curves were fed
    assert len(curves.baseline["acc"]) == 2 and curves.teacher_line.isVisible()
    assert run.teacher_warning.isHidden()  # a trained teacher: no banner
    wizard.next()  # -> summary
    text = wizard.summary.text.text()
    for phrase in ("Teacher", "Student (distilled)", "Student without teacher", "points"):
        assert phrase in text
    wizard.button(QWizard.WizardButton.FinishButton).click()
    assert len(emitted) == 1
    outcome = emitted[0]
    assert outcome.step["pass"] == "distill"
    assert outcome.step["config"]["alpha"] == 0.25 and outcome.step["config"]["baseline"]
    assert outcome.model.module is not teacher.module
    assert "baseline_accuracy" in outcome.metrics and outcome.metrics["parameter_ratio"] < 0.25
    qtbot.waitUntil(lambda: not wizard.tasks.busy, timeout=30_000)


def test_cache_on_with_augmentation_is_stopped_at_the_budget_page(qtbot, teacher) -> None:
    wizard = _wizard(qtbot, teacher)
    wizard.next()
    wizard.next()
    wizard.loss.form.set_value({"cache_teacher": "on"})
    wizard.next()
    wizard.budget.form.set_value({"augment": True})
    wizard.next()  # refused: stays on the budget page and says why
    assert wizard.currentPage() is wizard.budget
    assert "augmentation" in wizard.budget.error.text()
    qtbot.waitUntil(lambda: not wizard.tasks.busy, timeout=30_000)


def test_cancel_stops_the_run_and_makes_nothing(qtbot, teacher) -> None:
    wizard = _wizard(qtbot, teacher)
    for _ in range(3):
        wizard.next()
    wizard.budget.form.set_value({"epochs": 200, "measure": False})
    wizard.next()
    qtbot.waitUntil(lambda: wizard.run.curves.steps.size > 0, timeout=30_000)
    wizard.run.cancel_button.click()
    qtbot.waitUntil(lambda: wizard.run.done, timeout=30_000)
    assert not wizard.run.isComplete() and "Cancelled" in wizard.run.message.text()
    assert wizard.outcome is None
    qtbot.waitUntil(lambda: not wizard.tasks.busy, timeout=30_000)


def test_pause_holds_the_run_and_resume_goes_on(qtbot, teacher) -> None:
    wizard = _wizard(qtbot, teacher)
    for _ in range(3):
        wizard.next()
    wizard.budget.form.set_value({"epochs": 200, "measure": False})
    wizard.next()
    run = wizard.run
    qtbot.waitUntil(lambda: run.curves.steps.size > 0, timeout=30_000)
    run.pause_button.click()
    assert run.pause_button.text() == "Resume" and run.control.paused
    qtbot.wait(400)  # a step under way ends; then nothing moves
    held = run.curves.steps.size
    qtbot.wait(600)
    assert run.curves.steps.size == held and not run.done
    run.pause_button.click()
    qtbot.waitUntil(lambda: run.curves.steps.size > held, timeout=30_000)
    run.pause_button.click()  # paused again, then cancelled: the cancel still ends it
    run.cancel_button.click()
    qtbot.waitUntil(lambda: run.done, timeout=30_000)
    assert "Cancelled" in run.message.text() and not run.pause_button.isEnabled()
    qtbot.waitUntil(lambda: not wizard.tasks.busy, timeout=30_000)


def test_a_teacher_near_chance_gets_a_banner_on_the_run_page(qtbot) -> None:
    """zoo:digits_mlp as built is untrained: about 10% on 10 digits, chance."""
    from workbench.core.io import load

    wizard = _wizard(qtbot, load("zoo:digits_mlp"))
    for _ in range(3):
        wizard.next()
    wizard.budget.form.set_value(
        {"epochs": 1, "train_samples": 200, "baseline": False, "measure": False}
    )
    wizard.next()  # -> run
    run = wizard.run
    qtbot.waitUntil(lambda: run.done, timeout=60_000)
    assert run.isComplete(), run.message.text()
    assert run.teacher_warning.isVisible()
    assert "near chance (10.0% for 10 classes)" in run.teacher_warning.text()
    wizard.next()  # -> summary: the warning stays with the student's notes
    assert "near chance" in wizard.summary.text.text()
    qtbot.waitUntil(lambda: not wizard.tasks.busy, timeout=30_000)


def test_the_curves_name_the_teacher_and_baseline_and_leave_out_the_hidden_rate(
    qtbot, teacher
) -> None:
    curves = _wizard(qtbot, teacher).run.curves
    legend = curves.acc_plot.getPlotItem().legend
    assert [label.text for _, label in legend.items] == ["baseline (no teacher)", "teacher"]
    assert "validation" in curves.key.text()
    assert "learning rate" not in curves.key.text()  # the rate plot is hidden here


def test_a_pruned_student_rounds_its_channels_from_the_student_page(qtbot) -> None:
    from workbench.core.io import load

    wizard = _wizard(qtbot, load("zoo:digits_cnn"))
    wizard.next()  # teacher -> student
    student = wizard.student
    student.buttons["pruned"].click()
    student.ratio.setValue(0.85)
    student.round_to.setValue(8)
    qtbot.waitUntil(lambda: "multiples of 8" in student.figures.text(), timeout=30_000)
    assert wizard.config().round_to == 8 and wizard.config().student == "pruned:0.85"
    student.buttons["zoo"].click()
    assert wizard.config().round_to == 1  # only a pruned copy has counts to round


def test_a_pruned_student_drops_blocks_from_the_student_page(qtbot) -> None:
    """The preview builds the shallower student (blocks ranked on the teacher's own
    data, in the worker) and the config carries the count; a zoo student drops none."""
    from workbench.core.io import load

    teacher = load("zoo:resnet_shapes:width=0.5")
    teacher.dataset = "shapes"
    wizard = _wizard(qtbot, teacher)
    wizard.next()  # teacher -> student
    student = wizard.student
    student.buttons["pruned"].click()
    student.ratio.setValue(0.875)  # as a search picks it: four decimals, shown short
    assert student.ratio.text() == "0.875"
    student.drop.setValue(2)
    qtbot.waitUntil(lambda: "2 block(s) dropped" in student.figures.text(), timeout=60_000)
    assert wizard.config().drop_blocks == 2 and wizard.config().student == "pruned:0.875"
    student.buttons["zoo"].click()
    assert wizard.config().drop_blocks == 0
