"""Training in 2 CPU processes (DDP on gloo, through torchrun) gives one process's result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from fixtures.cli import run_workbench

from workbench.core.train.distributed import shard, without_nproc

ARGS = ["zoo:digits_mlp", "--data", "digits", "--epochs", "2", "--batch-size", "64"]


@pytest.mark.slow
def test_two_gloo_processes_match_one_process(tmp_path: Path) -> None:
    # torchrun gives each process one OpenMP thread; the single run gets the same, so
    # both sum in the same order (with two threads the sums split differently and, on a
    # loaded machine, the results drifted past the tolerance).
    one_thread = {"OMP_NUM_THREADS": "1"}
    single = run_workbench("train", *ARGS, "--out", "single", cwd=tmp_path, env=one_thread)
    assert single.returncode == 0, single.stderr
    multi = run_workbench("train", *ARGS, "--nproc", "2", "--out", "multi", cwd=tmp_path,
                          env=one_thread)  # fmt: skip
    assert multi.returncode == 0, multi.stderr
    assert multi.stderr.count("training on cpu") == 1  # one progress line, from rank 0
    one = torch.load(tmp_path / "single" / "model.pt", weights_only=True)
    two = torch.load(tmp_path / "multi" / "model.pt", weights_only=True)
    assert one.keys() == two.keys()
    for name in one:
        torch.testing.assert_close(two[name], one[name], rtol=1e-4, atol=1e-5)
    m1 = json.loads((tmp_path / "single" / "variant.json").read_text())["metrics"]
    m2 = json.loads((tmp_path / "multi" / "variant.json").read_text())["metrics"]
    # Epoch totals are summed over both processes, so the figures are the whole data's.
    assert m2["train_accuracy"] == pytest.approx(m1["train_accuracy"], abs=1e-6)
    assert m2["val_accuracy"] == pytest.approx(m1["val_accuracy"], abs=1e-6)
    assert m2["steps"] == m1["steps"]


def test_each_process_takes_its_slice_of_the_global_batch() -> None:
    from workbench.core.train.distributed import ProcessGroup

    batch = torch.arange(10)
    slices = [shard(batch, ProcessGroup(r, 2, r, "gloo")) for r in (0, 1)]
    assert slices[0].tolist() == [0, 2, 4, 6, 8] and slices[1].tolist() == [1, 3, 5, 7, 9]
    assert shard(batch, None) is batch


def test_nproc_is_taken_out_of_the_relaunched_command() -> None:
    assert without_nproc(["train", "m", "--nproc", "2", "--out", "o"]) == [
        "train",
        "m",
        "--out",
        "o",
    ]
    assert without_nproc(["train", "--nproc=4", "m"]) == ["train", "m"]


def test_nproc_is_checked_against_the_gpus_before_relaunching() -> None:
    from workbench.core.train.distributed import process_problem

    # One GPU, two processes on it: refused, whether asked for as cuda or as auto.
    for device in ("cuda", "auto", "cuda:0"):
        problem = process_problem(2, [device], gpus=1)
        assert problem is not None and "--nproc 2" in problem and "1 CUDA device(s)" in problem
    assert process_problem(2, ["cuda"], gpus=2) is None
    assert process_problem(4, ["cpu"], gpus=1) is None  # gloo on the CPU: no GPU needed
    assert process_problem(2, ["auto"], gpus=0) is None  # auto without a GPU: the CPU
    no_gpu = process_problem(2, ["cuda"], gpus=0, cuda_missing="no NVIDIA driver")
    assert no_gpu == "device 'cuda' is not available here (no NVIDIA driver)"
    # A recipe training on the CPU, then on CUDA: the CUDA step decides.
    assert "--nproc 3" in process_problem(3, ["cpu", "cuda"], gpus=2)


def test_check_processes_uses_the_gpus_of_this_machine() -> None:
    from workbench.core.errors import WorkbenchError
    from workbench.core.train.distributed import check_processes

    check_processes(2, ["cpu"])
    with pytest.raises(WorkbenchError, match="at least 2"):
        check_processes(1, ["cpu"])
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    with pytest.raises(WorkbenchError, match=r"not available here|CUDA device"):
        check_processes(max(2, count + 1), ["cuda"])
