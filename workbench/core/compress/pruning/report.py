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
import math
from collections.abc import Sequence
from typing import Any

from workbench.core.context import RunContext
from workbench.core.io.loaded import LoadedModel
from workbench.core.measure.before_after import AccuracyFn, measure_before_after
from workbench.core.measure.metrics import AccuracyReport, Metrics
from workbench.core.measure.options import MeasureOptions

BATCHES = (1, 32)
LM_TASK = "language-modeling"  # a language model is scored by perplexity, not top-1
ROUNDS = 5  # interleaved before/after rounds: their median ratio survives 2 slow ones


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
    threads: int | None = None,
    rounds: int = ROUNDS,
) -> tuple[dict[str, Any], Metrics, Metrics]:
    """``{"before": {...}, "after": {...}}``: facts, accuracy (with data) and ORT latency,
    and each model's own figures as ``Metrics`` (facts, the latency report with its
    conditions, accuracy), what a benchmark of it would store: the pruned model's, then
    the source's.

    Latency is taken in ``rounds`` interleaved rounds of ``seconds / rounds`` each
    (``measure_before_after``), so a neighbour's load on a shared machine slows both
    sides alike; "speedup_rounds" holds each batch's ratio per round, its median and spread
    (``SpeedRatio.to_json``), "conditions" the runtime and threads ("ORT CPU, 1 thread").
    """
    ctx = ctx or RunContext()
    rounds = max(1, rounds)
    options = MeasureOptions(runtime="ort", batches=list(batches), seconds=seconds / rounds,
                             runs=5, threads=threads, device="auto")  # fmt: skip
    score = _accuracy(dataset, ctx.device) if dataset is not None else None
    sides = measure_before_after(
        {"before": source, "after": pruned}, options, accuracy=score, rounds=rounds, ctx=ctx
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
        report = measured.accuracy
        if report is not None and report.top1 is not None:
            figures[side]["accuracy"] = report.top1
        if report is not None and report.task == LM_TASK and report.loss is not None:
            figures[side]["perplexity"] = math.exp(report.loss)
        figures[side]["latency_ms"] = {str(b): ms for b, ms in sorted(measured.latency_ms.items())}
    speedup = sides["before"].speedup(sides["after"])
    if speedup:
        figures["speedup_rounds"] = {str(b): r.to_json() for b, r in sorted(speedup.items())}
        figures["conditions"] = sides["after"].label()
    return figures, sides["after"].metrics, sides["before"].metrics


def _accuracy(dataset: Any, where: str) -> AccuracyFn:
    """Top-1 (perplexity for a language model) on the validation split in PyTorch, on
    ``where``'s device."""

    def score(side: str, model: LoadedModel, ctx: RunContext) -> AccuracyReport:
        from workbench.core.compress.pruning.layers import validation_accuracy
        from workbench.core.device import resolve_device

        device = resolve_device(where)
        module = model.module  # scored where it is on the CPU; a copy goes to a GPU,
        if device.type != "cpu":  # so the caller's model never moves under it
            module = copy.deepcopy(module).to(device)
        if getattr(dataset, "task", None) == LM_TASK:
            from workbench.core.lm.perplexity import torch_perplexity

            ppl = torch_perplexity(module, dataset.x_val, dataset.y_val, device=str(device))
            return AccuracyReport(
                "torch", str(device), dataset.name, LM_TASK, int(dataset.y_val.size),
                loss=math.log(ppl),
            )  # fmt: skip
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
    paired = figures.get("speedup_rounds", {})
    for batch, ms in before.get("latency_ms", {}).items():
        if batch in paired:  # the median of the interleaved rounds' ratios
            out[f"latency_b{batch}"] = paired[batch]["median"]
        elif after["latency_ms"].get(batch):
            out[f"latency_b{batch}"] = ms / after["latency_ms"][batch]
    return out


def speed_lines(figures: dict[str, Any]) -> list[str]:
    """One line per batch for the CLI and the wizard: both latencies with how they were
    taken, the median ratio of the rounds with its range, and the flag when unsteady.
    "batch 1: 0.210 ms -> 0.105 ms (ORT CPU, 1 thread): 2.00x faster (median of 5
    rounds, 1.90x-2.04x)"."""
    from workbench.core.measure.spread import SpeedRatio
    from workbench.core.units import speed_change

    before, after = figures.get("before") or {}, figures.get("after") or {}
    label = figures.get("conditions") or "ORT"
    lines = []
    for batch, ms in before.get("latency_ms", {}).items():
        new = after.get("latency_ms", {}).get(batch)
        if not new:
            continue
        paired = figures.get("speedup_rounds", {}).get(batch)
        said = SpeedRatio.from_json(paired).describe() if paired else speed_change(ms / new)
        lines.append(f"batch {batch}: {ms:.3f} ms -> {new:.3f} ms ({label}): {said}")
    return lines
