"""What a lower precision is worth on the device it was measured on, read off the figures.

Static INT8 is stored as QuantizeLinear/DequantizeLinear (QDQ) pairs around float ops.
It is fast only where a provider fuses each pair with its op into an int8 kernel: ONNX
Runtime's CPU provider (VNNI or AMX make that pay) and TensorRT. ONNX Runtime's CUDA
execution provider runs the pairs as they stand and the ops in float, so INT8 there is
slower than float32 (0.57x at batch 1, 0.77x at 256 on an H200). FP16 is the GPU's
precision (tensor cores), but a model that keeps float32 inputs and outputs gains Cast
nodes at both ends, and at batch 1 each kernel is so short that launches and casts cost
more than the halved arithmetic saves (0.75x at batch 1, 1.29x at 256 there). On a CPU,
float16 has no fast kernels at all.

Every piece of advice here is derived from recorded conditions (provider, device,
batch) and speed-ups, never from the machine the advice is read on, so a record written
on a GPU machine reads the same anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from workbench.core.measure.conditions import CUDA_PROVIDER, TENSORRT_PROVIDER, Conditions
from workbench.core.measure.metrics import Metrics

INT8, FP16 = "int8", "fp16"
SAME_WITHIN = 0.05  # speed-ups within ±5% of 1 count as "not faster" (run-to-run noise)
SMALL_BATCH = 8  # at or below this, a GPU kernel is mostly launch overhead
# the recipe step's pass -> the precision it leaves
PASS_PRECISION = {
    "quantize-static": INT8,
    "quantize-dynamic": INT8,
    "quantize-torch-dynamic": INT8,
    "quantize-fp16": FP16,
}


@dataclass(frozen=True)
class Advice:
    text: str
    figure: str  # the measured figures it rests on, as they read


def precision_of_pass(pass_name: str | None) -> str | None:
    return PASS_PRECISION.get(pass_name or "")


def speedups_text(speedups: Mapping[int, float], conditions: Conditions) -> str:
    shown = ", ".join(f"{s:.2f}x at b{b}" for b, s in sorted(speedups.items()))
    return f"{shown} vs float32 on {conditions.label()}"


def advise(
    precision: str,
    conditions: Conditions,
    speedups: Mapping[int, float],
    *,
    casts: int | None = None,
    environment: Mapping[str, Any] | None = None,
) -> list[Advice]:
    """Advice for a model of ``precision`` measured under ``conditions``; ``speedups``
    is float32 p50 / this model's p50 per batch size (above 1: faster). ``casts`` is
    the Cast nodes in its graph, ``environment`` the record's machine description."""
    if not speedups:
        return []
    figure = speedups_text(speedups, conditions)
    slow = {b: s for b, s in speedups.items() if s < 1 + SAME_WITHIN}
    if precision == INT8 and conditions.provider == CUDA_PROVIDER and slow:
        return [
            Advice(
                "INT8 in QDQ form runs dequantized on ONNX Runtime's CUDA execution "
                "provider: it has no int8 kernels for the Q/DQ pairs, so each op runs in "
                "float after a DequantizeLinear and the model is no faster than float32; "
                "INT8 pays through TensorRT (bench --tensorrt) or on the CPU",
                figure,
            )
        ]
    if precision == INT8 and not conditions.on_gpu and slow and environment:
        flags = environment.get("cpu_flags") or []
        if not (environment.get("vnni") or environment.get("amx")) and "asimddp" not in flags:
            return [
                Advice(
                    f"this CPU ({environment.get('cpu') or 'model not recorded'}) has no VNNI "
                    "or AMX, so int8 products are barely cheaper than float ones; static "
                    "INT8 pays on CPUs that have them",
                    figure,
                )
            ]
    if precision == FP16 and conditions.on_gpu and conditions.provider != TENSORRT_PROVIDER:
        return _fp16_on_gpu(speedups, figure, casts)
    if precision == FP16 and not conditions.on_gpu and slow:
        return [
            Advice(
                "float16 has no fast kernels on CPUs: the CPU provider runs it through "
                "casts to float32, so FP16 is a GPU format",
                figure,
            )
        ]
    return []


def _fp16_on_gpu(speedups: Mapping[int, float], figure: str, casts: int | None) -> list[Advice]:
    small = [b for b in sorted(speedups) if b <= SMALL_BATCH and speedups[b] < 1 - SAME_WITHIN]
    if not small:
        return []
    gains = [b for b in sorted(speedups) if speedups[b] > 1 + SAME_WITHIN]
    at = ", ".join(f"{b}" for b in small)
    where = f" ({casts} Cast nodes in the graph)" if casts else ""
    text = (
        f"FP16 loses at batch {at}: the Cast nodes that keep the float32 inputs and "
        f"outputs{where} and a kernel launch per op cost more than the halved arithmetic "
        "saves on so little work"
    )
    if gains:
        text += f"; it pays from batch {gains[0]} on, so use it for batched inference"
    else:
        text += "; measure larger batches (--batch 1,64,256) to see where it pays"
    return [Advice(text, figure)]


def recommendation(conditions: Conditions) -> str:
    """What to choose on the device ``conditions`` describe, as a sentence."""
    if conditions.on_gpu:
        return (
            f"on {conditions.device or 'the GPU'}: choose FP16 (tensor cores), best at "
            "larger batches; INT8 only through TensorRT, not on the CUDA provider"
        )
    return (
        f"on {conditions.device or 'the CPU'}: choose static INT8 (QDQ), fastest with VNNI "
        "or AMX; FP16 does not pay on CPUs"
    )


def speedups_of(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict:
    """Batch -> before p50 / after p50 from two ``Measured`` records (JSON keys are text)."""
    old = (before or {}).get("latency_ms") or {}
    new = (after or {}).get("latency_ms") or {}
    return {int(b): float(old[b]) / float(new[b]) for b in old if new.get(b) and old[b]}


def measured_conditions(measured: Mapping[str, Any] | None) -> Conditions | None:
    """The conditions a ``Measured`` record's latency was taken under (None: no latency)."""

    report = (measured or {}).get("latency")
    if not report:
        return None
    return Metrics.from_json({"latency": {"x": report}}).latency["x"].conditions


def from_record(
    step: Mapping[str, Any] | None, metrics: Mapping[str, Any], *, casts: int | None = None
) -> list[Advice]:
    """Advice from a quantized variant's record: its step names the precision, its
    "quantization" entry (or, in variant.json, its metrics) holds before and after."""
    precision = precision_of_pass((step or {}).get("pass"))
    record = metrics.get("quantization") or metrics
    conditions = measured_conditions(record.get("after"))
    if precision is None or conditions is None:
        return []
    speedups = speedups_of(record.get("before"), record.get("after"))
    environment = metrics.get("environment")
    return advise(precision, conditions, speedups, casts=casts, environment=environment)


def for_method_page(
    source_metrics: Mapping[str, Any] | None, quantized: Sequence[tuple[str, Mapping, Mapping]]
) -> list[str]:
    """Sentences for the quantization wizard's method page: what earlier quantized
    variants of this model measured (name, step, metrics each) and, for each device the
    model itself was benchmarked on, what to choose there."""

    lines = []
    for name, step, metrics in quantized:
        for advice in from_record(step, metrics):
            lines.append(f"{name} measured {advice.figure}: {advice.text}.")
    seen: list[Conditions] = []
    for report in Metrics.from_json(dict(source_metrics or {})).latency.values():
        conditions = report.conditions
        if conditions.on_gpu not in [c.on_gpu for c in seen]:
            seen.append(conditions)
    for conditions in sorted(seen, key=lambda c: not c.on_gpu):
        lines.append(f"Benchmarked on {conditions.label()}; {recommendation(conditions)}.")
    return lines


def recommended_method(source_metrics: Mapping[str, Any] | None) -> str | None:
    """ "fp16" when every benchmark of the model ran on a GPU, else None (no opinion)."""

    reports: Iterable[Any] = Metrics.from_json(dict(source_metrics or {})).latency.values()
    found = [r.conditions.on_gpu for r in reports]
    return "fp16" if found and all(found) else None
