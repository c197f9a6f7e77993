"""Any registered pass runs from the GUI with no UI code: the plugin's random-prune here."""

from __future__ import annotations

from PySide6.QtWidgets import QDoubleSpinBox, QWizard

from workbench.core.io import load
from workbench.ui.wizards.any_pass_wizard import AnyPassWizard
from workbench.ui.workers import TaskRunner


def _sparsity(module) -> float:
    from torch import nn

    layers = [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    zeros = sum(int((m.weight == 0).sum()) for m in layers)
    return zeros / sum(m.weight.numel() for m in layers)


def test_a_plugin_pass_runs_through_the_generic_wizard(qtbot) -> None:
    source = load("zoo:digits_cnn")
    wizard = AnyPassWizard(source, TaskRunner())
    qtbot.addWidget(wizard)
    wizard.show()
    picker = wizard.pick.picker
    assert "random-prune" in picker.names()
    picker.select("random-prune")
    amount = picker.form.findChild(QDoubleSpinBox, "field-amount")
    amount.setValue(0.7)
    assert wizard.pick.isComplete()
    outcome_seen: list = []
    wizard.outcome_ready.connect(outcome_seen.append)
    wizard.next()
    qtbot.waitUntil(lambda: wizard.run.done, timeout=30_000)
    assert wizard.run.isComplete(), wizard.run.message.text()
    wizard.next()
    assert "sparsity" in wizard.summary.text.text()
    wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: not wizard.tasks.busy, timeout=10_000)
    (outcome,) = outcome_seen
    assert outcome.step == {"pass": "random-prune", "config": outcome.step["config"]}
    assert outcome.step["config"]["amount"] == 0.7
    assert abs(_sparsity(outcome.model.module) - 0.7) < 0.01
    assert _sparsity(source.module) < 0.01  # the source variant's model is untouched


def test_the_compress_menu_adds_the_result_as_a_child_variant(qtbot, main_window) -> None:
    window = main_window
    window.open_source("zoo:digits_mlp")
    qtbot.waitUntil(lambda: window.current is not None, timeout=30_000)
    root = window.current
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Compress")
    apply_action = next(a for a in menu.actions() if a.text().startswith("&Apply"))
    apply_action.trigger()
    wizard = window.findChild(AnyPassWizard)
    assert wizard is not None
    wizard.pick.picker.select("random-prune")
    wizard.next()
    qtbot.waitUntil(lambda: wizard.run.done, timeout=30_000)
    wizard.next()
    wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: len(window.project.variants) == 2, timeout=30_000)
    child = next(v for v in window.project.variants.values() if v.parent == root.id)
    assert child.step["pass"] == "random-prune"
    assert child.metrics["sparsity"] > 0.4
    qtbot.waitUntil(lambda: window.current is not None and window.current.id == child.id)
    recipe = window.recipe_view.toPlainText()  # the lineage as a recipe, beside the tree
    assert "- pass: random-prune" in recipe and "amount: 0.5" in recipe
    assert "model: zoo:digits_mlp" in recipe
