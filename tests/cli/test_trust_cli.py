"""The trust boundary as a user meets it on the command line.

Code named by a file (``variant.json``'s arch, a recipe's student) never runs without
``--trust``: one stderr line, exit 2, the planted module untouched; with ``--trust`` it
runs. What is only data (a parameterised zoo name, an ONNX file, the user's own
``--arch``) opens with neither ``--arch`` nor ``--trust``.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from fixtures.cli import run_workbench
from fixtures.planted import DISTILL_RECIPE, Planted, plant_module, variant_folder


def assert_one_line(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit 2 and one error line, the last (a progress line may come before it)."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("workbench: error: ")]
    assert errors == lines[-1:] and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[-1], lines[-1]


@pytest.fixture
def planted(tmp_path: Path) -> Planted:
    return plant_module(tmp_path / "code")


def cli(planted: Planted, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_workbench(*args, cwd=cwd, env={"PYTHONPATH": str(planted.folder)})


@pytest.mark.parametrize(
    "command",
    [
        ["inspect", "T"],
        ["export", "T", "--out", "T.onnx"],
        ["eval", "T", "--data", "digits", "--samples", "50", "--shape", "x=1x1x8x8"],
        ["compare", "T", "zoo:digits_mlp", "--measure", "--runs", "2", "--seconds", "0.05"],
    ],
    ids=["inspect", "export", "eval", "compare-measure"],
)
def test_code_a_variant_json_names_runs_only_with_trust(
    tmp_path: Path, planted: Planted, command: list[str]
) -> None:
    variant_folder(tmp_path / "T", planted.reference)
    refused = cli(planted, *command, cwd=tmp_path)
    assert_one_line(refused, "T/variant.json", "'arch'", planted.reference, "--trust")
    assert not planted.ran
    assert not (tmp_path / "T.onnx").exists()
    trusted = cli(planted, *command, "--trust", cwd=tmp_path)
    assert trusted.returncode == 0, trusted.stderr
    assert planted.ran


def test_the_users_own_arch_is_not_asked_to_be_trusted(tmp_path: Path, planted: Planted) -> None:
    variant_folder(tmp_path / "T", None)
    result = cli(planted, "inspect", "T", "--arch", planted.reference, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["framework"] == "pytorch" and planted.ran


def test_a_recipe_naming_code_is_refused_by_check_and_run_without_trust(
    tmp_path: Path, planted: Planted
) -> None:
    (tmp_path / "r.yaml").write_text(DISTILL_RECIPE.format(student=planted.reference))
    checked = cli(planted, "run", "r.yaml", "--check", cwd=tmp_path)
    assert_one_line(checked, "r.yaml:5: step 1 (distill) field 'student'", "--trust")
    ran = cli(planted, "run", "r.yaml", "--out", "out", cwd=tmp_path)
    assert_one_line(ran, "field 'student'", "--trust")
    assert not planted.ran and not (tmp_path / "out").exists()
    trusted = cli(planted, "run", "r.yaml", "--check", "--trust", cwd=tmp_path)
    assert trusted.returncode == 0 and "all valid" in trusted.stdout, trusted.stderr
    assert not planted.ran  # checking imports nothing


@pytest.mark.slow
def test_a_trained_parameterised_zoo_model_reopens_exports_and_evaluates(tmp_path: Path) -> None:
    trained = run_workbench(
        "train", "zoo:digits_mlp:hidden=32", "--data", "digits", "--epochs", "1", "--out", "T",
        cwd=tmp_path,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    for command in (["export", "T", "--out", "T.onnx"], ["eval", "T", "--json"]):
        result = run_workbench(*command, cwd=tmp_path)
        assert result.returncode == 0, (command, result.stderr)
    assert (tmp_path / "T.onnx").stat().st_size > 0


def test_an_onnx_only_folder_opens_without_trust(tmp_path: Path, planted: Planted) -> None:
    exported = run_workbench("export", "zoo:digits_mlp", "--out", "m.onnx", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    folder = variant_folder(tmp_path / "T", planted.reference, torch_file=False)
    (tmp_path / "m.onnx").rename(folder / "model.onnx")
    record = json.loads((folder / "variant.json").read_text())
    record["artifacts"] = {"onnx": "model.onnx"}
    (folder / "variant.json").write_text(json.dumps(record))
    result = cli(planted, "inspect", "T", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["format"] == "onnx" and not planted.ran
