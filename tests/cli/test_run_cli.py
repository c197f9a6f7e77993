"""`workbench run` as a user runs it: a fresh interpreter, real steps, real files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures.cli import run_workbench

from workbench.core.io import load

RECIPE = """\
recipe: 1
model: zoo:digits_mlp
data: digits
steps:
  - pass: train
    config: {epochs: 2}
  - pass: random-prune
    config: {amount: 0.5}
"""


@pytest.mark.slow
def test_run_writes_every_variant_and_a_summary(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(RECIPE)
    result = run_workbench("run", "r.yaml", "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    trained = json.loads((out / "01-train" / "variant.json").read_text())
    pruned = json.loads((out / "02-random-prune" / "variant.json").read_text())
    assert trained["step"]["pass"] == "train" and trained["step"]["config"]["epochs"] == 2
    assert pruned["step"] == {"pass": "random-prune", "config": pruned["step"]["config"]}
    assert pruned["metrics"]["sparsity"] == pytest.approx(0.5, abs=0.01)
    # The written weights reopen without trusting code, and carry the pruning.
    reopened = load(str(out / "02-random-prune" / "model.pt"), arch="digits_mlp")
    weights = [p for n, p in reopened.module.named_parameters() if n.endswith("weight")]
    zeros = sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)
    assert zeros == pytest.approx(0.5, abs=0.02)
    summary = (out / "summary.md").read_text()
    assert "| 1 | train |" in summary and "| 2 | random-prune |" in summary
    assert "random-prune" in (out / "recipe.yaml").read_text()
    # The input and both steps side by side, as `workbench compare` reports them.
    assert (out / "00-input" / "variant.json").is_file()
    report = (out / "comparison.md").read_text()
    assert "digits_mlp (input) (baseline)" in report and "step 2 (random-prune)" in report
    assert "step 2 (random-prune)" in (out / "comparison.html").read_text()


@pytest.mark.parametrize(
    ("recipe", "args", "message"),
    [
        (None, ["missing.yaml", "--check"], "cannot read recipe missing.yaml"),
        ("steps:\n  - pass: nope\n", ["r.yaml", "--check"], "r.yaml:2: step 1 (nope): no pass"),
        ("steps:\n  - pass: train\n", ["r.yaml", "--out", "o"], "name the model"),
        (RECIPE, ["r.yaml"], "name the output folder"),
        ("steps:\n  - pass: train\n", ["r.yaml", "--check"], "name the model"),
        (RECIPE, ["r.yaml", "gone.onnx", "--check"], "gone.onnx"),  # --check opens it
        (RECIPE.replace("zoo:digits_mlp", "zoo:no_such_net"), ["r.yaml", "--check"], "no_such_net"),
    ],
)
def test_bad_recipes_get_one_line_and_status_2(
    tmp_path: Path, recipe: str | None, args: list[str], message: str
) -> None:
    if recipe is not None:
        (tmp_path / "r.yaml").write_text(recipe)
    result = run_workbench("run", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


def test_check_validates_without_running(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(RECIPE)
    result = run_workbench("run", "r.yaml", "--check", cwd=tmp_path)
    assert result.returncode == 0 and "2 steps, all valid; zoo:digits_mlp opens" in result.stdout
