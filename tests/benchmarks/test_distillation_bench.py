"""Distillation on shapes: does the teacher help a student a quarter its size? (issue 9)

A ResNet-style teacher (zoo:resnet_shapes) is trained briefly on a subset of shapes
(conftest.py's ``shapes_teacher``: once per session, the static INT8 benchmark uses it too);
the same architecture at width 0.48 (23 % of the parameters; fresh weights but for the
few tensors of the teacher's shape) is trained twice from the same start, seed and
epochs: with the teacher (distillation, its answers cached once) and without it
(baseline). Accuracies are deterministic for the seed and
thread count, so the targets are asserted as they are; the wall time depends on the
machine's load and is held to the ~3 minute budget only under WORKBENCH_STRICT_BENCH=1
(3x slack by default; printed always).

Settings found by trying (4,000 samples, one thread, seed 0): a pruned copy of the
teacher (pruned:0.52, from its weights) gained nothing over its baseline in 3-4 epochs
(92.8 % vs 92.8 %, with augmentation 92.8 % vs 93.1 %); width 0.45/0.48 from scratch
needed the 12 student epochs below to come within 2 points of the teacher with the
teacher still ahead of the baseline (8 epochs: 92.5 % vs 92.6 %).
"""

from __future__ import annotations

import time

import pytest
import torch
from bench_limits import STRICT, limit

from workbench.core.compress import run_pass
from workbench.core.compress.distillation.config import DistillConfig
from workbench.core.compress.distillation.distill_pass import Distill
from workbench.core.context import RunContext

pytestmark = [pytest.mark.benchmark, pytest.mark.slow]

STUDENT = "zoo:resnet_shapes:width=0.48"  # 23 % of the parameters
STUDENT_EPOCHS = 12
MAX_RATIO = 0.25
MIN_GAIN_POINTS = 1.0
MAX_GAP_POINTS = 2.0
BUDGET_S = limit(180, 3.0)
ACCURACY_TARGETS_ASSERTED = (
    True  # deterministic figures: no slack  # 3 minutes strict; a loaded shared machine gets 3x
)


@pytest.fixture
def one_thread():
    """One intra-op thread: on a shared 2-core machine two torch threads fighting other
    processes ran 4x slower than one (1.8 s vs 7.0 s per ResNet step, measured), and the
    figures then do not depend on the thread count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_distilled_student_beats_its_baseline_and_nears_the_teacher(
    one_thread, shapes_teacher
) -> None:
    start = time.perf_counter()
    data = shapes_teacher.data
    teacher = shapes_teacher.copy()
    teacher_s = shapes_teacher.seconds  # trained once per session (conftest.py)
    distill = DistillConfig(
        student=STUDENT,
        alpha=0.1,
        temperature=4.0,
        epochs=STUDENT_EPOCHS,
        batch_size=128,
        lr=3e-3,
        baseline=True,
    )
    result = run_pass(Distill, teacher, distill, RunContext(device="cpu", data=data))
    total_s = teacher_s + time.perf_counter() - start
    m = result.metrics
    print(
        f"\ndistillation on shapes ({data.num_train} training / {data.num_val} validation "
        f"samples): teacher resnet_shapes, {shapes_teacher.epochs} epochs -> "
        f"{m['teacher_accuracy']:.2%}; student "
        f"{STUDENT} ({m['parameter_ratio']:.1%} of the parameters, {m['student_macs']:,} vs "
        f"{m['teacher_macs']:,} MACs), {STUDENT_EPOCHS} epochs: distilled "
        f"{m['student_accuracy']:.2%}, baseline without the teacher "
        f"{m['baseline_accuracy']:.2%}; gain {m['gain_over_baseline_points']:+.2f} points "
        f"(target >= {MIN_GAIN_POINTS}), gap to the teacher "
        f"{m['gap_to_teacher_points']:.2f} points (target <= {MAX_GAP_POINTS}); latency at "
        f"batch 1 (1 thread) {m['student_latency_ms']:.2f} ms vs {m['teacher_latency_ms']:.2f} "
        f"ms ({m['speedup']:.1f}x); teacher cached: {m['teacher_cached']}; time: teacher "
        f"{teacher_s:.0f} s, distillation + baseline + measuring {total_s - teacher_s:.0f} s, "
        f"total {total_s:.0f} s (budget {BUDGET_S:.0f} s{'' if STRICT else ', with slack'})"
    )
    met = (
        m["gain_over_baseline_points"] >= MIN_GAIN_POINTS
        and m["gap_to_teacher_points"] <= MAX_GAP_POINTS
    )
    print(f"accuracy targets {'met' if met else 'NOT met'} with these settings")
    assert m["parameter_ratio"] <= MAX_RATIO
    assert m["student_accuracy"] > 0.5 and m["baseline_accuracy"] > 0.5  # both trained
    if ACCURACY_TARGETS_ASSERTED:
        assert m["gain_over_baseline_points"] >= MIN_GAIN_POINTS
        assert m["gap_to_teacher_points"] <= MAX_GAP_POINTS
    assert total_s <= BUDGET_S
