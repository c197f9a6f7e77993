"""`workbench optimize` (issue 22), figures printed.

CI mode (default): the digits CNN trained briefly, a 3-minute budget; the front must be
non-empty and monotone, and the chosen recipe must replay to the same top-1.

Full mode (``WORKBENCH_OPTIMIZE_BENCH_FULL=1``): ``zoo:resnet_shapes:width=2`` trained
4 epochs on shapes, ``--objective latency --max-drop 1 --budget 15m``; prints the best
batch-1 single-thread ONNX Runtime speed-up within 1 point of the teacher (the issue's
target: 20x; the hand-made chain reached 24x). Run alone on this 2-core VM (stop 31):
teacher 96.10 %, 25 candidates in 642 s, chosen `pruned:0.875` with one block dropped
(stages.2.1, the 4x4 stage's second: the teacher lost least without it, 94.7 %),
distilled, at 95.90 % (-0.20 points), 25.4x batch 1 / 24.8x batch 32, replayed to the
same top-1; a second run chose the same point at 23.1x / 24.8x. Without dropping a
block the best was `pruned:0.875` distilled at 96.25 %, 21.8x (19.1x in stop 30: the
batch-1 ratio of two rounds moves about 10 % between runs), so the lenient floor
(``WORKBENCH_STRICT_BENCH`` unset) stays 15x.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import pytest
from bench_limits import limit
from fixtures.compare_variants import trained_root

from workbench.cli import main
from workbench.core.io import load
from workbench.core.io.variant_folder import VariantRecord, write_variant
from workbench.core.measure.accuracy import evaluate
from workbench.core.optimize import OptimizeConfig, optimize
from workbench.core.optimize.front import ORIGINAL

pytestmark = [pytest.mark.benchmark, pytest.mark.slow]

FULL = os.environ.get("WORKBENCH_OPTIMIZE_BENCH_FULL") == "1"
SPEEDUP_TARGET = limit(20.0, 0.75)


def _teacher(folder: Path) -> tuple[Path, str]:
    if not FULL:
        model, arch, data = trained_root(), "digits_cnn", "digits"
    else:
        from workbench.core.data.shapes import load_shapes
        from workbench.core.train import TrainConfig, Trainer

        arch, data = "resnet_shapes:width=2", "shapes"
        model = load(f"zoo:{arch}")
        config = TrainConfig(
            optimizer="adamw",
            lr=3e-3,
            weight_decay=5e-4,
            schedule="one-cycle",
            epochs=4,
            batch_size=128,
            device="cpu",
        )
        model.module = Trainer(model.module, load_shapes(), config).fit().model
    write_variant(
        folder, VariantRecord("teacher", f"zoo:{arch}", arch, data, "pytorch", {}, {}), model
    )
    return folder, data


def _print(event: object) -> None:
    print(type(event).__name__, getattr(event, "record", {}).get("key", ""), flush=True)


@pytest.mark.timeout(1800 if FULL else 600)  # full: training, 15 minutes, the last candidate
def test_optimize_returns_a_replayable_front(tmp_path: Path) -> None:
    source, data = _teacher(tmp_path / "teacher")
    config = OptimizeConfig(objective="latency", max_drop=1.0, budget="15m" if FULL else "3m")
    start = time.perf_counter()
    result = optimize(str(source), config, tmp_path / "search", data=data, on_event=_print)
    print(
        f"\nsearch: {result.stopped} after {time.perf_counter() - start:.0f} s, "
        f"{len(result.records) - 1} candidates"
    )
    print((result.out / "report.md").read_text())
    assert result.front
    front = [r for r in result.records if r["key"] in result.front]
    by_cost = sorted(front, key=lambda r: r["latency_ms"]["1"])
    assert all(a["top1"] <= b["top1"] for a, b in itertools.pairwise(by_cost)), "front not monotone"
    chosen = result.chosen
    assert chosen is not None and chosen["key"] != ORIGINAL
    print(
        f"chosen {chosen['key']}: {chosen['speedup']['1']:.1f}x batch 1, "
        f"{chosen['speedup'].get('32', float('nan')):.1f}x batch 32 (1 thread, ORT), "
        f"top-1 {-chosen['drop_points']:+.2f} points against the teacher (target: "
        f"{SPEEDUP_TARGET:.0f}x in full mode)"
    )
    replay = tmp_path / "replay"
    assert main(["run", str(result.out / "recipe.yaml"), "--out", str(replay)]) == 0
    last = sorted(p for p in replay.iterdir() if (p / "variant.json").is_file())[-1]
    top1 = evaluate(load(last), data=data).top1
    print(f"replayed {last.name}: top-1 {top1:.2%} (search: {chosen['top1']:.2%})")
    assert top1 == pytest.approx(chosen["top1"], abs=0.01)
    if FULL:
        assert chosen["speedup"]["1"] >= SPEEDUP_TARGET
