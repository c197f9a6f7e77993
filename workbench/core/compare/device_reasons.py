"""Reasons that depend on where a pair was measured: which conditions each side has
when none are shared, the pair under its other shared conditions (a GPU beside the
CPU), and what a lower precision is worth on that device (static INT8 on ONNX
Runtime's CUDA provider runs dequantized; FP16 loses at batch 1 on a GPU), read from
the recorded provider, device, batch sizes and figures (``quantization.advice``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from workbench.core.compare.table import Entry
from workbench.core.compress.quantization.advice import (
    FP16,
    INT8,
    advise,
    precision_of_pass,
    recommendation,
)
from workbench.core.measure.conditions import Conditions
from workbench.core.measure.metrics import LatencyReport, Metrics, ProfileTable, measured_under

Q_DQ = ("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear")
INT8_OPS = (
    "QLinearConv",
    "ConvInteger",
    "MatMulInteger",
    "QLinearMatMul",
    "QGemm",
    "DynamicQuantizeMatMul",
    "MatMulIntegerToFloat",
    "QAttention",
)


@dataclass
class Reason:
    text: str
    figure: str  # the measured figure it rests on, as it reads
    source: str  # latency | profile | environment | graph | facts


def report_for(metrics: Metrics, conditions: Conditions) -> LatencyReport:
    return next(r for r in metrics.latency.values() if r.conditions == conditions)


def no_common(variant: Entry, baseline: Entry, mv: Metrics, mb: Metrics) -> str:
    """Why no pair of figures compares: which conditions each side was measured under."""
    pair = f"{variant.name} vs {baseline.name}"
    hint = "measure both the same way (workbench compare --measure, or Model ▸ Benchmark)"
    on_v, on_b = measured_under(mv), measured_under(mb)
    if not on_v and not on_b:
        return f"{pair}: no latency measured on a common runtime: neither was benchmarked; {hint}"
    if not on_v or not on_b:
        measured, missing, on = (baseline, variant, on_b) if on_b else (variant, baseline, on_v)
        return (
            f"{pair}: no latency measured on a common runtime: {missing.name} has none "
            f"({measured.name} was measured with {on}); {hint}"
        )
    return (
        f"{pair}: no latency measured under the same conditions: {variant.name} was "
        f"measured with {on_v}; {baseline.name} with {on_b}; {hint}"
    )


def elsewhere(mv: Metrics, mb: Metrics, others: list) -> list[Reason]:
    """The same pair under the other conditions both were measured under (a GPU beside
    the CPU): the verdict can differ by device, so each is said."""
    reasons = []
    for conditions, batches in others:
        rv, rb = report_for(mv, conditions), report_for(mb, conditions)
        ratios = []
        for batch in batches:
            pv = next(p for p in rv.batches if p.batch == batch).latency.p50_ms
            pb = next(p for p in rb.batches if p.batch == batch).latency.p50_ms
            if pv:
                ratios.append(f"{pb / pv:.2f}× at b{batch}")
        reasons.append(
            Reason(
                f"measured on {conditions.label()} too: {', '.join(ratios)} the baseline's speed",
                f"p50 under {conditions.describe(batches)}",
                "latency",
            )
        )
    return reasons


def device_reasons(
    variant: Entry,
    baseline: Entry,
    mv: Metrics,
    mb: Metrics,
    conditions: Conditions,
    op_types: Iterable[str] | None,
    profile: ProfileTable | None,
) -> list[Reason]:
    """What the variant's precision is worth on the device it was measured on (INT8 on
    the CUDA provider, FP16 at batch 1; see ``quantization.advice``), against a float32
    baseline only: against another low-precision model the advice would not hold."""

    precision = precision_of(variant, mv, mb, op_types, profile)
    if precision is None or precision_of(baseline, mb, mv, None, None) is not None:
        return []
    rv, rb = report_for(mv, conditions), report_for(mb, conditions)
    speedups = {}
    for point in rv.batches:
        base = next((p for p in rb.batches if p.batch == point.batch), None)
        if base is not None and point.latency.p50_ms:
            speedups[point.batch] = base.latency.p50_ms / point.latency.p50_ms
    ops = list(op_types or ()) or [o.op_type for o in (profile.op_types if profile else [])]
    casts = sum(1 for op in ops if op == "Cast") if op_types is not None else None
    # No environment: on a CPU, explain's own reason names the missing VNNI/AMX.
    found = advise(precision, conditions, speedups, casts=casts)
    reasons = [Reason(a.text, a.figure, "latency") for a in found]
    if reasons:
        reasons.append(Reason(recommendation(conditions), conditions.describe(), "environment"))
    return reasons


def precision_of(
    entry: Entry, mine: Metrics, other: Metrics, op_types, profile: ProfileTable | None
) -> str | None:
    """ "int8", "fp16" or None (float32, or not known): from the recipe step that made
    the variant, else its graph's ops, else its bytes per parameter against ``other``."""

    found = precision_of_pass((entry.step or {}).get("pass"))
    if found is not None:
        return found
    ops = set(op_types or ())
    if profile is not None:
        ops |= {o.op_type for o in profile.op_types}
    if ops & (set(INT8_OPS) | set(Q_DQ)):
        return INT8
    fv, fo = mine.facts, other.facts
    if fv and fo and fv.parameters and fo.parameters and fo.weights_bytes:
        ratio = (fv.weights_bytes / fv.parameters) / (fo.weights_bytes / fo.parameters)
        if ratio < 0.35:
            return INT8
        if ratio < 0.6:
            return FP16
    return None
