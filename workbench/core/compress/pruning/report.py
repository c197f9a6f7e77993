"""Before -> after figures of a pruning run, measured the same way for both models.

Parameters, MACs and weight bytes from ``measure.model_facts`` (MACs by
torch.utils.flop_counter through the graph), accuracy on the validation split, and
latency on ONNX Runtime (the CPU runtime a pruned model ships on) at each batch size,
all taken by ``measure.before_after`` as every pass takes them.
The CLI's variant.json and the wizard's summary page show this same dictionary.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from typing import Any

from workbench.core.context import RunContext
from workbench.core.io.loaded import LoadedModel
from workbench.core.measure.before_after import AccuracyFn, measure_before_after
from workbench.core.measure.metrics import AccuracyReport, Metrics
from workbench.core.measure.options import MeasureOptions

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
) -> tuple[dict[str, Any], Metrics, Metrics]:
    """``{"before": {...}, "after": {...}}``: facts, accuracy (with data) and ORT latency,
    and each model's own figures as ``Metrics`` (facts, the latency report with its
    conditions, accuracy), what a benchmark of it would store: the pruned model's, then
    the source's.

    Latency is taken in two rounds (``measure_before_after``), so a neighbour's load on
    a shared machine slows both sides alike.
    """
    ctx = ctx or RunContext()
    options = MeasureOptions(
        runtime="ort", batches=list(batches), seconds=seconds, runs=10, device="auto"
    )
    score = _accuracy(dataset, ctx.device) if dataset is not None else None
    sides = measure_before_after(
        {"before": source, "after": pruned}, options, accuracy=score, rounds=2, ctx=ctx
    )
    figures: dict[str, dict[str, Any]] = {}
    for side, measured in sides.items():
        facts = measured.metrics.facts
        figures[side] = {
            "parameters": facts.parameters,
            "macs": facts.macs,
            "weights_bytes": facts.weights_bytes,
            "sparsity": facts.sparsity,
        }
        if measured.accuracy is not None:
            figures[side]["accuracy"] = measured.accuracy.top1
        figures[side]["latency_ms"] = {str(b): ms for b, ms in sorted(measured.latency_ms.items())}
    return figures, sides["after"].metrics, sides["before"].metrics


def _accuracy(dataset: Any, where: str) -> AccuracyFn:
    """Top-1 on the validation split in PyTorch, on ``where``'s device."""

    def score(side: str, model: LoadedModel, ctx: RunContext) -> AccuracyReport:
        from workbench.core.compress.pruning.layers import validation_accuracy
        from workbench.core.device import resolve_device

        device = resolve_device(where)
        module = model.module  # scored where it is on the CPU; a copy goes to a GPU,
        if device.type != "cpu":  # so the caller's model never moves under it
            module = copy.deepcopy(module).to(device)
        top1 = validation_accuracy(module, dataset, device)
        return AccuracyReport(
            "torch", str(device), dataset.name, "classification", len(dataset.y_val), top1=top1
        )

    return score


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
