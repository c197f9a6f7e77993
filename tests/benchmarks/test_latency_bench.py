"""The benchmark measures the model, not itself: ResNet-50 on ONNX Runtime's CPU provider.

1. The workbench's p50 (the session ``measure_latency`` makes and its timing loop,
   ``time_runs``) is within 3% of a bare ``InferenceSession.run`` loop. Short blocks of
   each alternate (AB BA ...) in this one run, so load from other processes on the
   shared machine falls on both sides alike; p50 is over all of a side's runs.
2. Two benchmarks of the same variant agree within 5% at p50.

Prints the ratio and the spread. About a minute on two cores.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from bench_limits import limit

from workbench.core.io import load
from workbench.core.measure import MeasureOptions, benchmark, measure_latency
from workbench.core.measure.inputs import concrete_shapes, feed_for
from workbench.core.measure.latency import time_runs
from workbench.core.measure.runners import make_runner

pytestmark = [pytest.mark.benchmark, pytest.mark.slow]

BLOCKS = 40
RUNS = 2  # timed runs per block: short blocks, so both sides see the same load


def _bare_runs(session: ort.InferenceSession, feed: dict, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        samples.append(time.perf_counter() - start)
    return samples


def test_workbench_p50_matches_a_bare_session_loop(resnet50_onnx: Path) -> None:
    loaded = load(resnet50_onnx)
    # The session and timing loop measure_latency uses, and the feed it makes (no dataset:
    # seeded N(0, 1)); the bare side is a default session and a perf_counter loop.
    runner = make_runner(loaded, "ort", label="resnet50", device="cpu")
    shapes = concrete_shapes(loaded, label="resnet50")
    prepared = runner.prepare(feed_for(shapes))
    bare = ort.InferenceSession(str(resnet50_onnx), providers=["CPUExecutionProvider"])
    feed = {"input": np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)}
    np.testing.assert_array_equal(feed["input"], prepared["input"])
    time_runs(runner, prepared, warmup=3, runs=1, seconds=0.0)
    _bare_runs(bare, feed, 4)
    ours: list[float] = []
    theirs: list[float] = []
    for block in range(BLOCKS):
        for side in ("ours", "bare") if block % 2 == 0 else ("bare", "ours"):
            if side == "ours":
                ours += time_runs(runner, prepared, warmup=0, runs=RUNS, seconds=0.0)
            else:
                theirs += _bare_runs(bare, feed, RUNS)
    p50_ours = statistics.median(ours) * 1e3
    p50_bare = statistics.median(theirs) * 1e3
    ratio = p50_ours / p50_bare
    whole = measure_latency(loaded, runs=10, seconds=0.0, warmup=1, device="cpu")
    print(
        f"\nResNet-50 ONNX, CPU, batch 1, {BLOCKS} interleaved blocks of {RUNS} runs each: "
        f"workbench p50 {p50_ours:.1f} ms, bare InferenceSession.run loop {p50_bare:.1f} ms, "
        f"ratio {ratio:.3f}; a whole measure_latency call (own session): "
        f"p50 {whole.latency.p50_ms:.1f} ms"
    )
    # Both sides run the same kernels, so a ratio off 1 in either direction is load from
    # other processes; strict mode holds the 3%, the default a stated slack.
    # Seen 0.965 and 1.062 on idle runs of this 2-core machine; a real overhead per call
    # (microseconds) against 36 ms kernels would not reach either.
    assert abs(ratio - 1.0) <= limit(0.03, 3.0)


def test_two_benchmarks_of_the_same_variant_agree(resnet50_onnx: Path) -> None:
    """Two benchmarks, each with its own session as two `bench` calls make, timed in
    alternating short blocks: the spread is the method's, not the machine's drift.
    Two back-to-back whole ``benchmark`` calls are printed too; their spread also
    carries whatever other processes did meanwhile, so it is shown, not asserted."""
    loaded = load(resnet50_onnx)
    feed = feed_for(concrete_shapes(loaded, label="resnet50"))
    first = make_runner(loaded, "ort", label="resnet50", device="cpu")
    second = make_runner(loaded, "ort", label="resnet50", device="cpu")
    runs: dict[int, list[float]] = {0: [], 1: []}
    prepared = [first.prepare(feed), second.prepare(feed)]
    runners = [first, second]
    for index in (0, 1):
        time_runs(runners[index], prepared[index], warmup=3, runs=1, seconds=0.0)
    for block in range(30):
        for index in (0, 1) if block % 2 == 0 else (1, 0):
            runs[index] += time_runs(
                runners[index], prepared[index], warmup=0, runs=RUNS, seconds=0.0
            )
    p50 = [statistics.median(runs[i]) * 1e3 for i in (0, 1)]
    spread = abs(p50[0] - p50[1]) / min(p50)
    options = MeasureOptions(runtime="auto", runs=15, seconds=0.0, warmup=2, device="cpu")
    whole = [benchmark(loaded, options).latency["ort"].latency.p50_ms for _ in range(2)]
    whole_spread = abs(whole[0] - whole[1]) / min(whole)
    print(
        f"\nResNet-50 ONNX, two benchmarks (own sessions, interleaved): p50 {p50[0]:.1f} ms "
        f"and {p50[1]:.1f} ms, spread {spread:.1%}; two whole benchmark() calls one after "
        f"the other: {whole[0]:.1f} ms and {whole[1]:.1f} ms, spread {whole_spread:.1%}"
    )
    assert spread <= limit(0.05, 2.0)
