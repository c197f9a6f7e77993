"""The wizards' result pages show a speed-up's range over the interleaved rounds and
flag it when the rounds disagree (#22), instead of a bare "40x faster"."""

from __future__ import annotations

import dataclasses

from workbench.core.compress.pruning.variant import PruneRun
from workbench.core.io import load
from workbench.core.measure.spread import SpeedRatio
from workbench.ui.wizards.pruning_summary import SummaryPage
from workbench.ui.wizards.quantization_results import summary_html

# One slow "before" round (the dense model caught a neighbour's burst) among steady ones.
PLANTED = SpeedRatio([2.0, 2.1, 40.0, 1.95, 2.05])


def test_pruning_summary_shows_the_median_range_and_the_flag(qtbot) -> None:
    page = SummaryPage()
    qtbot.addWidget(page)
    figures = {
        "before": {"parameters": 100, "latency_ms": {"1": 0.4}},
        "after": {"parameters": 50, "latency_ms": {"1": 0.2}},
        "speedup_rounds": {"1": PLANTED.to_json()},
        "conditions": "ORT CPU, 1 thread",
    }
    page.show_run(PruneRun(model=load("zoo:digits_cnn"), step={}, pass_metrics={},
                           figures=figures))  # fmt: skip
    rows = {page.table.item(r, 0).text(): r for r in range(page.table.rowCount())}
    row = rows["Latency, batch 1 (ORT CPU, 1 thread)"]
    change = page.table.item(row, 3).text()
    assert change == "⚠ 2.05x faster (1.95x-40.00x)" and "40.00x faster" not in change
    assert "unsteady: the ratio ranged 1.95x-40.00x over 5 rounds; measure again" in (
        page.notes.text()
    )


def test_quantization_results_show_the_range_and_the_flag() -> None:
    from fixtures.cuda_records import quantized_digits

    outcome = quantized_digits("static")  # a real run, measured on this CPU
    steady = summary_html(outcome)
    assert "Measured with ORT CPU, default threads; change: median of 5 interleaved rounds" in (
        steady
    )
    before = dataclasses.replace(outcome.before, rounds_ms={1: [1.0, 1.0, 40.0, 1.0, 1.0]})
    after = dataclasses.replace(outcome.after, rounds_ms={1: [0.5, 0.5, 1.0, 0.5, 0.5]})
    planted = summary_html(dataclasses.replace(outcome, before=before, after=after))
    assert "⚠ 2.00x faster (2.00x-40.00x)" in planted
    assert "unsteady: the ratio ranged 2.00x-40.00x over 5 rounds; measure again" in planted
