"""Language-model quantization figures on ONNX Runtime's CPU provider, ratios from one run.

On a trained tiny_lm: INT4 weight-only (RTN, block 32) must make the MatMul weights
>= 3.5x smaller and keep perplexity within +5% of FP32; dynamic INT8 within +2%. The
forward latency at batch 1 (one window) and the tokens/s it gives are printed beside
FP32's; they are figures to read, not targets (a model this small is bound by
per-operator overhead, where MatMulNBits' unpacking does not pay).

Default mode: the test fixture's small model (width 64, 2 blocks, 32-token windows,
300 steps). ``WORKBENCH_LM_BENCH_FULL=1``: the default zoo tiny_lm (width 128, 4
blocks, 64-token windows) trained on all of stdlib-text first with its suggested
settings (minutes; ``fixtures.tiny_lm.full_tiny_lm``, shared with the other LM
benchmarks of the same run). Latencies come from ``quantize_variant``: FP32 and the quantized model
timed in 5 interleaved rounds, the speed-up being the median of the rounds' ratios.
"""

from __future__ import annotations

import dataclasses
import os

from fixtures.tiny_lm import CONTEXT, full_tiny_lm, small_text, trained_tiny_lm

from workbench.core.compress.quantization.workflow import quantize_variant
from workbench.core.io.loaded import InputSpec, LoadedModel
from workbench.core.lm.measure import measure_generation

FULL = os.environ.get("WORKBENCH_LM_BENCH_FULL") == "1"


def _free_axes(model: LoadedModel, context: int) -> LoadedModel:
    """Exported at ``context`` tokens with a free batch and sequence (the model's
    declared axes, what ONNX export reads)."""
    free = {name: {0: "batch", 1: "sequence"} for name in ("input_ids", "logits")}
    return dataclasses.replace(
        model, inputs=[InputSpec("input_ids", (1, context), "int64")],
        output_names=["logits"], dynamic_axes=free,
    )  # fmt: skip


def _full_model() -> tuple[LoadedModel, object]:
    run = full_tiny_lm()
    return _free_axes(run.model, 64), run.data


def test_int4_and_dynamic_int8_on_a_trained_tiny_lm() -> None:
    if FULL:
        model, data, context = *_full_model(), 64
    else:
        model, data, context = _free_axes(trained_tiny_lm(), CONTEXT), small_text(), CONTEXT
    settings = {"block_size": 32, "algorithm": "rtn", "error_samples": 0}
    int4 = quantize_variant(model, "int4", settings, data=data, seconds=1.0)
    int8 = quantize_variant(model, "dynamic", {"error_samples": 0}, data=data, seconds=1.0)
    fp32_ms = int4.before.latency_ms[1]
    print(f"\ntiny_lm ({'full' if FULL else 'test fixture'}), batch 1, {context} tokens, ORT CPU")
    print(f"  FP32: perplexity {int4.before.perplexity:.2f}, forward {fp32_ms:.3f} ms "
          f"({context / fp32_ms * 1000:,.0f} tokens/s)")  # fmt: skip
    for label, outcome in (("INT4 rtn b32", int4), ("INT8 dynamic", int8)):
        ratios, after = outcome.ratios(), outcome.after
        print(
            f"  {label}: MatMul weights {ratios['matmul_weight_ratio']:.2f}x smaller, "
            f"perplexity {after.perplexity:.2f} ({ratios['perplexity_change']:+.2%}), "
            f"forward {after.latency_ms[1]:.3f} ms "
            f"({context / after.latency_ms[1] * 1000:,.0f} tokens/s; "
            f"{ratios['speedup'][1]:.2f}x FP32's speed, median of 5 rounds)"
        )
    # Greedy decode (no KV cache) on one runtime: FP32 exported, INT4 and INT8 as made.
    fp32_speed = measure_generation(model, dataset=data.name)
    for label, made in (("FP32", model), ("INT4 rtn b32", int4.model), ("INT8", int8.model)):
        speed = fp32_speed if made is model else measure_generation(made, dataset=data.name)
        line = ", ".join(
            f"b{p.batch} {p.tokens_per_s:,.0f} tokens/s "
            f"({p.tokens_per_s / fp32_speed.points[i].tokens_per_s:.2f}x FP32)"
            for i, p in enumerate(speed.points)
        )
        print(f"  decode {label} ({speed.conditions.short()}): {line}")
    assert int4.ratios()["matmul_weight_ratio"] >= 3.5
    assert int4.ratios()["perplexity_change"] <= 0.05
    assert int8.ratios()["perplexity_change"] <= 0.02
