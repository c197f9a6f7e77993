"""`workbench train` as a user runs it: a fresh interpreter, real training, real files."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from fixtures.cli import run_workbench, started_workbench

from workbench.core.io import load


def train(*args: str) -> subprocess.CompletedProcess[str]:
    return run_workbench("train", *args)


@pytest.mark.slow
def test_train_writes_a_variant_that_reopens_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "trained"
    result = train("zoo:digits_mlp", "--data", "digits", "--epochs", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "epoch 2/2" in result.stderr and "training on cpu" in result.stderr
    assert "finished: 2 epochs" in result.stdout
    assert f"workbench inspect {out / 'model.pt'} --arch digits_mlp" in result.stdout
    variant = json.loads((out / "variant.json").read_text())
    assert variant["kind"] == "trained" and variant["arch"] == "digits_mlp"
    assert variant["dataset"] == "digits" and variant["step"]["pass"] == "train"
    assert variant["step"]["config"]["epochs"] == 2
    assert variant["metrics"]["val_accuracy"] > 0.5
    assert set(variant["artifacts"]) >= {"torch", "history_json", "history_csv", "checkpoint"}
    with (out / "history.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    history = json.loads((out / "history.json").read_text())
    assert history["steps"] == list(range(1, len(history["losses"]) + 1))
    assert len((out / "steps.csv").read_text().splitlines()) == len(history["steps"]) + 1

    reopened = load(out / "model.pt", arch="digits_mlp")
    assert reopened.format.value == "state-dict"

    more = train(
        "zoo:digits_mlp", "--data", "digits", "--epochs", "3", "--resume", "--out", str(out)
    )
    assert more.returncode == 0, more.stderr
    assert "epochs changed from 2 to 3" in more.stderr
    resumed = json.loads((out / "history.json").read_text())
    assert [r["epoch"] for r in resumed["epochs"]] == [1, 2, 3]
    assert resumed["losses"][: len(history["losses"])] == history["losses"]


@pytest.mark.slow
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = train("zoo:digits_mlp", "--data", str(tmp_path / "nothing"), "--out", str(tmp_path))
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "neither a dataset name" in missing.stderr
    table = tmp_path / "t.csv"
    table.write_text("a,b,kind\n1,2,x\n3,oops,y\n")
    bad_csv = train(
        "zoo:digits_mlp", "--data", str(table), "--target", "kind", "--out", str(tmp_path / "o")
    )
    assert bad_csv.returncode == 2
    assert "t.csv: line 3, column 'b': 'oops' is not a number" in bad_csv.stderr
    flags = train("zoo:digits_mlp", "--lr", "-1", "--out", str(tmp_path / "o"))
    assert flags.returncode == 2 and "lr must be positive" in flags.stderr


@pytest.mark.slow
def test_ctrl_c_stops_with_a_checkpoint_and_resume_finishes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with started_workbench("train", "zoo:digits_mlp", "--data", "digits", "--epochs", "60",
                           "--out", str(out)) as process:  # fmt: skip
        deadline = time.monotonic() + 120
        while not (out / "checkpoint.pt").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "continue with --resume" in stderr and not (out / "variant.json").exists()
    resumed = train(
        "zoo:digits_mlp", "--data", "digits", "--epochs", "3", "--resume", "--out", str(out)
    )
    if "ask for more than that" in resumed.stderr:  # the machine was fast: 3 epochs were done
        resumed = train("zoo:digits_mlp", "--data", "digits", "--epochs", "60", "--resume",
                        "--out", str(out))  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    history = json.loads((out / "history.json").read_text())
    assert history["steps"] == list(range(1, len(history["steps"]) + 1))


def test_nproc_beyond_the_gpus_is_one_line_before_torchrun_starts(tmp_path: Path) -> None:
    import torch

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    out = tmp_path / "X"
    args = ["zoo:digits_cnn", "--data", "digits", "--device", "cuda", "--out", str(out)]
    result = train(*args, "--nproc", str(max(2, gpus + 1)))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("workbench: error: "), result.stderr
    assert ("not available here" if gpus == 0 else "CUDA device(s) found") in lines[0]
    assert "torch.distributed" not in result.stderr and not out.exists()


def test_settings_errors_are_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    """A rule between settings (checked once the suggested settings are known) is one
    line; a flag's own limit is argparse's usage error, ending in one line naming it."""
    out = tmp_path / "o"
    warmup = train("zoo:digits_mlp", "--epochs", "2", "--warmup", "3", "--out", str(out))
    assert warmup.returncode == 2 and "Traceback" not in warmup.stderr
    assert warmup.stderr.strip().splitlines() == [
        "workbench: error: warm-up (3 epochs) must be shorter than the run (2 epochs)"
    ]
    augment = train("zoo:digits_mlp", "--augment", "crop=2,colour=1", "--out", str(out))
    assert augment.returncode == 2 and "Traceback" not in augment.stderr
    assert (
        augment.stderr.strip()
        .splitlines()[-1]
        .endswith(
            "argument --augment: augment: unknown 'colour' (known: crop_padding, hflip, "
            "rotation, brightness, contrast)"
        )
    )
    assert not out.exists()
