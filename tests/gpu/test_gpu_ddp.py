"""DDP over NCCL: `train --nproc 2 --device cuda` gives one process's result (two GPUs
needed: NCCL cannot put two processes on one)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from fixtures import gpu_commands as commands
from gpu_env import figure, needs_cuda, workbench_json

pytestmark = [
    needs_cuda,
    pytest.mark.skipif(
        torch.cuda.is_available() and torch.cuda.device_count() < 2,
        reason="DDP over NCCL needs two GPUs; this machine has one",
    ),
]


def test_two_nccl_processes_match_one_process(tmp_path: Path) -> None:
    def train(out: Path, nproc: int | None) -> str:
        line = commands.train(
            "zoo:digits_mlp", out, device="cuda", data=commands.SMALL_DATA, epochs=2,
            batch_size=64, nproc=nproc,
        )  # fmt: skip
        _, stderr = workbench_json(line)
        return stderr

    train(tmp_path / "single", None)
    stderr = train(tmp_path / "multi", 2)
    assert stderr.count("training on cuda") == 1  # one progress line, from rank 0
    one = torch.load(tmp_path / "single" / "model.pt", weights_only=True)
    two = torch.load(tmp_path / "multi" / "model.pt", weights_only=True)
    assert one.keys() == two.keys()
    for name in one:  # GPU sums in another order: close, not equal
        torch.testing.assert_close(two[name], one[name], rtol=1e-3, atol=1e-4)
    m1 = json.loads((tmp_path / "single" / "variant.json").read_text())["metrics"]
    m2 = json.loads((tmp_path / "multi" / "variant.json").read_text())["metrics"]
    assert m2["steps"] == m1["steps"]
    assert m2["val_accuracy"] == pytest.approx(m1["val_accuracy"], abs=0.01)
    figure(
        f"train --nproc 2 --device cuda (NCCL, {torch.cuda.device_count()} GPUs): validation "
        f"accuracy {m2['val_accuracy']:.2%} against {m1['val_accuracy']:.2%} in one process"
    )
