"""Before -> after figures of a pruning run, measured the same way for both models.

Parameters, MACs and weight bytes from ``measure.model_facts`` (MACs by
torch.utils.flop_counter through the graph), accuracy on the validation split, and
latency on ONNX Runtime (the CPU runtime a pruned model ships on) at each batch size.
The CLI's variant.json and the wizard's summary page show this same dictionary.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from typing import Any

from workbench.core.context import RunContext
from workbench.core.io.loaded import LoadedModel
from workbench.core.measure.metrics import AccuracyReport, LatencyReport, Metrics

BATCHES = (1, 32)


def with_module(model: LoadedModel, module: Any) -> LoadedModel:
    """The same model record around another module (for measuring a candidate)."""
    return dataclasses.replace(model, module=module, exported_program=None, path=None)


def ort_latency_ms(
    module: Any, model: LoadedModel, *, batch: int = 1, seconds: float = 0.5, runs: int = 20
) -> float:
    """Median milliseconds per call of ``module`` exported to ONNX Runtime at ``batch``."""
    from workbench.core.measure import measure_latency

    report = measure_latency(
        with_module(model, module), runtime="ort", batches=[batch], seconds=seconds, runs=runs
    )
    return report.batches[0].latency.p50_ms


def measure_pair(
    source: LoadedModel,
    pruned: LoadedModel,
    *,
    dataset: Any = None,
    batches: Sequence[int] = BATCHES,
    seconds: float = 0.5,
    ctx: RunContext | None = None,
) -> tuple[dict[str, Any], Metrics]:
    """``{"before": {...}, "after": {...}}``: facts, accuracy (with data) and ORT latency,
    and the pruned model's own figures as ``Metrics`` (facts, the latency report with its
    conditions, accuracy), what a benchmark of it would store.

    Latency is taken before, after, before, after and the better of each pair kept, so
    a neighbour's load on a shared machine slows both sides alike.
    """
    from workbench.core.measure import measure_latency, model_facts
    from workbench.core.measure.environment import describe_environment

    ctx = ctx or RunContext()
    sides = {"before": source, "after": pruned}
    figures: dict[str, dict[str, Any]] = {}
    measured = Metrics()
    for index, (side, model) in enumerate(sides.items()):
        ctx.check()
        ctx.report(0.05 + 0.1 * index, f"counting the {side} model's parameters and MACs")
        facts = model_facts(model)
        if side == "after":
            measured.facts = facts
        figures[side] = {
            "parameters": facts.parameters,
            "macs": facts.macs,
            "weights_bytes": facts.weights_bytes,
            "sparsity": facts.sparsity,
        }
        if dataset is not None:
            from workbench.core.compress.pruning.layers import validation_accuracy
            from workbench.core.device import resolve_device

            device = resolve_device(ctx.device)
            module = model.module  # scored where it is on the CPU; a copy goes to a GPU,
            if device.type != "cpu":  # so the caller's model never moves under it
                module = copy.deepcopy(module).to(device)
            figures[side]["accuracy"] = validation_accuracy(module, dataset, device)
            if side == "after":
                measured.accuracy["torch"] = AccuracyReport(
                    "torch", str(device), dataset.name, "classification",
                    len(dataset.y_val), top1=figures[side]["accuracy"],
                )  # fmt: skip
    latency: dict[str, dict[int, float]] = {"before": {}, "after": {}}
    for round_index in range(2):
        for index, (side, model) in enumerate(sides.items()):
            ctx.check()
            done = 0.3 + 0.35 * round_index + 0.17 * index
            ctx.report(done, f"timing the {side} model on ONNX Runtime")
            report = measure_latency(
                model, runtime="ort", batches=list(batches), seconds=seconds, runs=10
            )
            for point in report.batches:
                best = latency[side].get(point.batch, float("inf"))
                latency[side][point.batch] = min(best, point.latency.p50_ms)
            kept = measured.latency.get(report.key)
            if side == "after" and (kept is None or _total(report) < _total(kept)):
                measured.latency = {report.key: report}  # the better of the two rounds
    for side in sides:
        figures[side]["latency_ms"] = {str(b): ms for b, ms in sorted(latency[side].items())}
    for report in measured.latency.values():
        measured.environment = describe_environment(runtime="ort", provider=report.provider)
    ctx.report(1.0, "measured")
    return figures, measured


def _total(report: LatencyReport) -> float:
    return sum(point.latency.p50_ms for point in report.batches)


def ratios(figures: dict[str, Any]) -> dict[str, float]:
    """before / after for each figure that shrinks (MACs, parameters, latency, bytes)."""
    before, after = figures["before"], figures["after"]
    out: dict[str, float] = {}
    for key in ("macs", "parameters", "weights_bytes"):
        if before.get(key) and after.get(key):
            out[key] = before[key] / after[key]
    for batch, ms in before.get("latency_ms", {}).items():
        if after["latency_ms"].get(batch):
            out[f"latency_b{batch}"] = ms / after["latency_ms"][batch]
    return out
