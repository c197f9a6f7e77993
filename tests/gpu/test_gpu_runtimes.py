"""Measuring on CUDA (issue 20's table): `bench` with PyTorch and with ONNX Runtime's CUDA
provider, `eval` on that provider, and `--tensorrt` where TensorRT is missing."""

from __future__ import annotations

import ctypes.util
import importlib.util
import math
from collections.abc import Callable
from typing import Any

import pytest
from fixtures import gpu_commands as commands
from fixtures.cli import run_workbench
from gpu_env import (
    CUDA_EP,
    by_batch,
    figure,
    needs_cuda,
    one_error_line,
    require_ort_cuda,
    workbench_json,
)

pytestmark = needs_cuda


@pytest.fixture(scope="module")
def benched() -> Callable[[str], dict[str, Any]]:
    """``bench(runtime)``: `workbench bench` of the wide ResNet on cuda, each run once."""
    runs: dict[str, dict[str, Any]] = {}

    def bench(runtime: str) -> dict[str, Any]:
        if runtime not in runs:
            line = commands.bench(commands.WIDE, runtime=runtime, device="cuda")
            payload, _ = workbench_json(line)
            reports = payload["results"][0]["latency"]  # keyed "ort@cuda:0" off the CPU
            runs[runtime] = next(v for k, v in reports.items() if k.split("@")[0] == runtime)
            runs[runtime]["environment"] = payload["environment"]
        return runs[runtime]

    return bench


def _figures(report: dict[str, Any]) -> str:
    points = by_batch(report)
    return (
        f"{points[1]['latency']['p50_ms']:.2f} ms at batch 1, "
        f"{points[256]['samples_per_s']:,.0f} samples/s at 256"
    )


def _check_batches(report: dict[str, Any]) -> None:
    points = by_batch(report)
    assert set(points) == set(commands.BATCHES)
    assert all(p["latency"]["p50_ms"] > 0 for p in points.values())
    # What a GPU is for: a batch of 256 costs far less than 256 batches of one.
    assert points[256]["samples_per_s"] > 10 * points[1]["samples_per_s"]


def test_bench_torch_on_cuda(benched) -> None:
    report = benched("torch")
    assert report["provider"].startswith("cuda")
    assert report["cuda_max_allocated_bytes"] > 0
    _check_batches(report)
    figure(f"bench {commands.WIDE} --runtime torch --device cuda: {_figures(report)}")


def test_bench_ort_runs_on_the_cuda_provider(benched) -> None:
    require_ort_cuda()
    report = benched("ort")
    assert report["provider"] == CUDA_EP
    assert report["environment"]["provider"] == CUDA_EP
    _check_batches(report)
    torch_points, ort_points = by_batch(benched("torch")), by_batch(report)
    latency = torch_points[1]["latency"]["p50_ms"] / ort_points[1]["latency"]["p50_ms"]
    throughput = ort_points[256]["samples_per_s"] / torch_points[256]["samples_per_s"]
    figure(
        f"bench {commands.WIDE} --runtime ort --device cuda: {_figures(report)} on {CUDA_EP}; "
        f"ORT CUDA against torch CUDA: {latency:.2f}x the speed at batch 1, "
        f"{throughput:.2f}x the throughput at 256"
    )


def test_eval_ort_on_the_cuda_provider_scores_as_training_did(wide_training) -> None:
    """ONNX Runtime on CUDA, on the exported trained model, scores the validation split
    as the trainer's own PyTorch evaluation did."""
    require_ort_cuda()
    trained, _, folder = wide_training("cuda", "off", 3)
    line = commands.evaluate(
        folder / "model.pt", runtime="ort", device="cuda", arch=commands.WIDE_ARCH
    )
    result, _ = workbench_json(line)
    score = result["accuracy"]["ort"]
    assert score["provider"] == CUDA_EP
    assert math.isfinite(score["loss"])
    expected = trained["metrics"]["val_accuracy"]
    figure(
        f"eval --runtime ort --device cuda: top-1 {score['top1']:.2%} on {score['samples']:,} "
        f"samples on {score['provider']} (PyTorch during training: {expected:.2%})"
    )
    assert score["top1"] == pytest.approx(expected, abs=0.01)


def test_tensorrt_without_tensorrt_is_one_line() -> None:
    if importlib.util.find_spec("tensorrt") or ctypes.util.find_library("nvinfer"):
        pytest.skip("TensorRT is installed here; this row is about a machine without it")
    line = commands.bench(commands.SMALL, runtime="ort", device="cuda", batches=(1,), tensorrt=True)
    done = run_workbench(*line)
    error = one_error_line(done)
    figure(f"bench --tensorrt without TensorRT: {error!r}")
    assert "TensorRT" in error
