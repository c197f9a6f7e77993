"""Why is a variant (not) faster than its baseline? Reasons read off measured figures.

Fewer MACs or int8 weights do not make a model faster by themselves: at batch 1 a
small model is dominated by per-run overhead; QuantizeLinear/DequantizeLinear pairs
that ONNX Runtime did not fuse cost time of their own; int8 matrix products need VNNI
or AMX (x86) or dot-product instructions (ARM) to beat float; a provider may run float
kernels anyway; and reshapes, copies and element-wise ops are bound by memory, not
arithmetic. Each ``Reason`` names the figure it rests on (latency, profile, environment,
graph, facts); with no figure to go on, the explanation says what to measure instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from workbench.core.compare.device_reasons import (
    INT8_OPS,
    Q_DQ,
    Reason,
    device_reasons,
    elsewhere,
    no_common,
    report_for,
)
from workbench.core.compare.table import Entry
from workbench.core.measure.metrics import LatencyReport, Metrics, ProfileTable, common
from workbench.core.units import human_bytes, human_count

FASTER, NOT_FASTER, SLOWER, UNKNOWN = "faster", "not faster", "slower", "unknown"
SAME_WITHIN = 0.05  # p50 ratios within ±5% count as "not faster" (run-to-run noise)
FLOAT_HEAVY = ("Conv", "FusedConv", "Gemm", "FusedGemm", "MatMul", "FusedMatMul", "NchwcConv")
MEMORY_BOUND = (
    "Transpose",
    "Reshape",
    "Concat",
    "Split",
    "Slice",
    "Gather",
    "Identity",
    "Cast",
    "Add",
    "Mul",
    "Sub",
    "Div",
    "Relu",
    "Clip",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "ReorderInput",
    "ReorderOutput",
    "Flatten",
    "Squeeze",
    "Unsqueeze",
    "Expand",
    "Pad",
    "Sigmoid",
    "Softmax",
    "LayerNormalization",
    *Q_DQ,
)
# op types the profile groups under one heading, so "Conv gained" covers QLinearConv too
KERNEL_FAMILY = {
    **{op: "Conv" for op in ("QLinearConv", "ConvInteger", "FusedConv", "NchwcConv")},
    **{
        op: "MatMul/Gemm"
        for op in (
            "MatMul",
            "Gemm",
            "FusedGemm",
            "FusedMatMul",
            "MatMulInteger",
            "QLinearMatMul",
            "QGemm",
            "DynamicQuantizeMatMul",
            "MatMulIntegerToFloat",
        )
    },
}
LOW_RATE_GMACS = 10.0  # below this a CPU is not compute-bound (a core does tens of GMAC/s)


@dataclass
class Explanation:
    variant: str
    baseline: str
    verdict: str  # faster | not faster | slower | unknown
    headline: str
    reasons: list[Reason] = field(default_factory=list)

    def to_text(self) -> str:
        lines = [self.headline]
        lines += [f"  - {r.text} [{r.source}: {r.figure}]" for r in self.reasons]
        return "\n".join(lines)


def explain(
    variant: Entry,
    baseline: Entry,
    *,
    op_types: Iterable[str] | None = None,
    runtime: str | None = None,
) -> Explanation:
    """Why ``variant`` is or is not faster than ``baseline``.

    ``op_types`` are the op types of the variant's graph (to count Q/DQ nodes when no
    profile was taken); ``runtime`` picks the latency report (default: ort if both have it).
    """
    mv, mb = Metrics.from_json(variant.metrics), Metrics.from_json(baseline.metrics)
    shared = common(mv, mb)
    if runtime is not None:
        shared = [(c, b) for c, b in shared if c.runtime == runtime]
    if not shared:
        return Explanation(
            variant.name, baseline.name, UNKNOWN, no_common(variant, baseline, mv, mb)
        )
    conditions, batches = shared[0]
    rv, rb = report_for(mv, conditions), report_for(mb, conditions)
    batch = batches[0]
    pv = next(p for p in rv.batches if p.batch == batch).latency.p50_ms
    pb = next(p for p in rb.batches if p.batch == batch).latency.p50_ms
    ratio = pv / pb if pb else 1.0
    # CPU figures with default threads read as before ("p50 ort b1"); others say where.
    at = conditions.runtime if conditions.row_key == conditions.runtime else conditions.label()
    where = f"p50 {at} b{batch}: {pb:.3f} → {pv:.3f} ms"
    lighter = _lighter(mv, mb, variant.name, baseline.name, op_types, rv.profile)
    if ratio <= 1 - SAME_WITHIN:
        verdict = FASTER
        headline = f"{variant.name} is {1 / ratio:.2f}× faster than {baseline.name} ({where})"
    else:
        verdict = SLOWER if ratio >= 1 + SAME_WITHIN else NOT_FASTER
        what = "slower than" if verdict == SLOWER else "not faster than"
        though = f" although it has {' and '.join(lighter)}" if lighter else ""
        headline = f"{variant.name} is {what} {baseline.name}{though} ({where})"
    result = Explanation(variant.name, baseline.name, verdict, headline)
    device = device_reasons(variant, baseline, mv, mb, conditions, op_types, rv.profile)
    if verdict == FASTER:
        result.reasons = [*device, *_gains(mv, mb, rv, rb)]
    else:
        result.reasons = [*device, *_not_faster(mv, rv, batch, pv, lighter, op_types)]
        if not result.reasons:
            result.reasons.append(
                Reason(
                    "no measured figure explains it; benchmark both with --profile (per-op "
                    "times) and at larger batches (--batch 1,32)",
                    where,
                    "latency",
                )
            )
    result.reasons += elsewhere(mv, mb, shared[1:])
    return result


def _lighter(mv: Metrics, mb: Metrics, name: str, base: str, op_types, profile) -> list[str]:
    """What makes the variant lighter than the baseline, as measured ('75% fewer MACs')."""
    found = []
    fv, fb = mv.facts, mb.facts
    if fv and fb and fv.macs and fb.macs and fv.macs < 0.98 * fb.macs:
        found.append(f"{1 - fv.macs / fb.macs:.0%} fewer MACs")
    if _is_low_precision(mv, mb, op_types, profile):
        found.append("lower-precision weights")
    return found


def _is_low_precision(mv: Metrics, mb: Metrics, op_types, profile: ProfileTable | None) -> bool:
    ops = set(op_types or ())
    if profile is not None:
        ops |= {o.op_type for o in profile.op_types}
    if ops & set(INT8_OPS) or ops & set(Q_DQ):
        return True
    fv, fb = mv.facts, mb.facts
    if fv and fb and fv.parameters and fb.parameters:
        return fv.weights_bytes / fv.parameters < 0.6 * fb.weights_bytes / fb.parameters
    return False


def _not_faster(mv: Metrics, rv: LatencyReport, batch: int, pv: float, lighter, op_types):
    reasons: list[Reason] = []
    profile = rv.profile
    low_precision = "lower-precision weights" in lighter
    # 1. too small a batch to be compute-bound
    if batch <= 8:
        reasons += _small_batch(mv, rv, batch, pv)
    # 2. Q/DQ pairs left unfused
    if profile is not None:
        qdq = [o for o in profile.op_types if o.op_type in Q_DQ]
        share = sum(o.share for o in qdq)
        if share >= 0.05:
            figure = ", ".join(f"{o.op_type} ×{o.nodes} {o.share:.0%}" for o in qdq)
            reasons.append(
                Reason(
                    f"QuantizeLinear/DequantizeLinear nodes left unfused take {share:.0%} of the "
                    f"kernel time",
                    figure,
                    "profile",
                )
            )
    elif op_types is not None:
        count = sum(1 for op in op_types if op in Q_DQ)
        if count:
            reasons.append(
                Reason(
                    f"the graph holds {count} QuantizeLinear/DequantizeLinear nodes; without a "
                    "profile (--profile) it is not known whether ONNX Runtime fused them",
                    f"{count} Q/DQ nodes counted in the graph",
                    "graph",
                )
            )
    # 3. no int8 dot-product instructions (a CPU matter: GPU figures are advised above)
    env = mv.environment or {}
    if low_precision and env and not rv.conditions.on_gpu:
        flags = env.get("cpu_flags") or []
        arm = str(env.get("machine", "")).lower() in ("aarch64", "arm64")
        has = (
            any(f in flags for f in ("asimddp", "i8mm"))
            if arm
            else env.get("vnni") or env.get("amx")
        )
        if not has:
            wanted = "dot-product (asimddp/i8mm)" if arm else "VNNI or AMX"
            reasons.append(
                Reason(
                    f"this CPU has no {wanted} instructions, so int8 matrix products are not "
                    "much cheaper than float ones",
                    f"CPU {env.get('cpu') or '?'}, flags {', '.join(flags) or 'none read'}",
                    "environment",
                )
            )
    # 4. float kernels (or another provider) did the heavy work
    if profile is not None and low_precision:
        floats = [o for o in profile.op_types if o.op_type in FLOAT_HEAVY]
        ints = sum(o.share for o in profile.op_types if o.op_type in INT8_OPS)
        share = sum(o.share for o in floats)
        if share >= 0.25 and share > ints:
            figure = ", ".join(f"{o.op_type} {o.share:.0%}" for o in floats)
            reasons.append(
                Reason(
                    f"float kernels still do the heavy work ({share:.0%} of kernel time; int8 "
                    f"kernels {ints:.0%}): {rv.provider} fell back to float",
                    figure,
                    "profile",
                )
            )
    if profile is not None:
        other = [n for n in profile.nodes if n.provider and n.provider not in (rv.provider, "?")]
        share = sum(n.share for n in other)
        if other and share >= 0.05:
            providers = sorted({n.provider for n in other})
            reasons.append(
                Reason(
                    f"{len(other)} nodes ran on {', '.join(providers)} instead of {rv.provider}",
                    f"{share:.0%} of kernel time",
                    "profile",
                )
            )
    # 5. memory-bound ops dominate
    if profile is not None:
        bound = [o for o in profile.op_types if o.op_type in MEMORY_BOUND]
        share = sum(o.share for o in bound)
        if share >= 0.5:
            top = sorted(bound, key=lambda o: -o.share)[:4]
            reasons.append(
                Reason(
                    f"memory-bound ops (copies, reshapes, element-wise) take {share:.0%} of the "
                    "kernel time; fewer MACs do not shorten them",
                    ", ".join(f"{o.op_type} {o.share:.0%}" for o in top),
                    "profile",
                )
            )
    return reasons


def _small_batch(mv: Metrics, rv: LatencyReport, batch: int, pv: float) -> list[Reason]:
    reasons = []
    points = sorted(rv.batches, key=lambda p: p.batch)
    if len(points) > 1 and points[0].batch == batch:
        gain = points[-1].samples_per_s / points[0].samples_per_s
        if gain >= 1.5:
            reasons.append(
                Reason(
                    f"at batch {batch} per-run overhead dominates: throughput rises {gain:.1f}× "
                    f"by batch {points[-1].batch}",
                    f"{points[0].samples_per_s:,.0f}/s at b{batch}, "
                    f"{points[-1].samples_per_s:,.0f}/s at b{points[-1].batch}",
                    "latency",
                )
            )
            return reasons
    profile = rv.profile
    if profile is not None and profile.run_ms > 0:
        overhead = 1 - profile.node_total_ms / profile.run_ms
        if overhead >= 0.3:
            reasons.append(
                Reason(
                    f"{overhead:.0%} of each run is session overhead outside the kernels: batch "
                    f"{batch} is too small to be compute-bound",
                    f"kernels {profile.node_total_ms:.3f} of {profile.run_ms:.3f} ms per run",
                    "profile",
                )
            )
            return reasons
    macs = mv.facts.macs if mv.facts else None
    if macs and pv > 0:
        rate = macs * batch / (pv / 1e3) / 1e9
        if rate < LOW_RATE_GMACS:
            reasons.append(
                Reason(
                    f"batch {batch} is too small to be compute-bound: the run computes only "
                    f"{rate:.2f} GMAC/s, so fixed per-run costs dominate (try --batch 1,32)",
                    f"{human_count(macs * batch)} MACs in {pv:.3f} ms",
                    "latency",
                )
            )
    return reasons


def _gains(mv: Metrics, mb: Metrics, rv: LatencyReport, rb: LatencyReport) -> list[Reason]:
    if rv.profile is not None and rb.profile is not None:
        before, after = _by_family(rb.profile), _by_family(rv.profile)
        deltas = sorted(
            (after.get(op, 0.0) - before.get(op, 0.0), op) for op in set(before) | set(after)
        )
        reasons = [
            Reason(
                f"{op} kernels gained {-delta:.3f} ms per run",
                f"{before.get(op, 0.0):.3f} → {after.get(op, 0.0):.3f} ms/run",
                "profile",
            )
            for delta, op in deltas[:3]
            if delta < -0.0005  # below a microsecond is noise, not a gain
        ]
        if reasons:
            return reasons
    reasons = []
    fv, fb = mv.facts, mb.facts
    if fv and fb and fv.macs and fb.macs and fv.macs != fb.macs:
        reasons.append(
            Reason(
                "it computes fewer multiply-accumulates",
                f"MACs {human_count(fb.macs)} → {human_count(fv.macs)}",
                "facts",
            )
        )
    if fv and fb and fv.weights_bytes < fb.weights_bytes:
        reasons.append(
            Reason(
                "it reads fewer weight bytes per run",
                f"weights {human_bytes(fb.weights_bytes)} → {human_bytes(fv.weights_bytes)}",
                "facts",
            )
        )
    reasons.append(
        Reason(
            "benchmark both with --profile to see which op types gained",
            "no per-op profile for both",
            "profile",
        )
    )
    return reasons


def _by_family(table: ProfileTable) -> dict[str, float]:
    """ms per run by kernel family: share of kernel time x the median kernel time per run.

    Not ``mean_ms``: a mean over a few profiled runs on a shared machine can be a single
    stalled run (a Gemm "taking" 1.2 ms in a 0.05 ms model); the median total bounds it.
    """
    times: dict[str, float] = defaultdict(float)
    for op in table.op_types:
        times[KERNEL_FAMILY.get(op.op_type, op.op_type)] += op.share * table.node_total_ms
    return dict(times)


def explain_all(entries: list[Entry], baseline: int, op_types: dict[str, Any] | None = None):
    """An explanation for each entry but the baseline (``op_types`` by entry id)."""
    op_types = op_types or {}
    return [
        explain(e, entries[baseline], op_types=op_types.get(e.id))
        for i, e in enumerate(entries)
        if i != baseline
    ]
