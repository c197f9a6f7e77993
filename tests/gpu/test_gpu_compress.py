"""Compression on CUDA (issue 20's table): distillation with its baseline and structured
pruning with fine-tuning train on the GPU; FP16 and static INT8 are measured on ONNX
Runtime's CUDA provider and recorded with it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures import gpu_commands as commands
from gpu_env import CUDA_EP, figure, needs_cuda, require_ort_cuda, workbench_json

pytestmark = needs_cuda


@pytest.fixture(scope="module")
def teacher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The digits CNN trained on CUDA (a teacher worth distilling: ~98 %)."""
    out = tmp_path_factory.mktemp("teacher")
    line = commands.train(commands.SMALL, out, device="cuda", data=commands.SMALL_DATA, epochs=8)
    result, _ = workbench_json(line)
    assert result["metrics"]["val_accuracy"] > 0.9
    return out / "model.pt"


def test_distillation_with_a_baseline_trains_on_cuda(teacher: Path, tmp_path: Path) -> None:
    summary, stderr = workbench_json(commands.distill(teacher, tmp_path / "kd", device="cuda"))
    assert stderr.count("training on cuda") == 2  # the student, then the baseline
    assert summary["student_parameters"] < summary["teacher_parameters"]
    assert summary["teacher_accuracy"] > 0.9
    assert summary["student_accuracy"] > 0.8 and summary["baseline_accuracy"] > 0.5
    figure(
        f"distill --device cuda --baseline (digits CNN, a pruned half, 2 epochs): student "
        f"{summary['student_accuracy']:.1%}, baseline {summary['baseline_accuracy']:.1%}, "
        f"teacher {summary['teacher_accuracy']:.1%}; {summary['seconds']:.1f} s"
    )


def test_structured_pruning_fine_tunes_on_cuda(teacher: Path, tmp_path: Path) -> None:
    result, stderr = workbench_json(commands.prune(teacher, tmp_path / "pruned", device="cuda"))
    metrics = result["metrics"]
    assert "training on cuda" in stderr
    assert metrics["params_after"] < metrics["params_before"] / 2
    assert metrics["finetune"]["epochs"] == 1
    assert metrics["after"]["accuracy"] > 0.8
    figure(
        f"prune --structured --finetune-epochs 1 --device cuda (digits CNN, half the "
        f"channels): {metrics['params_before']:,} -> {metrics['params_after']:,} parameters, "
        f"accuracy {metrics['before']['accuracy']:.1%} -> {metrics['after']['accuracy']:.1%}"
    )


def _quantized(method: str, wide_training, folder: Path) -> tuple[dict, dict]:
    """(--json metrics, variant.json metrics) of quantizing the trained wide ResNet."""
    require_ort_cuda()
    _, _, trained = wide_training("cuda", "off", 3)
    line = commands.quantize(
        trained / "model.pt", folder, method=method, device="cuda", arch=commands.WIDE_ARCH
    )
    result, _ = workbench_json(line, timeout=600)
    recorded = json.loads((folder / "variant.json").read_text())["metrics"]
    for metrics in (result["metrics"], recorded):
        for side in ("before", "after"):
            assert metrics[side]["provider"] == CUDA_EP
            assert metrics[side]["latency"]["provider"] == CUDA_EP
            assert metrics[side]["accuracy"]["provider"] == CUDA_EP
    return result["metrics"], recorded


def _figures(method: str, metrics: dict) -> str:
    ratios = metrics["ratios"]
    speed = ", ".join(f"{s:.2f}x at batch {b}" for b, s in ratios["speedup"].items())
    return (
        f"quantize --method {method} --device cuda ({commands.WIDE}, trained): "
        f"{ratios['size_ratio']:.2f}x smaller; speed {speed}; top-1 "
        f"{metrics['before']['top1']:.1%} -> {metrics['after']['top1']:.1%}; "
        f"measured on {metrics['after']['provider']}"
    )


def test_fp16_on_the_cuda_provider(wide_training, tmp_path: Path) -> None:
    metrics, _ = _quantized("fp16", wide_training, tmp_path / "fp16")
    figure(_figures("fp16", metrics))
    ratios = metrics["ratios"]
    assert 1.8 < ratios["size_ratio"] < 2.1
    assert abs(ratios["top1_change_points"]) < 1.0
    assert set(ratios["speedup"]) == {"1", "256"}
    assert ratios["speedup"]["256"] > 1.0  # tensor cores: FP16 is the GPU's choice in bulk


def test_static_int8_on_the_cuda_provider(wide_training, tmp_path: Path) -> None:
    """The figures are printed and recorded with the provider; that INT8 runs no faster
    there (QDQ runs dequantized on the CUDA provider) is what the advice must say."""
    metrics, _ = _quantized("static", wide_training, tmp_path / "int8")
    figure(_figures("static", metrics))
    ratios = metrics["ratios"]
    assert ratios["size_ratio"] > 3.0
    assert ratios["top1_change_points"] > -5.0
    assert set(ratios["speedup"]) == {"1", "256"}
