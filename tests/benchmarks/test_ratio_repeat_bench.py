"""A before/after speed ratio repeats (#22: "repeating a before/after ratio 5 times on
this machine varies <= 10%, printed").

The digits CNN against its 50% channel-pruned copy, on ONNX Runtime's CPU provider with
one intra-op thread, measured as ``workbench prune`` measures (``measure_before_after``:
each model opened once, 5 rounds, in each the two models timed in turn batch by batch,
the median of the rounds' ratios), five times in one run. Each ratio is
printed with its rounds' range, and the spread of the five (max/min - 1) is asserted.
About 30 s on two shared cores.

At batch 1 the models take 17 and 38 microseconds a call, where the same two open
sessions drift between two levels about 9% apart over seconds (stop 31, measured alone);
CI on a loaded machine saw 15.4% once, so its slack is 2x the target.
"""

from __future__ import annotations

import pytest
from bench_limits import limit

from workbench.core.compress.pruning.variant import run_pruning
from workbench.core.io import load
from workbench.core.measure.before_after import measure_before_after
from workbench.core.measure.options import MeasureOptions

pytestmark = [pytest.mark.benchmark, pytest.mark.slow]

REPEATS = 5
ROUNDS = 5
TARGET = limit(0.10, 2.0)  # strict: 10%; shared CI machine: 20%


def test_before_after_ratio_repeats_within_ten_percent() -> None:
    source = load("zoo:digits_cnn")
    pruned = run_pruning(source, "channel-prune", {"method": "l1", "amount": 0.5},
                         measure=False).model  # fmt: skip
    options = MeasureOptions(runtime="ort", batches=[1, 32], threads=1, runs=5,
                             seconds=1.0 / ROUNDS, device="cpu")  # fmt: skip
    medians: dict[int, list[float]] = {1: [], 32: []}
    print(f"\ndigits_cnn vs 50% channel-pruned, ORT CPU 1 thread, {ROUNDS} rounds each:")
    for repeat in range(REPEATS):
        sides = measure_before_after({"before": source, "after": pruned}, options,
                                     rounds=ROUNDS)  # fmt: skip
        for batch, ratio in sides["before"].speedup(sides["after"]).items():
            medians[batch].append(ratio.median)
            print(f"  repeat {repeat + 1}, batch {batch}: {ratio.describe()}")
    worst = 0.0
    for batch, values in medians.items():
        spread = max(values) / min(values) - 1
        worst = max(worst, spread)
        print(f"  batch {batch}: {', '.join(f'{v:.2f}x' for v in values)}; spread "
              f"{spread:.1%} (target <= 10%, asserted <= {TARGET:.0%})")  # fmt: skip
    assert worst <= TARGET
