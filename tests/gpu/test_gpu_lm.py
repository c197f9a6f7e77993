"""Language models on CUDA (issue 23's GPU rows): tiny_lm trains on the GPU, then FP16
and INT4 weight-only are measured on ONNX Runtime's CUDA provider against FP32, by
perplexity on stdlib-text's validation split and ORT latency."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures import gpu_commands as commands
from gpu_env import CUDA_EP, figure, needs_cuda, require_ort_cuda, workbench_json

pytestmark = needs_cuda

LM = "zoo:tiny_lm:width=64,layers=2"
LM_ARCH = "tiny_lm:width=64,layers=2"
# FP16 rounds activations only a little; INT4 is the issue's +5 % of FP32.
PERPLEXITY_BOUND = {"fp16": 1.01, "int4": 1.05}


@pytest.fixture(scope="module")
def trained_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny_lm")
    line = commands.train(LM, out, device="cuda", data="stdlib-text", epochs=1)
    result, stderr = workbench_json(line, timeout=900)
    assert "training on cuda" in stderr
    assert result["metrics"]["val_perplexity"] < 400  # of 2,048 tokens: it learned
    return out / "model.pt"


@pytest.mark.parametrize("method", ["fp16", "int4"])
def test_lm_quantized_on_cuda_keeps_perplexity(method: str, trained_lm: Path, tmp_path) -> None:
    require_ort_cuda()
    folder = tmp_path / method
    line = commands.quantize(
        trained_lm, folder, method=method, device="cuda", arch=LM_ARCH, batches=(1, 8)
    )
    result, _ = workbench_json(line, timeout=600)
    recorded = json.loads((folder / "variant.json").read_text())["metrics"]
    for metrics in (result["metrics"], recorded):
        for side in ("before", "after"):
            assert metrics[side]["provider"] == CUDA_EP
    metrics = result["metrics"]
    before, after = metrics["before"]["perplexity"], metrics["after"]["perplexity"]
    assert after <= PERPLEXITY_BOUND[method] * before
    speed = ", ".join(f"{s:.2f}x at batch {b}" for b, s in metrics["ratios"]["speedup"].items())
    figure(
        f"quantize --method {method} --device cuda ({LM}, 1 epoch on stdlib-text): "
        f"perplexity {before:.1f} -> {after:.1f}; {metrics['ratios']['size_ratio']:.2f}x "
        f"smaller; speed {speed}"
    )
