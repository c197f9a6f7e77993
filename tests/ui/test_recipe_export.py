"""Export Recipe in the app, then `workbench run` in a fresh process: the same model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from fixtures.cli import run_workbench


@pytest.mark.slow
def test_a_recipe_exported_from_the_app_replays_to_the_same_model(
    qtbot, main_window, apply_pass_in_app, tmp_path: Path
) -> None:
    """Prune in the app's wizard, export the recipe, replay it headless: same weights."""
    window = main_window
    window.open_source("zoo:digits_cnn")
    qtbot.waitUntil(lambda: window.current is not None, timeout=30_000)
    apply_pass_in_app(window)
    qtbot.waitUntil(lambda: len(window.project.variants) == 2, timeout=30_000)
    qtbot.waitUntil(lambda: window.current.parent is not None, timeout=10_000)
    gui_variant = window.current
    recipe = tmp_path / "from-app.yaml"
    window.actions.export_recipe(str(recipe))
    assert "random-prune" in recipe.read_text()

    result = run_workbench("run", str(recipe), "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    replayed = json.loads((tmp_path / "out" / "01-random-prune" / "variant.json").read_text())
    assert replayed["metrics"]["sparsity"] == gui_variant.metrics["sparsity"]
    weights = torch.load(tmp_path / "out" / "01-random-prune" / "model.pt", weights_only=True)
    for name, value in gui_variant.loaded.module.state_dict().items():
        assert torch.equal(value, weights[name]), name
