"""No child of `workbench` imports from the folder the user started it in: impostor
``numpy.py``, ``onnxruntime.py``, ``torch.py`` and ``multiprocessing.py`` there stay
unused (the export's load probe, torchrun and its workers, data loader workers)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fixtures.cli import run_command
from fixtures.impostors import (
    imported_impostors,
    plant_impostors,
    user_environment,
    workbench_script,
)

TRAIN = ["train", "zoo:digits_mlp", "--data", "digits", "--epochs", "1", "--out", "out"]


def workbench(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_command([*workbench_script(), *args], cwd=folder, env=user_environment())


def test_export_probes_the_file_without_the_working_folder(tmp_path: Path) -> None:
    folder = plant_impostors(tmp_path)
    result = workbench(folder, "export", "zoo:digits_mlp", "--out", "m.onnx")
    assert result.returncode == 0, result.stderr
    assert imported_impostors(folder) == []
    assert (folder / "m.onnx").is_file()


@pytest.mark.slow
def test_data_loader_workers_skip_the_working_folder(tmp_path: Path) -> None:
    folder = plant_impostors(tmp_path)
    result = workbench(folder, *TRAIN, "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert imported_impostors(folder) == []


@pytest.mark.slow
def test_torchrun_and_its_workers_skip_the_working_folder(tmp_path: Path) -> None:
    folder = plant_impostors(tmp_path)
    result = workbench(folder, *TRAIN, "--nproc", "2")
    assert result.returncode == 0, result.stderr
    assert imported_impostors(folder) == []
    assert (folder / "out" / "model.pt").is_file()
