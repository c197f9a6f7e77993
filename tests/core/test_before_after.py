"""``measure_before_after``: every pass's input and output measured alike."""

from __future__ import annotations

from workbench.core.context import RunContext
from workbench.core.io import load
from workbench.core.measure import MeasureOptions
from workbench.core.measure.before_after import measure_before_after
from workbench.core.measure.metrics import AccuracyReport

FAST = MeasureOptions(runtime="torch", batches=[1, 4], runs=3, seconds=0.0, warmup=1)


def test_each_side_gets_facts_accuracy_and_its_fastest_latency() -> None:
    before, after = load("zoo:digits_mlp"), load("zoo:digits_cnn")
    scored: list[str] = []

    def accuracy(side, model, ctx) -> AccuracyReport:
        scored.append(side)
        return AccuracyReport("torch", "cpu", "digits", "classification", 10, top1=0.5)

    progress: list[float] = []
    ctx = RunContext(progress=lambda f, m: progress.append(f))
    sides = measure_before_after(
        {"before": before, "after": after}, FAST, accuracy=accuracy, rounds=2, ctx=ctx
    )
    assert list(sides) == ["before", "after"] and scored == ["before", "after"]
    assert sides["before"].metrics.facts.parameters != sides["after"].metrics.facts.parameters
    for side in sides.values():
        (report,) = side.metrics.latency.values()
        assert set(side.latency_ms) == {1, 4}
        # each batch's figure is the fastest of the two rounds: never above the kept round's
        assert all(side.latency_ms[p.batch] <= p.latency.p50_ms for p in report.batches)
        assert side.accuracy.top1 == 0.5 and side.metrics.environment["runtime"] == "torch"
    assert progress == sorted(progress) and progress[-1] == 1.0


def test_no_rounds_takes_no_latency_and_no_accuracy_without_a_scorer() -> None:
    sides = measure_before_after({"before": load("zoo:digits_mlp")}, FAST, rounds=0)
    (side,) = sides.values()
    assert not side.metrics.latency and side.latency_ms == {} and side.accuracy is None
    assert side.metrics.environment["runtime"] == "torch"
