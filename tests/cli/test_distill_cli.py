"""`workbench distill` as a user runs it: a fresh interpreter, a real teacher file, real files."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch
from fixtures.cli import run_workbench, started_workbench

from workbench.core.data.digits import load_digits
from workbench.core.io import load
from workbench.core.measure.runners import torch_threads
from workbench.core.train import TrainConfig, Trainer


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One intra-op thread: on a shared 2-core machine two spinning OpenMP threads make
    these tiny models several times slower, not faster."""
    with torch_threads(1):
        yield


def distill(*args: str) -> subprocess.CompletedProcess[str]:
    return run_workbench("distill", *args, env={"OMP_NUM_THREADS": "1"})  # see one_torch_thread


def test_distill_writes_a_student_variant_with_its_baseline(tmp_path: Path) -> None:
    teacher = load("zoo:digits_mlp")
    config = TrainConfig(epochs=3, batch_size=64, lr=3e-3, device="cpu")
    trained = Trainer(teacher.module, load_digits(), config).fit().model
    torch.save(trained.state_dict(), tmp_path / "teacher.pt")
    out = tmp_path / "student"
    result = distill(
        "--teacher", str(tmp_path / "teacher.pt"), "--arch", "digits_mlp",
        "--student", "zoo:digits_mlp:hidden=32", "--data", "digits", "--epochs", "2",
        "--alpha", "0.3", "--temperature", "3", "--train-samples", "600", "--baseline",
        "--out", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "teacher: validation accuracy" in result.stderr
    assert "near chance" not in result.stderr  # a trained teacher: no warning
    assert "baseline (the same student, labels only)" in result.stderr
    assert "student without teacher" in result.stdout and "the teacher added" in result.stdout
    assert "latency: PyTorch eager CPU, 1 thread, batch 1; student " in result.stdout
    variant = json.loads((out / "variant.json").read_text())
    assert variant["kind"] == "distilled" and variant["arch"] == "digits_mlp:hidden=32"
    step = variant["step"]
    assert step["pass"] == "distill"
    assert step["config"]["alpha"] == 0.3 and step["config"]["temperature"] == 3.0
    assert step["config"]["student"] == "zoo:digits_mlp:hidden=32" and step["config"]["baseline"]
    m = variant["metrics"]
    assert m["teacher_accuracy"] > 0.5
    for key in ("student_accuracy", "baseline_accuracy", "gain_over_baseline_points"):
        assert isinstance(m[key], float), key
    assert m["parameter_ratio"] < 0.25 and m["student_latency_ms"] > 0
    assert m["latency_conditions"] == "PyTorch eager CPU, 1 thread"
    assert len(m["speedup_rounds"]["rounds"]) == 5 and m["speedup"] == m["speedup_rounds"]["median"]
    for phase in ("distill", "baseline"):  # each training kept its epoch checkpoints
        assert (out / "checkpoints" / phase / "checkpoint.pt").is_file()
    history = json.loads((out / "history.json").read_text())
    assert [r["epoch"] for r in history["epochs"]] == [1, 2]
    reopened = load(out / "model.pt", arch=variant["arch"])
    assert sum(p.numel() for p in reopened.module.parameters()) == m["student_parameters"]


def test_ctrl_c_keeps_the_checkpoints_and_resume_finishes_the_run(tmp_path: Path) -> None:
    out = tmp_path / "student"
    args = ["--teacher", "zoo:digits_mlp", "--student", "zoo:digits_mlp:hidden=16",
            "--data", "digits", "--epochs", "60", "--batch-size", "16", "--no-measure",
            "--out", str(out)]  # fmt: skip
    with started_workbench("distill", *args, env={"OMP_NUM_THREADS": "1"}) as process:
        checkpoint = out / "checkpoints" / "distill" / "checkpoint.pt"
        deadline = time.monotonic() + 120
        while not checkpoint.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "continue with --resume" in stderr and not (out / "variant.json").exists()

    resumed = distill(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    history = json.loads((out / "history.json").read_text())
    assert [r["epoch"] for r in history["epochs"]] == list(range(1, 61))
    assert history["steps"] == list(range(1, len(history["steps"]) + 1))
    assert json.loads((out / "variant.json").read_text())["metrics"]["epochs"] == 60

    again = distill(*[a if a != "16" else "32" for a in args], "--resume")
    assert again.returncode == 2
    assert again.stderr.strip().endswith("changed: batch_size 16 -> 32")


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    """In-process through ``main`` (the same run_handler the console script uses)."""
    from workbench.cli import main

    for args in (
        ["--teacher", "zoo:digits_mlp", "--student", "pruned:2", "--out", str(tmp_path)],
        ["--teacher", "zoo:digits_mlp", "--student", "zoo:nonesuch", "--out", str(tmp_path)],
        ["--teacher", str(tmp_path / "missing.pt"), "--out", str(tmp_path)],
        ["--teacher", "zoo:digits_mlp", "--hint-layers", "nope=layers.2", "--epochs", "1",
         "--train-samples", "100", "--no-measure", "--out", str(tmp_path)],
    ):  # fmt: skip
        code = main(["distill", *args])
        err = capsys.readouterr().err
        lines = [line for line in err.strip().splitlines() if line.startswith("workbench:")]
        assert code == 2, (args, err)
        assert len(lines) == 1 and lines[0].startswith("workbench: error:"), err
        assert "Traceback" not in err
    assert not (tmp_path / "variant.json").exists()


def test_cache_on_with_augmentation_is_refused_by_the_flags(capsys) -> None:
    from workbench.cli import main

    code = main(["distill", "--teacher", "zoo:digits_mlp", "--cache-teacher", "on",
                 "--augment", "--out", "x"])  # fmt: skip
    assert code == 2
    assert "augmentation" in capsys.readouterr().err


def test_a_pruned_student_reopens_with_the_teachers_arch(tmp_path: Path, capsys) -> None:
    from workbench.cli import main

    out = tmp_path / "pruned"
    code = main(["distill", "--teacher", "zoo:digits_mlp", "--student", "pruned:0.5",
                 "--epochs", "1", "--train-samples", "200", "--no-measure",
                 "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    variant = json.loads((out / "variant.json").read_text())
    assert variant["arch"] == "digits_mlp"
    reopened = load(out / "model.pt", arch="digits_mlp")
    assert (
        sum(p.numel() for p in reopened.module.parameters())
        == (variant["metrics"]["student_parameters"])
    )
    assert reopened.module(torch.zeros(1, 1, 8, 8)).shape == (1, 10)


def test_an_untrained_teacher_is_a_warning_on_stderr(tmp_path: Path, capsys) -> None:
    """zoo:digits_mlp as built is untrained: about 10% on 10 digits, chance."""
    from workbench.cli import main

    out = tmp_path / "student"
    code = main(["distill", "--teacher", "zoo:digits_mlp", "--student", "pruned:0.5",
                 "--epochs", "1", "--train-samples", "100", "--no-measure",
                 "--out", str(out)])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1, captured.err
    assert "near chance (10.0% for 10 classes)" in warnings[0]
    assert "near chance" not in captured.out  # stderr only: stdout stays the summary
    notes = json.loads((out / "variant.json").read_text())["notes"]
    assert any("near chance" in note for note in notes)  # kept with the student


def test_round_to_keeps_a_pruned_students_channels_multiples_of_it(tmp_path: Path, capsys) -> None:
    from workbench.cli import main

    out = tmp_path / "rounded"
    code = main(["distill", "--teacher", "zoo:digits_cnn", "--student", "pruned:0.85",
                 "--round-to", "8", "--epochs", "1", "--train-samples", "200", "--no-measure",
                 "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    variant = json.loads((out / "variant.json").read_text())
    assert variant["step"]["config"]["round_to"] == 8  # the recipe replays it
    reopened = load(out / "model.pt", arch="digits_cnn")
    widths = [m.out_channels for m in reopened.module.modules() if isinstance(m, torch.nn.Conv2d)]
    assert widths and all(w % 8 == 0 for w in widths), widths


def test_an_existing_pruned_variant_is_the_student(tmp_path: Path, capsys) -> None:
    """prune -> distill composes: the pruned variant's folder is the student, kept as it is."""
    from workbench.cli import main

    pruned = tmp_path / "pruned"
    code = main(["prune", "zoo:digits_cnn", "--method", "l1", "--amount", "0.5", "--round-to", "8",
                 "--no-measure", "--no-onnx", "--out", str(pruned)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    widths = [
        m.out_channels for m in load(pruned).module.modules() if isinstance(m, torch.nn.Conv2d)
    ]
    out = tmp_path / "distilled"
    code = main(["distill", "--teacher", "zoo:digits_cnn", "--student", str(pruned), "--epochs",
                 "1", "--train-samples", "200", "--no-measure", "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    student = load(out)
    kept = [m.out_channels for m in student.module.modules() if isinstance(m, torch.nn.Conv2d)]
    assert kept == widths and widths != [32, 64, 64]  # the pruned shapes, trained further
    onnx_student = tmp_path / "model.onnx"
    code = main(["export", "zoo:digits_cnn", "--out", str(onnx_student)])
    assert code == 0, capsys.readouterr().err
    code = main(["distill", "--teacher", "zoo:digits_cnn", "--student", str(onnx_student),
                 "--epochs", "1", "--out", str(tmp_path / "no")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "must be a PyTorch model" in err and "Traceback" not in err
