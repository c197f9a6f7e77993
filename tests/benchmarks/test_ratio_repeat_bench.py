"""A before/after speed ratio repeats (#22: "repeating a before/after ratio 5 times on
this machine varies <= 10%, printed").

The digits CNN against its 50% channel-pruned copy, on ONNX Runtime's CPU provider with
one intra-op thread, measured as ``workbench prune`` measures (``measure_before_after``:
each model opened once, 5 rounds, in each the two models timed in turn batch by batch,
the median of the rounds' ratios), five times in one run. Each ratio is
printed with its rounds' range, and the spread of the five (max/min - 1) is asserted.
About 30 s on two shared cores.

At batch 1 the models take 17 and 38 microseconds a call, and the spread is bimodal.
Measured alone on this 2-core VM (stop 32, four runs in a row): 1.8%, 3.7%, 16.7% and
18.1%. In the wide runs one repeat's every round sat high (the dense model 33-40 us a
call against 29-30, the pruned one unchanged at 14-15 us) for seconds: a neighbour on
the host contending for cache slows the model with the larger working set, which no
interleaving cancels and which nothing inside the VM shows (load average 0). Batch 32
stayed within 0.8-8%. CI has seen 15.4% and 22.2%, so its slack is 3.5x the target:
it still fails a measurement gone unsteady (rounds on ORT's default threads spread
50-170% here) while a host's busy minute does not block landing.
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
TARGET = limit(0.10, 3.5)  # strict: 10%; shared CI machine: 35%


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
