"""The app's "Measure all" agrees with ``workbench bench`` on the same model (#19: 10%).

Compare's measurement (``measure_side_by_side``: a child process, warm-up, interleaved
rounds) and the command line's ``workbench bench --runtime ort`` time the same model;
their p50s should agree within 10%. The two alternate (bench, app, app, bench, ...), so
load from other processes on this shared machine falls on both alike; the ratio of the
medians is printed. About 20 s on two cores.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

import pytest
from bench_limits import limit

from workbench.core.io import load
from workbench.core.measure.side_by_side import SideBySideOptions, measure_side_by_side

pytestmark = [pytest.mark.benchmark, pytest.mark.slow]

MODEL = "zoo:resnet_shapes"  # ~0.35 ms a run here, thousands of runs per side
PAIRS = 3
# One second of runs a side per measurement (was 2): ~2,800 runs at 0.35 ms still, and
# ratios 0.99 and 1.02 in two runs on the loaded shared machine. Most of a `bench` call's
# time is its own start, export and model facts, which the comparison does not time.
SECONDS = 1.0


def _bench_p50() -> float:
    out = subprocess.run(
        [sys.executable, "-m", "workbench", "bench", MODEL, "--runtime", "ort", "--json",
         "--seconds", str(SECONDS)],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout  # fmt: skip
    report = json.loads(out)["results"][0]["latency"]["ort"]
    return report["batches"][0]["latency"]["p50_ms"]


def _app_p50(model) -> float:
    options = SideBySideOptions(rounds=4, round_s=SECONDS / 4)
    return measure_side_by_side([("m", model)], options)["m"].latency.p50_ms


def test_measure_all_agrees_with_workbench_bench() -> None:
    model = load(MODEL)
    bench, app = [], []
    for index in range(PAIRS):
        order = (_bench_p50, _app_p50) if index % 2 == 0 else (_app_p50, _bench_p50)
        for measure in order:
            if measure is _bench_p50:
                bench.append(_bench_p50())
            else:
                app.append(_app_p50(model))
    ratio = statistics.median(app) / statistics.median(bench)
    print(
        f"\nMeasure all vs workbench bench, {MODEL} p50: app {statistics.median(app):.3f} ms, "
        f"bench {statistics.median(bench):.3f} ms, ratio {ratio:.3f} (target within 10%); "
        f"app {[round(v, 3) for v in app]}, bench {[round(v, 3) for v in bench]}"
    )
    bound = limit(0.10, 2.0)
    assert 1 - bound <= ratio <= 1 + bound
