"""Training on CUDA as people run it (issue 20's table): `workbench train --device cuda`
with each --amp mode against a bare PyTorch loop, the CPU against the GPU, a real CUDA
out-of-memory, and the precision autocast really computes in."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import torch
from fixtures import gpu_commands as commands
from fixtures.cli import run_command, workbench_environment
from gpu_env import figure, needs_cuda, one_error_line

pytestmark = needs_cuda

BARE_LOOP = Path(__file__).with_name("bare_loop.py")
# The trainer's own target is <= 1.05x a bare loop (a benchmark holds it); one run of
# ~4 s each on a GPU moves by more than that, so this guard has slack and the figure is
# what to read. The issue measured 0.90-0.96x.
TRAINER_LIMIT = 1.25
# The H200 trained 30x faster than 16 CPU cores; any working GPU path is well above this.
GPU_SPEEDUP_FLOOR = 3.0
OOM_CAP_BYTES = 3 * 2**30  # far below what batch 4096 of the wide ResNet needs (tens of GiB)


def bare_loop(model: str, *, device: str, amp: str, epochs: int) -> dict:
    """tests/gpu/bare_loop.py in a fresh process: seconds and validation accuracy."""
    line = [str(BARE_LOOP), model, "--data", commands.WIDE_DATA, "--device", device]
    done = run_command(
        [sys.executable, *line, "--amp", amp, "--epochs", str(epochs)],
        env=workbench_environment(),
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("amp", ["bf16", "fp16", "off"])
def test_training_on_cuda_against_a_bare_loop(amp: str, wide_training) -> None:
    result, stderr, _ = wide_training("cuda", amp, 3)
    metrics = result["metrics"]
    assert result["status"] == "finished" and metrics["epochs"] == 3
    assert "training on cuda" in stderr
    assert metrics["val_accuracy"] > 0.4  # ten classes: chance is 0.1
    bare = bare_loop(commands.WIDE, device="cuda", amp=amp, epochs=3)
    assert bare["steps"] == metrics["steps"]
    ratio = metrics["seconds"] / bare["seconds"]
    figure(
        f"train {commands.WIDE} --device cuda --amp {amp}, 3 epochs: {metrics['seconds']:.2f} s "
        f"of training against {bare['seconds']:.2f} s for a bare PyTorch loop with the same "
        f"batches and optimizer: {ratio:.2f}x (limit {TRAINER_LIMIT}); validation accuracy "
        f"{metrics['val_accuracy']:.1%} (bare loop {bare['val_accuracy']:.1%})"
    )
    # The same training: only the GPU's non-deterministic sums may tell them apart.
    assert abs(metrics["val_accuracy"] - bare["val_accuracy"]) < 0.1
    assert ratio <= TRAINER_LIMIT


def test_one_epoch_on_the_cpu_against_the_gpu(wide_training) -> None:
    cpu, stderr, _ = wide_training("cpu", "off", 1)
    assert cpu["status"] == "finished" and cpu["metrics"]["epochs"] == 1
    assert "training on cpu" in stderr
    gpu, _, _ = wide_training("cuda", "off", 3)
    gpu_epoch = gpu["metrics"]["seconds"] / gpu["metrics"]["epochs"]
    speedup = cpu["metrics"]["seconds"] / gpu_epoch
    figure(
        f"the same on the CPU ({os.cpu_count()} logical CPUs), 1 epoch: "
        f"{cpu['metrics']['seconds']:.1f} s against {gpu_epoch:.2f} s an epoch on cuda: "
        f"the GPU is {speedup:.0f}x faster"
    )
    assert speedup > GPU_SPEEDUP_FLOOR


def test_a_real_cuda_out_of_memory_is_one_line(tmp_path: Path) -> None:
    """Batch 4096 with the process's CUDA memory capped (the allocator raises a real
    OutOfMemoryError at the cap): the user reads one line with the batch size to try."""
    total = torch.cuda.get_device_properties(0).total_memory
    fraction = min(1.0, OOM_CAP_BYTES / total)
    capped = (
        "import runpy, sys, torch; "
        "torch.cuda.set_per_process_memory_fraction(float(sys.argv[1])); "
        "sys.argv = ['workbench', *sys.argv[2:]]; "
        "runpy.run_module('workbench', run_name='__main__', alter_sys=True)"
    )
    line = commands.train(commands.WIDE, tmp_path / "oom", device="cuda", batch_size=4096, epochs=1)
    done = run_command(
        [sys.executable, "-c", capped, str(fraction), *line],
        env=workbench_environment(),
        timeout=300,
    )
    error = one_error_line(done)
    figure(f"a real CUDA out-of-memory (batch 4096, memory capped at 3 GiB): {error!r}")
    assert "ran out of memory at batch size 4096" in error
    assert "--batch-size 2048" in error


@pytest.mark.parametrize("amp", ["bf16", "fp16", "off"])
def test_mixed_precision_computes_in_the_asked_type(amp: str, tmp_path: Path) -> None:
    """A forward hook on every convolution and linear layer sees the autocast type, in
    training steps and in the per-epoch evaluation; the weights stay float32."""
    from workbench.core.catalogue import get_registry
    from workbench.core.train import TrainConfig, Trainer

    expected = {"bf16": torch.bfloat16, "fp16": torch.float16, "off": torch.float32}[amp]
    if amp == "bf16" and not torch.cuda.is_bf16_supported():
        expected = torch.float16  # the trainer falls back, with a note
    seen: dict[str, set[torch.dtype]] = {"train": set(), "eval": set()}

    def record(module: torch.nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        seen["train" if module.training else "eval"].add(output.dtype)

    model = get_registry().model("digits_cnn").build(seed=0)
    for layer in model.modules():
        if isinstance(layer, torch.nn.Conv2d | torch.nn.Linear):
            layer.register_forward_hook(record)  # copied with the model by the trainer
    config = TrainConfig(epochs=2, batch_size=64, device="cuda", amp=amp)
    data = get_registry().dataset("digits").load()
    result = Trainer(model, data, config, run_dir=tmp_path).fit()
    figure(
        f"--amp {amp}: layers computed in {sorted(str(t) for t in seen['train'])} while "
        f"training, {sorted(str(t) for t in seen['eval'])} in evaluation (and the shape check)"
    )
    assert seen["train"] == {expected}
    assert expected in seen["eval"]  # float32 too: the shape check before training
    assert {p.dtype for p in result.model.parameters()} == {torch.float32}
    assert result.metrics["val_accuracy"] > 0.8
