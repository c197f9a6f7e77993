"""Interleaved before/after ratios: the median of the rounds, its spread, the flag, and
the thread count a search times on (#22)."""

from __future__ import annotations

import time

import pytest
import torch

from workbench.core.context import RunContext
from workbench.core.io import load
from workbench.core.measure import MeasureOptions, SpeedRatio, search_threads
from workbench.core.measure.before_after import measure_before_after
from workbench.core.measure.spread import UNSTEADY_SPREAD, speed_ratios
from workbench.core.measure.threads import FEW_CORES


def test_ratio_reports_median_range_and_flags_a_wide_spread() -> None:
    steady = SpeedRatio([2.0, 2.1, 1.95, 2.05, 2.0])
    assert steady.median == 2.0 and not steady.unsteady and steady.flag() is None
    assert steady.describe() == "2.00x faster (median of 5 rounds, 1.95x-2.10x)"
    wild = SpeedRatio([0.9, 2.0, 38.0, 2.1, 1.9])
    assert wild.unsteady and wild.median == 2.0
    assert wild.flag() == "unsteady: the ratio ranged 0.90x-38.00x over 5 rounds; measure again"
    assert SpeedRatio.from_json(wild.to_json()).rounds == wild.rounds
    single = SpeedRatio([3.0])
    assert single.spread is None and not single.unsteady and single.describe() == "3.00x faster"
    edge = SpeedRatio([1.0, 1.0 + UNSTEADY_SPREAD * 0.99])
    assert not edge.unsteady and SpeedRatio([1.0, 1.0 + UNSTEADY_SPREAD * 1.01]).unsteady


def test_rounds_pair_in_order() -> None:
    ratios = speed_ratios({1: [4.0, 8.0], 32: [10.0]}, {1: [2.0, 2.0], 32: [5.0]})
    assert ratios[1].rounds == [2.0, 4.0] and ratios[32].rounds == [2.0]


class _Sleepy(torch.nn.Module):
    """A real model that really sleeps while ``slow`` is set (nothing mocked)."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(8, 4)
        self.slow = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.slow:
            time.sleep(0.03)
        return self.layer(x)


def test_a_planted_slow_round_is_flagged_not_reported_as_a_big_speed_up() -> None:
    import dataclasses

    base = load("zoo:digits_mlp")
    sleepy = _Sleepy()
    spec = dataclasses.replace(base.inputs[0], shape=[1, 8])
    before = dataclasses.replace(base, module=sleepy, inputs=[spec], dataset=None,
                                 exported_program=None, path=None)  # fmt: skip
    after = dataclasses.replace(before, module=torch.nn.Linear(8, 4))

    def progress(_fraction: float | None, message: str) -> None:
        if message.startswith("timing the"):  # only the 3rd round's "before" sleeps
            sleepy.slow = message.startswith("timing the before") and "round 3 of" in message

    options = MeasureOptions(runtime="torch", runs=3, seconds=0.0, warmup=1, threads=1)
    sides = measure_before_after({"before": before, "after": after}, options, rounds=5,
                                 ctx=RunContext(progress=progress))  # fmt: skip
    (ratio,) = sides["before"].speedup(sides["after"]).values()
    (times,) = sides["before"].rounds_ms.values()
    assert times[2] > 25 and max(times[:2] + times[3:]) < 5  # the plant took, once
    assert ratio.high > 100  # the slow round alone would have read as a huge speed-up
    assert ratio.median < 10 and ratio.unsteady  # reported: the robust one, flagged
    assert "unsteady" in ratio.describe() and "measure again" in ratio.describe()
    assert sides["after"].label() == "PyTorch eager CPU, 1 thread"


@pytest.mark.parametrize(
    ("requested", "cores", "threads", "said"),
    [
        (None, 2, 1, "this machine has 2 cores"),
        (None, FEW_CORES, 1, "--threads N to change"),
        (None, 16, None, "default threads (16 cores)"),
        (4, 2, 4, "timing on 4 threads, as asked"),
    ],
)
def test_search_threads_defaults_to_one_on_few_cores(requested, cores, threads, said) -> None:
    chosen, sentence = search_threads(requested, cores=cores)
    assert chosen == threads and said in sentence


def test_search_options_take_the_search_threads() -> None:
    options = MeasureOptions.for_search(batches=[1, 32])
    assert options.threads == search_threads()[0] and options.batches == [1, 32]
    assert MeasureOptions.for_search(threads=3).threads == 3


def test_every_figure_names_runtime_and_threads() -> None:
    from workbench.core.measure.conditions import Conditions

    assert Conditions("ort", "CPUExecutionProvider", "cpu", 1).short() == "ORT CPU, 1 thread"
    assert Conditions("ort", "CPUExecutionProvider", "cpu", None).short() == (
        "ORT CPU, default threads"
    )
    gpu = Conditions("ort", "CUDAExecutionProvider", "cuda:0", 4)
    assert gpu.short() == "ORT CUDA cuda:0, 4 threads"
    assert Conditions("torch", "cpu", "cpu", 1).short() == "PyTorch eager CPU, 1 thread"
