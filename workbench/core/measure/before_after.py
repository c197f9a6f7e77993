"""A pass's input and output measured the same way: the "before and after" every
compression run reports (pruning, quantization).

Each model gets its facts (parameters, MACs, weight bytes, sparsity), its accuracy when
the caller says how to take it, and its latency under one ``MeasureOptions``. Each
model is opened once (one export, one session); with ``rounds`` > 1 the sessions are
timed in turn (before, after; then after, before; ...), so a neighbour's load on a
shared machine slows each side alike; within a round the sides are timed batch by
batch, one right after the other. Each batch keeps its fastest p50 and every
round's p50 (``rounds_ms``); the figures keep the round with the lowest total.
``SideFigures.speedup`` pairs the rounds into before/after ratios with their spread
(``spread.SpeedRatio``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.core.context import RunContext
from workbench.core.io.loaded import LoadedModel
from workbench.core.measure.environment import describe_environment
from workbench.core.measure.latency import LatencySetup, model_facts, setup_under
from workbench.core.measure.metrics import AccuracyReport, LatencyReport, Metrics
from workbench.core.measure.options import MeasureOptions
from workbench.core.measure.spread import SpeedRatio, speed_ratios

# (side, model, ctx) -> the model's accuracy, or None where it has none
AccuracyFn = Callable[[str, LoadedModel, RunContext], AccuracyReport | None]


@dataclass
class SideFigures:
    """One model's figures: ``metrics`` as a benchmark of it would store them (facts,
    accuracy, the best round's latency with its conditions, the machine)."""

    metrics: Metrics
    latency_ms: dict[int, float] = field(default_factory=dict)  # p50, fastest round
    rounds_ms: dict[int, list[float]] = field(default_factory=dict)  # p50 of each round

    @property
    def accuracy(self) -> AccuracyReport | None:
        return next(iter(self.metrics.accuracy.values()), None)

    @property
    def latency(self) -> LatencyReport | None:
        return next(iter(self.metrics.latency.values()), None)

    def speedup(self, after: SideFigures) -> dict[int, SpeedRatio]:
        """Per batch, this side's latency over ``after``'s, round by round."""
        return speed_ratios(self.rounds_ms, after.rounds_ms)

    def label(self) -> str:
        """How the latency was taken, for every printed figure: "ORT CPU, 1 thread"."""
        report = self.latency
        return report.conditions.short() if report is not None else ""


def measure_before_after(
    models: Mapping[str, LoadedModel],
    options: MeasureOptions,
    *,
    accuracy: AccuracyFn | None = None,
    data: Any = None,
    rounds: int = 1,
    ctx: RunContext | None = None,
) -> dict[str, SideFigures]:
    """Each of ``models`` ("before", "after", ...) measured alike, in that order.

    ``accuracy`` scores a model (None: accuracy is not taken); ``data`` feeds the timed
    inputs (None: the model's own dataset, else seeded random inputs); ``rounds`` = 0
    takes no latency.
    """
    ctx = ctx or RunContext()
    sides = list(models.items())
    steps = len(sides) * (2 + rounds)  # facts and accuracy, opening, each round
    out: dict[str, SideFigures] = {}
    for index, (side, model) in enumerate(sides):
        part = _part(ctx, index, steps)
        ctx.check()
        part.report(0.0, f"counting the {side} model's parameters and MACs")
        figures = SideFigures(Metrics(facts=model_facts(model)))
        report = accuracy(side, model, part) if accuracy is not None else None
        if report is not None:
            figures.metrics.accuracy[report.runtime] = report
        out[side] = figures
    setups = {}
    for index, (side, model) in enumerate(sides):
        if rounds < 1:
            break
        ctx.check()
        part = _part(ctx, len(sides) + index, steps)
        part.report(0.0, f"opening the {side} model on {options.runtime}")
        setups[side] = setup_under(model, options, data=data, ctx=part)
    batches = list(dict.fromkeys(b for setup in setups.values() for b in setup.batch_sizes))
    for round_index in range(rounds):
        ctx.check()
        shift = round_index % len(sides)  # each side leads in turn: no first-mover bias
        order = [side for side, _ in sides[shift:] + sides[:shift]]
        part = _part(ctx, 2 + round_index, steps / len(sides))  # one step per model
        where = f"on {options.runtime}, round {round_index + 1} of {rounds}"
        taken = _interleaved(setups, order, batches, part, where)
        for side in order:
            if taken[side]:
                _keep_faster(out[side], setups[side].time(part, taken=taken[side]))
    for figures in out.values():
        report = figures.latency
        figures.metrics.environment = describe_environment(
            runtime=report.runtime if report else options.runtime,
            threads=options.threads,
            provider=report.provider if report else None,
        )
    ctx.report(1.0, "measured")
    return out


def _keep_faster(figures: SideFigures, report: LatencyReport) -> None:
    """Each batch's fastest p50 so far and this round's; the report with the lowest total."""
    for point in report.batches:
        figures.rounds_ms.setdefault(point.batch, []).append(point.latency.p50_ms)
        best = figures.latency_ms.get(point.batch, float("inf"))
        figures.latency_ms[point.batch] = min(best, point.latency.p50_ms)
    kept = figures.latency
    if kept is None or _total(report) < _total(kept):
        figures.metrics.latency = {report.key: report}


def _interleaved(
    setups: Mapping[str, LatencySetup],
    order: list[str],
    batches: list[int],
    ctx: RunContext,
    where: str,
) -> dict[str, dict[int, list[float]]]:
    """Seconds per call of each side (plan index -> samples): batch by batch, the sides
    timed right after each other, so a round's ratio pairs timings a fraction of a
    second apart rather than a whole model's batches apart.

    Slicing each batch finer (A B A B ... every 50 ms) was tried in stop 31: on this
    machine it spread the same as this (2-12% over five repeats at batch 1) and costs
    a warm-up per slice, so the turns stay one per batch.
    """
    taken: dict[str, dict[int, list[float]]] = {side: {} for side in order}
    sizes = {side: setups[side].batch_sizes for side in order}
    for step, batch in enumerate(batches):
        slot = _part(ctx, step, len(batches))
        for side in order:
            if batch not in sizes[side]:
                continue
            index = sizes[side].index(batch)
            slot.report(0.0, f"timing the {side} model {where}, batch {batch}")
            taken[side][index] = setups[side].samples(index, ctx=slot)
    return taken


def _total(report: LatencyReport) -> float:
    return sum(point.latency.p50_ms for point in report.batches)


def _part(ctx: RunContext, index: int, steps: float) -> RunContext:
    """``ctx`` reporting into step ``index`` of ``steps`` (same cancel, device, seed)."""
    low, high = index / steps, (index + 1) / steps
    return dataclasses.replace(
        ctx,
        progress=lambda f, m: ctx.report(None if f is None else low + (high - low) * f, m),
    )
