"""The pruning and distillation wizards on a language model: real tiny_lm, real passes."""

from __future__ import annotations

import pytest
from fixtures.tiny_lm import trained_tiny_lm
from PySide6.QtWidgets import QLabel, QWizard

from workbench.core.measure.runners import torch_threads
from workbench.ui.wizards.distillation_wizard import DistillationWizard
from workbench.ui.wizards.pruning_wizard import PruningWizard
from workbench.ui.workers import TaskRunner


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One intra-op thread: two spinning OpenMP threads are slower on a shared machine."""
    with torch_threads(1):
        yield


def _texts(page) -> str:
    """Every label, title and table cell a page shows, for wording checks."""
    parts = [page.title(), page.subTitle()]
    parts += [label.text() for label in page.findChildren(QLabel)]
    return "\n".join(parts)


def test_pruning_a_language_model_removes_heads_mlp_and_a_block_and_shows_perplexity(
    qtbot,
) -> None:
    source = trained_tiny_lm()
    wizard = PruningWizard(source, TaskRunner())
    qtbot.addWidget(wizard)
    wizard.show()
    method = wizard.method
    assert wizard.currentPage() is method and "perplexity" in _texts(method)
    method.form.set_value({"heads": 0.5, "mlp": 0.5, "depth": 1})
    assert method.form.editors["depth"].maximum() == 1  # 2 blocks: one must stay
    wizard.next()
    finetune = wizard.finetune
    assert wizard.currentPage() is finetune and finetune.data.currentData() == "stdlib-text"
    assert finetune.steps is None  # lm-prune prunes once: no iterative steps
    finetune.data.setCurrentIndex(finetune.data.findData(None))
    assert not finetune.isComplete() and "perplexity scan" in finetune.error.text()
    finetune.data.setCurrentIndex(finetune.data.findData("stdlib-text"))
    assert finetune.isComplete()
    wizard.next()
    run = wizard.run_page
    assert wizard.currentPage() is run
    qtbot.waitUntil(lambda: run.done, timeout=60_000)
    assert run.isComplete(), run.message.text()
    wizard.next()
    summary = wizard.summary
    table = summary.table
    rows = {table.item(r, 0).text(): r for r in range(table.rowCount())}
    assert "Parameters" in rows and "Accuracy" not in rows
    ppl = rows["Perplexity (lower is better)"]
    before, after = (float(table.item(ppl, c).text()) for c in (1, 2))
    assert 1 < before < after  # pruning without fine-tuning costs perplexity
    assert any(name.startswith("Latency, batch 1") for name in rows)
    assert summary.depth.rowCount() == 2 and summary.depth.isVisible()
    assert summary.depth.height() > 50  # given room in the splitter, not squeezed to 0
    marks = [summary.depth.item(r, 3).text() for r in range(2)]
    assert marks.count("removed") == 1
    for page in (method, finetune, summary):
        assert "top-1" not in _texts(page).lower()
    emitted: list = []
    wizard.outcome_ready.connect(emitted.append)
    wizard.button(QWizard.WizardButton.FinishButton).click()
    (outcome,) = emitted
    assert outcome.step["pass"] == "lm-prune" and outcome.step["config"]["depth"] == 1
    module = outcome.model.module
    assert len(module.blocks) == 1 and module.blocks[0].mlp[0].out_features < 256
    assert outcome.metrics["after"]["perplexity"] == pytest.approx(after, rel=1e-2)
    qtbot.waitUntil(lambda: not wizard.tasks.busy, timeout=30_000)


def test_distilling_a_language_model_into_a_narrower_one_reports_perplexity(qtbot) -> None:
    teacher = trained_tiny_lm()
    wizard = DistillationWizard(teacher, TaskRunner())
    qtbot.addWidget(wizard)
    wizard.show()
    assert "perplexity" in _texts(wizard.teacher)
    wizard.next()  # -> student: tiny_lm takes a width, so a narrower tiny_lm first
    student = wizard.student
    assert student.value() == "zoo" and student.arch.currentText() == "tiny_lm"
    assert student.spec() == "zoo:tiny_lm:width=32,layers=2,heads=4"  # counts, not x0.5
    wizard.next()  # -> loss, in words about text
    assert "next token" in _texts(wizard.loss)
    wizard.next()  # -> data and budget
    budget = wizard.budget
    augment = budget.form.editors["augment"]
    assert not augment.isEnabled() and "does not apply to text" in augment.toolTip()
    assert budget.augment_note.isVisible()
    budget.form.set_value({"epochs": 1, "train_samples": 256, "baseline": True})
    emitted: list = []
    wizard.outcome_ready.connect(emitted.append)
    wizard.next()  # -> run
    run = wizard.run
    qtbot.waitUntil(lambda: run.done, timeout=60_000)
    assert run.isComplete(), run.message.text()
    wizard.next()  # -> summary
    text = wizard.summary.text.text()
    assert "Perplexity (lower is better)" in text and "Student without teacher" in text
    for page in (wizard.teacher, wizard.student, wizard.loss, wizard.budget, wizard.summary):
        assert "top-1" not in _texts(page).lower() and "accuracy" not in _texts(page).lower()
    wizard.button(QWizard.WizardButton.FinishButton).click()
    (outcome,) = emitted
    metrics = outcome.metrics
    assert 1 < metrics["teacher_perplexity"] < metrics["student_perplexity"] < 1e4
    assert metrics["baseline_perplexity"] > 1 and metrics["parameter_ratio"] < 1
    assert outcome.model.module.blocks[0].mlp[0].in_features == 32  # width 64 x 0.5
    qtbot.waitUntil(lambda: not wizard.tasks.busy, timeout=30_000)
