"""`workbench prune` as a user runs it, and the same settings through the wizard."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from fixtures.cli import run_workbench

from workbench.core.io import load


def workbench(*args: str) -> subprocess.CompletedProcess[str]:
    # torch on one thread: faster for these tiny models when the shared 2-core machine is
    # busy (ONNX Runtime keeps its own thread pool)
    return run_workbench(*args, env={"OMP_NUM_THREADS": "1"})


SETTINGS = ("--method", "l1", "--amount", "0.5", "--finetune-epochs", "1", "--data", "digits")
QUICK = ("--seconds", "0.1")  # short latency timings: the test reads them, not their values


@pytest.fixture(scope="module")
def pruned_folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("prune") / "pruned"
    result = workbench("prune", "zoo:digits_cnn", *SETTINGS, *QUICK, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "parameters: 90.09 k -> 23.03 k" in result.stdout
    # each latency names its runtime and threads; the speed-up is the rounds' median
    assert "(ORT CPU, default threads): " in result.stdout
    assert "latency, batch 32: " in result.stdout and "(median of 5 rounds, " in result.stdout
    assert f"reopen: workbench inspect {out / 'model.pt'} --arch digits_cnn" in result.stdout
    assert "epoch 1/1" in result.stderr  # the training engine's own progress lines
    return out


def test_prune_writes_a_variant_that_reopens_and_exports(pruned_folder: Path) -> None:
    variant = json.loads((pruned_folder / "variant.json").read_text())
    assert variant["kind"] == "pruned" and variant["arch"] == "digits_cnn"
    step = variant["step"]
    assert step["pass"] == "channel-prune"
    assert step["config"]["method"] == "l1" and step["config"]["amount"] == 0.5
    assert step["config"]["finetune_epochs"] == 1
    metrics = variant["metrics"]
    assert metrics["after"]["parameters"] < metrics["before"]["parameters"] / 3
    assert metrics["ratios"]["macs"] > 3.5
    paired = metrics["speedup_rounds"]["32"]  # each interleaved round's ratio, kept
    assert len(paired["rounds"]) == 5 and paired["low"] <= paired["median"] <= paired["high"]
    assert metrics["ratios"]["latency_b32"] == paired["median"]
    assert metrics["conditions"] == "ORT CPU, default threads"
    assert 0.0 <= metrics["after"]["accuracy"] <= 1.0
    assert set(variant["artifacts"]) == {"torch", "onnx"}
    reopened = load(pruned_folder / "model.pt", arch="digits_cnn")
    assert reopened.module.features[1][0].out_channels == 32
    session = ort.InferenceSession(
        str(pruned_folder / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    x = np.random.default_rng(0).random((4, 1, 8, 8), np.float32)
    onnx_out = session.run(None, {session.get_inputs()[0].name: x})[0]
    with torch.no_grad():
        torch_out = reopened.module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(onnx_out, torch_out, atol=1e-4)
    inspected = workbench("inspect", str(pruned_folder / "model.pt"), "--arch", "digits_cnn")
    assert inspected.returncode == 0, inspected.stderr
    assert "parameters: 23,034" in inspected.stdout
    folder = load(pruned_folder)  # the variant folder names its weights and arch itself
    assert folder.arch == "digits_cnn" and folder.module.features[1][0].out_channels == 32


def test_bad_settings_are_one_line_and_exit_2(tmp_path: Path) -> None:
    for args in (("--target", "macs"), ("--method", "l1", "--ignore", "nope")):
        result = workbench("prune", "zoo:digits_cnn", *args, "--out", str(tmp_path / "x"))
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("workbench: error:"), result.stderr
    assert (
        "channel pruning only"
        in workbench(
            "prune", "zoo:digits_cnn", "--round-to", "8", "--out", str(tmp_path / "y")
        ).stderr
    )


def test_the_wizard_makes_the_same_model_from_the_same_settings(qtbot, pruned_folder) -> None:
    from PySide6.QtWidgets import QWizard

    from workbench.ui.wizards.pruning_wizard import PruningWizard
    from workbench.ui.workers import TaskRunner

    wizard = PruningWizard(load("zoo:digits_cnn"), TaskRunner())
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.method.buttons["l1"].click()
    wizard.next()
    wizard.target.amount.setValue(50)
    wizard.next()
    wizard.next()
    wizard.finetune.enabled.setChecked(True)
    wizard.finetune.epochs.setValue(1)
    wizard.finetune.data.setCurrentIndex(wizard.finetune.data.findData("digits"))
    wizard.next()
    assert wizard.currentPage() is wizard.review
    wizard.next()  # the run does not wait for the preview
    qtbot.waitUntil(lambda: wizard.run_page.done, timeout=60_000)
    assert wizard.run_page.isComplete(), wizard.run_page.message.text()
    wizard.next()
    wizard.button(QWizard.WizardButton.FinishButton).click()
    outcome = wizard.outcome
    variant = json.loads((pruned_folder / "variant.json").read_text())
    assert outcome.step == variant["step"]
    cli = load(pruned_folder / "model.pt", arch="digits_cnn").module.state_dict()
    ours = outcome.model.module.state_dict()
    assert list(cli) == list(ours)
    for key, value in cli.items():
        assert value.shape == ours[key].shape, key
        assert torch.allclose(value.float(), ours[key].float(), atol=1e-4), key
    qtbot.waitUntil(lambda: not wizard.tasks.busy, timeout=30_000)


def test_threads_are_named_beside_every_latency_and_a_bad_count_is_one_line(tmp_path) -> None:
    out = tmp_path / "one-thread"
    result = workbench("prune", "zoo:digits_cnn", "--method", "l1", "--amount", "0.5",
                       *QUICK, "--threads", "1", "--no-onnx", "--out", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("latency, ")]
    assert len(lines) == 2 and all("(ORT CPU, 1 thread): " in line for line in lines)
    bad = workbench("prune", "zoo:digits_cnn", "--threads", "-1", "--out", str(out))
    assert bad.returncode == 2 and "'-1' is not a thread count (1 or more)" in bad.stderr
    assert "Traceback" not in bad.stderr
