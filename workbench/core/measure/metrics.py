"""What a measurement produced, as plain dataclasses that round-trip through JSON.

Every figure a variant carries (latency, throughput, memory, size, accuracy, agreement,
export parity) is one of these, stored under ``Variant.metrics`` by ``store_metrics`` so
the compare view and ``project.json`` read one shape. Times are milliseconds, sizes bytes.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.core.measure.conditions import Conditions, FiledByConditions, preference
from workbench.core.measure.generation import (
    GenerationReport,
    generation_from_json,
    generation_rows,
)
from workbench.core.units import human_bytes, human_count


@dataclass
class LatencyStats:
    """Summary of one series of timed runs (milliseconds per run)."""

    runs: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    std_ms: float
    min_ms: float
    max_ms: float

    @classmethod
    def from_seconds(cls, samples: Sequence[float]) -> LatencyStats:
        """Stats of per-run durations given in seconds; empty input is a bug, not zeros."""
        import numpy as np

        if not len(samples):
            raise ValueError("no timed runs to summarise")
        ms = np.asarray(samples, dtype=np.float64) * 1e3
        p50, p90, p99 = np.percentile(ms, [50, 90, 99])
        return cls(
            runs=int(ms.size),
            p50_ms=float(p50),
            p90_ms=float(p90),
            p99_ms=float(p99),
            mean_ms=float(ms.mean()),
            std_ms=float(ms.std(ddof=1)) if ms.size > 1 else 0.0,
            min_ms=float(ms.min()),
            max_ms=float(ms.max()),
        )


@dataclass
class BatchLatency:
    """Latency at one batch size, and the throughput it implies."""

    batch: int
    latency: LatencyStats
    samples_per_s: float  # batch / mean latency: every run counts, slow ones too


@dataclass
class NodeTime:
    """One runtime node in a profile: average time per run."""

    name: str  # the runtime's node name (after graph optimisation)
    op_type: str
    provider: str
    mean_ms: float
    share: float  # of the summed node time


@dataclass
class OpTypeTime:
    op_type: str
    nodes: int
    mean_ms: float
    share: float


@dataclass
class ProfileTable:
    """ONNX Runtime's per-node kernel times, averaged over the profiled runs."""

    runs: int
    nodes: list[NodeTime]
    op_types: list[OpTypeTime]
    node_total_ms: float  # median over runs of the run's summed node kernel times
    run_ms: float  # median of the profiler's own time per run (session overhead included)
    optimization: str  # graph optimisation level the profiled session used

    def share_by_name(self) -> dict[str, float]:
        """Runtime node name -> share of the node time (what the latency overlay reads)."""
        return {node.name: node.share for node in self.nodes}


@dataclass
class LatencyReport(FiledByConditions):
    """One runtime's latency of one model, at each batch size measured."""

    runtime: str  # "ort" or "torch"
    provider: str  # ORT execution provider, or the torch device ("cpu", "cuda:0")
    threads: int | None  # intra-op threads asked for; None: the runtime's default
    warmup: int
    min_runs: int
    min_seconds: float
    input_shapes: dict[str, list[int]]  # at the first batch size
    batches: list[BatchLatency]
    peak_rss_bytes: int | None = None
    rss_scope: str = ""  # "measurement" (peak reset before) or "process" (lifetime peak)
    cuda_max_allocated_bytes: int | None = None
    profile: ProfileTable | None = None
    notes: list[str] = field(default_factory=list)
    device: str | None = None  # "cpu", "cuda:0", "mps"; None in records older than it

    @property
    def latency(self) -> LatencyStats:
        """Stats at the first (usually smallest) batch size."""
        return self.batches[0].latency


@dataclass
class ModelFacts:
    """What a model is, independent of how fast it runs."""

    file_size: int | None  # bytes on disk; None when it came from no file (zoo)
    weights_bytes: int  # bytes of parameters, buffers or initializers
    parameters: int
    macs: int | None  # batch 1; None when the graph could not be traced
    sparsity: float  # fraction of weight elements that are exactly zero
    notes: list[str] = field(default_factory=list)


@dataclass
class Agreement:
    """How closely a variant follows its parent on the same samples."""

    parent: str
    samples: int
    top1_agreement: float | None  # None for regression outputs
    max_abs_diff: float
    mean_abs_diff: float


@dataclass
class AccuracyReport:
    """A variant on its task's validation data, on one runtime."""

    runtime: str
    provider: str
    dataset: str
    task: str  # "classification", "regression" or "language-modeling"
    samples: int
    top1: float | None = None
    loss: float | None = None  # mean cross-entropy (classification; per token for an LM)
    mse: float | None = None  # regression
    perplexity: float | None = None  # language modeling: exp(loss), lower is better
    token_accuracy: float | None = None  # language modeling: next-token top-1
    agreement: Agreement | None = None


@dataclass
class Metrics:
    """All measurements of one variant; missing parts were not measured (not zero)."""

    facts: ModelFacts | None = None
    environment: dict[str, Any] | None = None
    latency: dict[str, LatencyReport] = field(default_factory=dict)  # by Conditions.key
    accuracy: dict[str, AccuracyReport] = field(default_factory=dict)  # by runtime
    export: dict[str, Any] | None = None  # ExportReport.to_json()
    # a language model's prefill and decode tokens/s, by Conditions.key (core.lm.speed)
    generation: dict[str, GenerationReport] = field(default_factory=dict)

    def merge(self, other: Metrics) -> Metrics:
        """Newer measurements replace older ones of the same kind taken under the same
        conditions (latency) or on the same runtime (accuracy); the others stay."""
        return Metrics(
            facts=other.facts or self.facts,
            environment=other.environment or self.environment,
            latency={**self.latency, **other.latency},
            accuracy={**self.accuracy, **other.accuracy},
            export=other.export or self.export,
            generation={**self.generation, **other.generation},
        )

    def to_json(self) -> dict[str, Any]:
        return _clean(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Metrics:
        """Rebuild from ``to_json()`` output; unknown keys (newer files) are ignored."""
        data = data or {}
        return cls(
            facts=_build(ModelFacts, data.get("facts")),
            environment=data.get("environment"),
            latency={k: _latency(v) for k, v in (data.get("latency") or {}).items()},
            accuracy={k: _accuracy(v) for k, v in (data.get("accuracy") or {}).items()},
            export=data.get("export"),
            generation={
                k: generation_from_json(v) for k, v in (data.get("generation") or {}).items()
            },
        )


def store_metrics(variant: Any, metrics: Metrics) -> Metrics:
    """Merge ``metrics`` into ``variant.metrics`` (a plain dict, saved in project.json)."""
    merged = Metrics.from_json(variant.metrics).merge(metrics)
    # Keys that are not Metrics' own (a training run's plain figures: val_accuracy,
    # steps, ...) belong to whoever wrote them and stay as they are.
    own = {f.name for f in dataclasses.fields(Metrics)}
    kept = {k: v for k, v in (variant.metrics or {}).items() if k not in own}
    variant.metrics = {**kept, **merged.to_json()}
    return merged


def summary_rows(metrics: dict[str, Any] | Metrics) -> list[tuple[str, str]]:
    """(label, value) rows for the inspector's Metrics section, in reading order."""
    m = metrics if isinstance(metrics, Metrics) else Metrics.from_json(metrics)
    rows: list[tuple[str, str]] = []
    if m.facts:
        f = m.facts
        rows += [
            ("file size", human_bytes(f.file_size) if f.file_size else "—"),
            ("weights", human_bytes(f.weights_bytes)),
            ("parameters", f"{f.parameters:,}"),
            ("MACs (batch 1)", human_count(f.macs) if f.macs is not None else "—"),
            ("sparsity", f"{f.sparsity:.1%}"),
        ]
    for runtime, report in m.latency.items():
        conditions = report.conditions
        for point in report.batches:
            s = point.latency
            rows.append(
                (
                    f"latency {conditions.label(point.batch)}",
                    f"p50 {s.p50_ms:.3f} ms, p90 {s.p90_ms:.3f}, p99 {s.p99_ms:.3f}, "
                    f"{point.samples_per_s:,.1f}/s",
                )
            )
        if report.peak_rss_bytes:
            rows.append((f"peak RSS {runtime}", human_bytes(report.peak_rss_bytes)))
        if report.cuda_max_allocated_bytes:
            rows.append((f"CUDA peak {runtime}", human_bytes(report.cuda_max_allocated_bytes)))
    for report in m.generation.values():
        rows += generation_rows(report)
    for runtime, acc in m.accuracy.items():
        what = "perplexity" if acc.perplexity is not None else "accuracy"
        rows.append((f"{what} {runtime} ({acc.dataset}, {acc.samples})", _accuracy_text(acc)))
        if acc.agreement is not None:
            a = acc.agreement
            agree = f"top-1 {a.top1_agreement:.2%}, " if a.top1_agreement is not None else ""
            rows.append((f"vs {a.parent} ({runtime})", f"{agree}max |Δ| {a.max_abs_diff:.3g}"))
    if m.export:
        parity = m.export.get("parity") or {}
        verdict = "passed" if parity.get("passed") else "FAILED"
        rows.append(
            (
                "export",
                f"{m.export.get('path')} (parity {verdict}, "
                f"max |Δ| {parity.get('max_abs_diff', float('nan')):.3g})",
            )
        )
    return rows


def _accuracy_text(acc: AccuracyReport) -> str:
    """A language model's perplexity and next-token accuracy; a classifier's top-1."""
    if acc.perplexity is not None:
        text = f"perplexity {acc.perplexity:.4g} (lower is better)"
        if acc.token_accuracy is not None:
            text += f", next-token accuracy {acc.token_accuracy:.2%}"
        return text
    if acc.top1 is not None:
        text = f"top-1 {acc.top1:.2%}"
        if acc.loss is not None:  # pruning's before/after scores record no loss
            text += f", loss {acc.loss:.4f}"
        return text
    return f"MSE {acc.mse:.5g}" if acc.mse is not None else "—"


MAX_FIGURE_ROWS = 12  # a nested table longer than this (per-layer, per-node) is not listed
# Where a child's metrics keep what its run measured of its parent (core.measure.inherited):
# figures of another model, so never listed as the child's own.
PARENT_FIGURES = "parent_figures"
_FRACTIONS = ("accuracy", "agreement", "sparsity")  # figures shown as percentages


FigureRow = tuple[str, "str | list[FigureRow]"]  # a value, or a group of rows


def figure_rows(metrics: dict[str, Any] | None) -> list[FigureRow]:
    """(label, value) rows for the plain figures a pass or training run left beside
    ``Metrics``' own keys (val_accuracy, steps, a quantization's ratios, ...). A nested
    group of plain values becomes (name, its rows), up to two levels down; long tables
    are left to the views that draw them (the graph overlay, the pruning summary)."""
    own = {f.name for f in dataclasses.fields(Metrics)} | {PARENT_FIGURES}  # the parent's
    extra = {k: v for k, v in (metrics or {}).items() if k not in own}
    return _figure_rows(extra, depth=0)


def _figure_rows(group: dict[str, Any], depth: int) -> list[FigureRow]:
    rows: list[FigureRow] = []
    for key, value in group.items():
        label = str(key).replace("_", " ")
        if _plain(value):
            rows.append((label, _figure(str(key), value)))
        elif isinstance(value, dict) and len(value) <= MAX_FIGURE_ROWS and depth < 2:
            inner = _figure_rows(value, depth + 1)
            if inner:
                rows.append((label, inner))
    return rows


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _figure(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (bool, str)):
        return str(value)
    if any(word in key for word in _FRACTIONS) and 0.0 <= value <= 1.0:
        return f"{value:.2%}"
    return _with_unit(key.lower(), value)


def _with_unit(key: str, value: float) -> str:
    """A figure named by its key's unit: "teacher_size_bytes" 361700 -> "353.2 KiB",
    "macs_before" 1849000 -> "1.85 M", not 3.617e+05 and 1.849e+06."""
    if "ratio" in key or "speedup" in key:
        return f"{value:.3g}"
    if "bytes" in key:
        return human_bytes(int(value))
    if any(word in key for word in ("macs", "params", "parameters", "flops")):
        return human_count(value)
    if key.endswith("_ms") or key == "ms":
        return f"{value:.3f} ms"
    if "seconds" in key or key.endswith("_s"):
        return f"{value:.2f} s"
    return f"{value:,}" if isinstance(value, int) else f"{value:.4g}"


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: they become null rather than an invalid file."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _build(kind: type, data: dict[str, Any] | None) -> Any:
    if data is None:
        return None
    names = {f.name for f in dataclasses.fields(kind)}
    return kind(**{k: v for k, v in data.items() if k in names})


def _latency(data: dict[str, Any]) -> LatencyReport:
    report = _build(LatencyReport, data)
    report.batches = [
        BatchLatency(b["batch"], _build(LatencyStats, b["latency"]), b["samples_per_s"])
        for b in data.get("batches", [])
    ]
    profile = data.get("profile")
    if profile is not None:
        table = _build(ProfileTable, profile)
        table.nodes = [_build(NodeTime, n) for n in profile.get("nodes", [])]
        table.op_types = [_build(OpTypeTime, o) for o in profile.get("op_types", [])]
        report.profile = table
    return report


def _accuracy(data: dict[str, Any]) -> AccuracyReport:
    report = _build(AccuracyReport, data)
    report.agreement = _build(Agreement, data.get("agreement"))
    return report


Figures = dict[Conditions, dict[int, BatchLatency]]  # by conditions, then by batch


def figures(metrics: Metrics) -> Figures:
    """Every latency point of ``metrics``, by conditions, then by batch."""
    found: Figures = {}
    for report in metrics.latency.values():
        points = found.setdefault(Conditions.of(report), {})
        for point in report.batches:
            points[point.batch] = point
    return found


def common(a: Metrics, b: Metrics) -> list[tuple[Conditions, list[int]]]:
    """Conditions both were measured under, with the batch sizes both have, best first."""
    fa, fb = figures(a), figures(b)
    shared = []
    for conditions in sorted(set(fa) & set(fb), key=preference):
        batches = sorted(set(fa[conditions]) & set(fb[conditions]))
        if batches:
            shared.append((conditions, batches))
    return shared


def measured_under(metrics: Metrics) -> str:
    """Each set of conditions ``metrics`` holds latencies for, "; "-separated; "" if none."""
    found = figures(metrics)
    return "; ".join(
        c.describe(points) for c, points in sorted(found.items(), key=lambda i: preference(i[0]))
    )
