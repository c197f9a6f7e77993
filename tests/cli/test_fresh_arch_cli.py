"""Bring your own architecture: `train --arch` and a recipe's `arch:` with no model file
start from the factory's fresh weights (a fresh interpreter, real training, real files)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from fixtures.cli import run_workbench

from workbench.core.errors import TrustRequired
from workbench.core.io import load

NETS = """
import torch

def build():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(16, 10),
    )
"""
RECIPE = """\
recipe: 1
arch: nets.py:build
data: digits
steps:
  - pass: train
    config: {epochs: 1, batch_size: 256}
"""


def _one_line_error(result, message: str) -> None:
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.fixture
def nets(tmp_path: Path) -> Path:
    (tmp_path / "nets.py").write_text(NETS)
    return tmp_path / "nets.py"


@pytest.mark.slow
def test_train_an_architecture_file_from_fresh_weights(tmp_path: Path, nets: Path) -> None:
    result = run_workbench(
        "train", "--arch", "nets.py:build", "--data", "digits", "--epochs", "1",
        "--batch-size", "256", "--out", "T", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "finished: 1 epochs" in result.stdout
    record = json.loads((tmp_path / "T" / "variant.json").read_text())
    # Recorded as an absolute file reference: the folder reopens from anywhere.
    assert record["arch"] == f"{nets}:build" and record["kind"] == "trained"
    # variant.json names code: opening the folder runs it only when trusted.
    with pytest.raises(TrustRequired, match="imports code"):
        load(tmp_path / "T")
    reopened = load(tmp_path / "T", trust=True)
    assert isinstance(reopened.module[0], torch.nn.Conv2d)
    assert reopened.inputs[0].shape[:2] == (1, 1)  # guessed from the first layer, checked
    trained = torch.load(tmp_path / "T" / "model.pt", weights_only=True)
    fresh = load(None, arch=f"{nets}:build").module.state_dict()
    assert not torch.equal(trained["4.weight"], fresh["4.weight"])  # training moved them


@pytest.mark.slow
def test_train_a_package_module_factory(tmp_path: Path, nets: Path) -> None:
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text("")
    (tmp_path / "mypkg" / "nets.py").write_text(NETS)
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    result = run_workbench(
        "train", "--arch", "mypkg.nets:build", "--data", "digits", "--epochs", "1",
        "--out", "T", cwd=tmp_path, env={"PYTHONPATH": path},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "T" / "variant.json").read_text())["arch"] == "mypkg.nets:build"


def test_fresh_weights_are_the_factorys_own_seeded_init(nets: Path) -> None:
    exec_globals: dict = {}
    exec(NETS, exec_globals)  # the same factory, called as the workbench calls it
    torch.manual_seed(3)
    expected = exec_globals["build"]().state_dict()
    built = load(None, arch=f"{nets}:build", seed=3)
    assert built.arch == f"{nets}:build" and built.format.value == "zoo"
    for key, tensor in built.module.state_dict().items():
        assert torch.equal(tensor, expected[key]), key


@pytest.mark.slow
def test_a_recipe_arch_beside_the_recipe_starts_fresh(tmp_path: Path, nets: Path) -> None:
    (tmp_path / "r.yaml").write_text(RECIPE)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # A recipe is a file: the code it names runs only with --trust.
    refused = run_workbench("run", "../r.yaml", "--check", cwd=elsewhere)
    _one_line_error(refused, "r.yaml field 'arch' names architecture")
    checked = run_workbench("run", "../r.yaml", "--check", "--trust", cwd=elsewhere)
    assert checked.returncode == 0 and f"{nets}:build opens" in checked.stdout
    result = run_workbench("run", "../r.yaml", "--trust", "--out", "R", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    record = json.loads((elsewhere / "R" / "01-train" / "variant.json").read_text())
    assert record["arch"] == f"{nets}:build" and record["step"]["config"]["epochs"] == 1
    assert f"arch: {nets}:build" in (elsewhere / "R" / "recipe.yaml").read_text()


def test_a_recipe_with_model_and_arch_rebuilds_the_state_dict(tmp_path: Path, nets: Path) -> None:
    weights = load(None, arch=f"{nets}:build", seed=7).module.state_dict()
    torch.save(weights, tmp_path / "w.pt")
    recipe = RECIPE.replace("arch:", "model: w.pt\narch:").replace("train", "random-prune")
    (tmp_path / "r.yaml").write_text(recipe.replace("epochs: 1, batch_size: 256", "amount: 0.5"))
    result = run_workbench("run", "r.yaml", "--trust", "--out", "R", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pruned = load(tmp_path / "R" / "01-random-prune", trust=True).module.state_dict()
    kept = pruned["0.weight"] != 0
    assert torch.equal(pruned["0.weight"][kept], weights["0.weight"][kept])  # the file's weights


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--arch", "missing.py:build"], "missing.py does not exist"),
        (["--arch", "no_such_nets:build"], "cannot import module 'no_such_nets'"),
        (["--arch", "nets.py:nothing"], "has no attribute 'nothing'"),
        ([], "or an architecture to train from fresh weights with --arch"),
    ],
)
def test_a_bad_arch_is_one_line_and_exit_2(
    tmp_path: Path, nets: Path, args: list[str], message: str
) -> None:
    result = run_workbench("train", *args, "--data", "digits", "--out", "T", cwd=tmp_path)
    _one_line_error(result, message)
    assert not (tmp_path / "T").exists()


def test_a_recipe_arch_that_is_not_text_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(RECIPE.replace("nets.py:build", "[1, 2]"))
    _one_line_error(run_workbench("run", "r.yaml", "--check", cwd=tmp_path), "'arch' must be")
