"""The pruning wizard as a person walks it: real widgets, real scan, real pruning run."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard

from workbench.core.data.digits import load_digits
from workbench.core.errors import WorkbenchError
from workbench.core.io import load
from workbench.core.measure.runners import torch_threads
from workbench.core.train import Trainer, suggest_config
from workbench.ui.wizards.pruning_pages import AMOUNT
from workbench.ui.wizards.pruning_review import review_share
from workbench.ui.wizards.pruning_wizard import PruningWizard
from workbench.ui.workers import TaskRunner


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Train and prune on one intra-op thread here: on a shared 2-core machine two
    spinning OpenMP threads make these tiny models several times slower, not faster."""
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def trained_digits():
    source = load("zoo:digits_cnn")
    config = suggest_config("digits_cnn", "digits")
    config.epochs = 2
    result = Trainer(source.module, load_digits(), config).fit()
    return dataclasses.replace(source, module=result.model)


@pytest.fixture
def make_wizard(qtbot):
    """Wizards whose worker threads have all ended when the test is over."""
    made: list[PruningWizard] = []

    def make(source) -> PruningWizard:
        wizard = PruningWizard(source, TaskRunner())
        qtbot.addWidget(wizard)
        wizard.show()
        made.append(wizard)
        return wizard

    yield make
    for wizard in made:
        wizard.reject()
        qtbot.waitUntil(lambda w=wizard: not w.tasks.busy, timeout=30_000)


def test_wizard_walks_every_page_and_finish_emits_the_pruned_variant(
    qtbot, make_wizard, trained_digits
) -> None:
    wizard = make_wizard(trained_digits)
    assert wizard.method.value() == "l1"
    wizard.method.buttons["l2"].click()
    wizard.next()
    assert wizard.currentPage() is wizard.target and wizard.target.target.isEnabled()
    wizard.target.amount.setValue(40)
    wizard.next()
    layers = wizard.layers
    assert wizard.currentPage() is layers
    assert set(layers.leaves) == {"features.0.0", "features.1.0", "features.3.0", "head.1", "fc"}
    assert layers.ignored() == ["fc"]  # the classifier stays, unticked by default
    layers.set_checked("head.1", False)
    layers.start_scan()
    qtbot.waitUntil(lambda: layers.report is not None, timeout=30_000)
    assert set(layers.report.accuracy) == {"features.0.0", "features.1.0", "features.3.0"}
    assert set(layers.curves) == set(layers.report.accuracy)
    layers.max_drop.setValue(50.0)  # a loose budget: every scanned layer gets an amount
    layers.suggest_button.click()
    amounts = layers.amounts()
    assert set(amounts) == set(layers.report.accuracy) and max(amounts.values()) > 0
    layers.leaves["features.0.0"].setText(AMOUNT, "lots")  # typed by hand: refused at the run
    with pytest.raises(WorkbenchError, match="not a percentage"):
        wizard.pass_and_config()
    layers.leaves["features.0.0"].setText(AMOUNT, "25%")
    assert layers.amounts()["features.0.0"] == 0.25
    wizard.next()
    finetune = wizard.finetune
    finetune.enabled.setChecked(True)
    finetune.epochs.setValue(1)
    finetune.lr.setText("not a number")
    assert not finetune.isComplete()
    finetune.lr.setText("")
    finetune.data.setCurrentIndex(finetune.data.findData(None))
    assert not finetune.isComplete() and "needs data" in finetune.error.text()
    finetune.data.setCurrentIndex(finetune.data.findData("digits"))
    assert finetune.isComplete()
    wizard.next()
    review = wizard.review
    assert wizard.currentPage() is review
    qtbot.waitUntil(lambda: review.preview is not None, timeout=30_000)
    groups = {group.root: group for group in review.preview.groups}
    assert "head.1" not in groups and "fc" not in groups  # unticked and the classifier
    conv = groups["features.1.0"]
    assert ("features.1.1", "output channels") in conv.members  # its BatchNorm
    assert ("features.3.0", "input channels") in conv.members  # the next conv's inputs
    assert review.tree.topLevelItemCount() == len(groups) and "groups" in review.status.text()
    wizard.next()
    run = wizard.run_page
    assert wizard.currentPage() is run and run.plot.isVisible()
    qtbot.waitUntil(lambda: run.done, timeout=60_000)
    assert run.isComplete(), run.message.text()
    assert len(run.live.xs) > 0  # the fine-tuning loss was drawn live
    wizard.next()
    summary = wizard.summary
    rows = [summary.table.item(r, 0).text() for r in range(summary.table.rowCount())]
    assert "Parameters" in rows and "Accuracy" in rows
    assert "Latency, batch 32 (ORT CPU, default threads)" in rows  # runtime and threads named
    emitted = []
    wizard.outcome_ready.connect(emitted.append)
    wizard.button(QWizard.WizardButton.FinishButton).click()
    assert len(emitted) == 1
    outcome = emitted[0]
    step = outcome.step
    assert step["pass"] == "channel-prune" and step["config"]["method"] == "l2"
    assert step["config"]["ignore"] == ["head.1"] and step["config"]["keep_classifier"]
    assert step["config"]["finetune_epochs"] == 1
    module = outcome.model.module
    assert module.head[1].out_features == 128  # unticked: untouched
    assert module.features[1][0].out_channels == conv.channels - conv.removed < 64  # previewed
    assert outcome.metrics["after"]["parameters"] < outcome.metrics["before"]["parameters"]
    assert module(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    assert trained_digits.module.features[1][0].out_channels == 64  # the source is unchanged


def test_unstructured_choice_disables_the_target_and_says_so(make_wizard, trained_digits) -> None:
    wizard = make_wizard(trained_digits)
    wizard.method.buttons["magnitude"].click()
    explanation = wizard.method.findChildren(type(wizard.target.explain))
    assert any("no dense model faster" in label.text() for label in explanation)
    wizard.next()
    assert not wizard.target.target.isEnabled()
    wizard.target.amount.setValue(70)
    name, config = wizard.pass_and_config()
    assert name == "magnitude-prune" and config["amount"] == 0.7
    assert "target" not in config and config["keep_classifier"]
    wizard.next()
    wizard.next()
    assert wizard.currentPage() is wizard.finetune
    assert wizard.page(wizard.nextId()) is wizard.run_page  # no channels go: nothing to review


def test_leaving_the_review_page_cancels_its_preview(qtbot, make_wizard) -> None:
    wizard = make_wizard(load("zoo:resnet_shapes"))
    wizard.next()
    wizard.target.target.setCurrentIndex(wizard.target.target.findData("latency"))
    for _ in range(3):
        wizard.next()
    assert wizard.currentPage() is wizard.review and wizard.review.busy
    wizard.back()  # a latency target is searched with timed runs: seconds, not milliseconds
    qtbot.waitUntil(lambda: not wizard.review.busy, timeout=30_000)
    assert wizard.review.preview is None and "cancelled" in wizard.review.status.text()


def test_leaving_the_layers_page_cancels_a_running_scan(qtbot, make_wizard) -> None:
    wizard = make_wizard(load("zoo:digits_cnn"))
    wizard.next()
    wizard.next()
    wizard.layers.start_scan()
    assert wizard.layers.scanning
    wizard.back()
    qtbot.waitUntil(lambda: not wizard.layers.scanning, timeout=30_000)
    assert "cancelled" in wizard.layers.status.text().lower()
    assert wizard.layers.report is None
    assert wizard.layers.leaves["fc"].checkState(0) == Qt.CheckState.Unchecked


def test_target_page_is_generated_from_the_config_and_sets_channel_limits(make_wizard) -> None:
    wizard = make_wizard(load("zoo:digits_cnn"))
    wizard.next()
    target = wizard.target
    # The limits are the config's (0..0.95 as percent), not restated by the page.
    assert (target.amount.minimum(), target.amount.maximum()) == (0, 95)
    assert target.channel_form.isVisible()
    editors = target.channel_form.editors
    editors["round_to"].setValue(8)
    editors["max_layer_amount"].setValue(60)  # percent
    editors["taylor_batches"].setValue(2)
    name, config = wizard.pass_and_config()
    assert name == "channel-prune"
    assert (config["round_to"], config["max_layer_amount"], config["taylor_batches"]) == (8, 0.6, 2)
    wizard.back()
    wizard.method.buttons["magnitude"].click()
    wizard.next()
    assert not target.channel_form.isVisible()
    name, config = wizard.pass_and_config()
    assert name == "magnitude-prune" and "round_to" not in config


def test_the_review_says_why_its_share_differs_from_the_ratio_set() -> None:
    same = SimpleNamespace(removed=50, channels=100, ratio=0.5)
    assert review_share(same) == "50 of 100 ranked channels go (50%)."
    fewer = SimpleNamespace(removed=38, channels=100, ratio=0.5)
    text = review_share(fewer)
    assert "(38%)" in text and "ratio set is 50%" in text and "per-layer amounts" in text
