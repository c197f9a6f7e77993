"""What a quantization run produced: the model, its figures before and after, and what
they say (ratios, the auto-exclusion's gains, device-aware advice), in the shapes the
CLI, the wizard and ``variant.json`` read."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from workbench.core.io.loaded import LoadedModel
from workbench.core.measure.inherited import parent_figures


@dataclass
class Measured:
    """One model's figures: accuracy (None without data), latency per batch, size."""

    size_bytes: int
    runtime: str
    provider: str = ""
    top1: float | None = None
    accuracy: dict[str, Any] | None = None  # AccuracyReport as JSON
    latency_ms: dict[int, float] = field(default_factory=dict)  # batch -> p50
    latency: dict[str, Any] | None = None  # LatencyReport as JSON
    rounds_ms: dict[int, list[float]] = field(default_factory=dict)  # batch -> each round's p50
    perplexity: float | None = None  # a language model's, on validation windows


@dataclass
class AutoExclusion:
    """What ``auto_exclude=K`` did: the nodes it kept in float, picked from the first
    run's error table (where the user's own exclusions were already float), and that
    first run's figures, the baseline of what it gained and cost."""

    requested: int
    nodes: list[dict[str, Any]]  # the first run's error rows of the nodes kept float
    without: Measured | None  # the first run measured (None when nothing was measured)

    @property
    def names(self) -> list[str]:
        return [row["node"] for row in self.nodes]

    def gains(self, after: Measured | None) -> dict[str, Any]:
        """Accuracy gained (points), agreement with the float model gained (points), the
        logits' drift from it, latency ratio per batch (above 1: slower) and size added."""
        first = self.without
        if first is None or after is None:
            return {}
        result: dict[str, Any] = {
            "slowdown": {
                batch: after.latency_ms[batch] / first.latency_ms[batch]
                for batch in first.latency_ms
                if first.latency_ms[batch] and after.latency_ms.get(batch)
            },
            "size_added_bytes": after.size_bytes - first.size_bytes,
        }
        if first.top1 is not None and after.top1 is not None:
            result["top1_gained_points"] = 100 * (after.top1 - first.top1)
        old, new = _agreement(first), _agreement(after)
        if old and new:
            if old.get("top1_agreement") is not None and new.get("top1_agreement") is not None:
                result["agreement_gained_points"] = 100 * (
                    new["top1_agreement"] - old["top1_agreement"]
                )
            result["logit_drift"] = {"without": old["mean_abs_diff"], "with": new["mean_abs_diff"]}
        return result

    def describe(self, after: Measured | None) -> list[str]:
        """Plain sentences for the CLI and the wizard."""
        from workbench.core.units import human_bytes

        if not self.nodes:
            return [f"auto-exclude {self.requested}: no node adds error, so none was kept float"]
        shown = ", ".join(self.names[:5]) + (" ..." if len(self.nodes) > 5 else "")
        lines = [f"auto-exclude kept {len(self.nodes)} nodes in float: {shown}"]
        if len(self.nodes) < self.requested:
            lines[0] += f" (only {len(self.nodes)} of the table's nodes add error)"
        first, gains = self.without, self.gains(after)
        if first is None or after is None or not gains:
            return lines
        if "top1_gained_points" in gains:
            lines.append(
                f"top-1: {first.top1:.2%} without them, {after.top1:.2%} with "
                f"({gains['top1_gained_points']:+.2f} points)"
            )
        old, new = _agreement(first), _agreement(after)
        if "agreement_gained_points" in gains:
            lines.append(
                f"agreement with the float model: {old['top1_agreement']:.2%} -> "
                f"{new['top1_agreement']:.2%}; mean logit drift "
                f"{old['mean_abs_diff']:.4f} -> {new['mean_abs_diff']:.4f}"
            )
        for batch, ratio in gains["slowdown"].items():
            lines.append(
                f"latency, batch {batch}: {first.latency_ms[batch]:.3f} ms -> "
                f"{after.latency_ms[batch]:.3f} ms ({ratio:.2f}x)"
            )
        added = gains["size_added_bytes"]
        lines.append(f"size: {'+' if added >= 0 else '-'}{human_bytes(abs(added))}")
        return lines

    def to_json(self, after: Measured | None) -> dict[str, Any]:
        return {
            "requested": self.requested,
            "nodes": list(self.nodes),
            "without": dataclasses.asdict(self.without) if self.without else None,
            **self.gains(after),
        }


def _median_or(ratio: Any, fallback: float) -> float:
    """The median of the rounds' ratios, or ``fallback`` (fastest before / fastest after)."""
    return ratio.median if ratio is not None else fallback


def _agreement(figures: Measured) -> dict[str, Any] | None:
    """The model's agreement with the float model, when it was measured against it."""
    return (figures.accuracy or {}).get("agreement")


@dataclass
class QuantizationOutcome:
    method: str
    pass_name: str
    config: dict[str, Any]
    source_name: str
    model: LoadedModel  # the quantized model
    reference: LoadedModel  # the float model "before" was measured on
    before: Measured | None
    after: Measured | None
    pass_metrics: dict[str, Any]
    notes: list[str]
    auto_exclusion: AutoExclusion | None = None
    facts: Any = None  # ModelFacts of the quantized model (None when not measured)
    environment: dict[str, Any] | None = None  # the machine the figures were taken on
    parent_metrics: Any = None  # Metrics of "before": the float parent, as timed here

    @property
    def step(self) -> dict[str, Any]:
        """The recipe step that remakes this variant."""
        return {"pass": self.pass_name, "config": dict(self.config)}

    @property
    def node_error(self) -> Any:
        """The per-node ``ErrorTable``, or None when it was not measured."""
        from workbench.core.compress.quantization.node_error import ErrorTable

        data = self.pass_metrics.get("node_error")
        return ErrorTable.from_json(data) if data else None

    def ratios(self) -> dict[str, Any]:
        """Speed-up per batch (before p50 / after p50), size ratio, accuracy change."""
        if self.before is None or self.after is None:
            return {}
        b, a = self.before, self.after
        paired = self.speed_rounds()
        result: dict[str, Any] = {
            "size_ratio": b.size_bytes / a.size_bytes if a.size_bytes else None,
            "speedup": {
                batch: _median_or(paired.get(batch), b.latency_ms[batch] / a.latency_ms[batch])
                for batch in b.latency_ms
                if a.latency_ms.get(batch)
            },
        }
        if paired:
            result["speedup_rounds"] = {batch: r.to_json() for batch, r in paired.items()}
        if b.top1 is not None and a.top1 is not None:
            result["top1_change_points"] = 100 * (a.top1 - b.top1)
        if b.perplexity and a.perplexity is not None:
            result["perplexity_change"] = a.perplexity / b.perplexity - 1.0
        weights = self.pass_metrics.get("matmul_weight_bytes") or {}
        if weights.get("float") and weights.get("quantized"):
            result["matmul_weight_ratio"] = weights["float"] / weights["quantized"]
        return result

    def speed_rounds(self) -> dict[int, Any]:
        """Per batch, the before/after ratio of each interleaved round (``SpeedRatio``)."""
        from workbench.core.measure.spread import speed_ratios

        if self.before is None or self.after is None:
            return {}
        return speed_ratios(self.before.rounds_ms, self.after.rounds_ms)

    def speed_lines(self) -> list[str]:
        """One line per batch: both latencies, how they were taken ("ORT CPU, 1 thread"),
        the median ratio of the rounds with its range, and the flag when unsteady."""
        from workbench.core.measure.spread import SpeedRatio

        b, a = self.before, self.after
        if b is None or a is None:
            return []
        label = self.latency_label()
        paired = self.speed_rounds()
        lines = []
        for batch, before_ms in b.latency_ms.items():
            after_ms = a.latency_ms.get(batch)
            if after_ms:
                ratio = paired.get(batch) or SpeedRatio([before_ms / after_ms])
                lines.append(f"batch {batch}: p50 {before_ms:.3f} ms -> {after_ms:.3f} ms "
                             f"({label}): {ratio.describe()}")  # fmt: skip
        return lines

    def latency_label(self) -> str:
        """ "ORT CPU, 1 thread": the runtime, provider and threads the latencies had."""
        after = self.after
        if after is None or after.latency is None:
            return after.runtime if after else ""
        return self.measured_metrics().latency[after_key(after)].conditions.short()

    def advice(self) -> list[Any]:
        """What the figures say about this precision on the device they were taken on
        (``advice.advise``), then, when they argue against it, what to choose there."""
        from workbench.core.compress.quantization.advice import (
            Advice,
            advise,
            precision_of_pass,
            recommendation,
        )

        after = self.after
        precision = precision_of_pass(self.pass_name)
        if after is None or after.latency is None or precision is None:
            return []
        conditions = self.measured_metrics().latency[after_key(after)].conditions
        onnx_model = self.model.onnx_model
        casts = None
        if onnx_model is not None:
            casts = sum(1 for node in onnx_model.graph.node if node.op_type == "Cast")
        found = advise(
            precision,
            conditions,
            self.ratios().get("speedup", {}),
            casts=casts,
            environment=self.environment,
        )
        if found:
            found.append(Advice(recommendation(conditions), conditions.describe()))
        return found

    def metrics(self) -> dict[str, Any]:
        """What ``variant.json`` and the wizard outcome record under "metrics"."""
        result = {
            "before": dataclasses.asdict(self.before) if self.before else None,
            "after": dataclasses.asdict(self.after) if self.after else None,
            "ratios": self.ratios(),
            "pass": {k: v for k, v in self.pass_metrics.items() if k != "node_error"},
            "advice": [dataclasses.asdict(a) for a in self.advice()],
        }
        if self.auto_exclusion is not None:
            result["auto_exclude"] = self.auto_exclusion.to_json(self.after)
        return result

    def measured_metrics(self) -> Any:
        """The quantized model's figures as ``core.measure.Metrics``: latency filed by its
        conditions, accuracy, facts and the machine, as a benchmark would store them."""
        from workbench.core.measure.metrics import Metrics

        after = self.after
        runtime = after.runtime if after else ""
        data: dict[str, Any] = {
            "facts": dataclasses.asdict(self.facts) if self.facts is not None else None,
            "environment": self.environment,
            "accuracy": {runtime: after.accuracy} if after and after.accuracy else {},
        }
        metrics = Metrics.from_json(data)
        if after is not None and after.latency:
            metrics.latency[after_key(after)] = Metrics.from_json(
                {"latency": {"x": after.latency}}
            ).latency["x"]
        return metrics

    def variant_metrics(self) -> dict[str, Any]:
        """Metrics in ``core.measure.Metrics`` form (what the inspector and compare view
        read) for the quantized model, plus a "quantization" entry: before, ratios,
        advice and the per-node error by node name (the graph overlay's data)."""
        metrics = {**self.measured_metrics().to_json(), **parent_figures(self.parent_metrics)}
        table = self.node_error
        metrics["quantization"] = {
            **self.metrics(),
            "error_by_node": table.by_node() if table is not None else {},
            "error_by_block_node": table.by_block_node() if table is not None else {},
        }
        return metrics

    def name(self) -> str:
        labels = {"static": "INT8 static", "dynamic": "INT8 dynamic", "fp16": "FP16",
                  "torch-dynamic": "INT8 torch dynamic", "int4": "INT4 weight-only"}  # fmt: skip
        return f"{self.source_name} ({labels.get(self.method, self.method)})"


def after_key(measured: Measured) -> str:
    """The key ``Metrics.latency`` files a ``Measured`` latency under (its conditions)."""
    from workbench.core.measure.metrics import Metrics

    return Metrics.from_json({"latency": {"x": measured.latency}}).latency["x"].key
