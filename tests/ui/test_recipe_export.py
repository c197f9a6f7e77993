"""Export Recipe in the app, then `workbench run` in a fresh process: the same model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PySide6.QtWidgets import QWizard


def workbench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_DEBUG"}
    command = [sys.executable, "-m", "workbench", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=cwd)


@pytest.mark.slow
def test_a_recipe_exported_from_the_app_replays_to_the_same_model(
    qtbot, main_window, tmp_path: Path
) -> None:
    """Prune in the app's wizard, export the recipe, replay it headless: same weights."""
    from workbench.ui.wizards.any_pass_wizard import AnyPassWizard

    window = main_window
    window.open_source("zoo:digits_cnn")
    qtbot.waitUntil(lambda: window.current is not None, timeout=30_000)
    window.actions.open_wizard("workbench.ui.wizards.any_pass_wizard:AnyPassWizard")
    wizard = window.findChild(AnyPassWizard)
    wizard.pick.picker.select("random-prune")
    wizard.next()
    qtbot.waitUntil(lambda: wizard.run.done, timeout=30_000)
    wizard.next()
    wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: len(window.project.variants) == 2, timeout=30_000)
    qtbot.waitUntil(lambda: window.current.parent is not None, timeout=10_000)
    gui_variant = window.current
    recipe = tmp_path / "from-app.yaml"
    window.actions.export_recipe(str(recipe))
    assert "random-prune" in recipe.read_text()

    result = workbench("run", str(recipe), "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    replayed = json.loads((tmp_path / "out" / "01-random-prune" / "variant.json").read_text())
    assert replayed["metrics"]["sparsity"] == gui_variant.metrics["sparsity"]
    weights = torch.load(tmp_path / "out" / "01-random-prune" / "model.pt", weights_only=True)
    for name, value in gui_variant.loaded.module.state_dict().items():
        assert torch.equal(value, weights[name]), name
