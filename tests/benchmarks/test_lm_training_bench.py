"""tiny_lm on stdlib-text: the validation perplexity curve, printed (issue 23).

Full mode (WORKBENCH_LM_BENCH_FULL=1): the zoo's tiny_lm (width 128, 4 blocks) with its
suggested settings on the whole of stdlib-text, the issue's "non-trivial perplexity in
at most 10 minutes on 2 cores". Default mode: a small tiny_lm on a slice, a few seconds,
still checking that perplexity falls far below where it starts.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import torch
from fixtures.tiny_lm import FullRun, full_tiny_lm

from workbench.core.data.stdlib_text import load_stdlib_text
from workbench.core.io import load
from workbench.core.lm.perplexity import torch_perplexity
from workbench.core.train import Trainer, suggest_config
from workbench.core.train import events as ev

pytestmark = pytest.mark.benchmark

FULL = os.environ.get("WORKBENCH_LM_BENCH_FULL") == "1"
FULL_MINUTES = 10
FULL_PERPLEXITY = 150  # of a 2,048-token vocabulary: uniform guessing is 2,048


def test_tiny_lm_validation_perplexity_curve(tmp_path: Path) -> None:
    if FULL:  # trained once, shared with the other LM benchmarks in this process
        run = full_tiny_lm()
        model, data, start, curve, minutes = "zoo:tiny_lm", run.data, *_figures(run)
        epochs = run.epochs
    else:
        model = "zoo:tiny_lm:width=64,layers=2"
        data = load_stdlib_text(context=32, max_train_tokens=24_000, max_val_tokens=4_000)
        config = suggest_config(model, data.name)
        # small steps, more of them: the curve falls within seconds
        config.epochs, config.batch_size = 4, 16
        module = load(model).module
        start = torch_perplexity(module, data.x_val, data.y_val)
        curve: list[ev.Epoch] = []
        trainer = Trainer(module, data, config, run_dir=tmp_path)
        trainer.subscribe(lambda e: curve.append(e) if isinstance(e, ev.Epoch) else None)
        began = time.perf_counter()
        trainer.fit()
        minutes, epochs = (time.perf_counter() - began) / 60, config.epochs
    tokens = data.x_train.size
    print(f"\n{model} on stdlib-text ({tokens:,} training tokens, {epochs} epochs, "
          f"{torch.get_num_threads()} threads):")  # fmt: skip
    print(f"  epoch 0: val perplexity {start:.1f}")
    for e in curve:
        print(
            f"  epoch {e.epoch}: val perplexity {e.val_perplexity:.1f}, next-token accuracy "
            f"{e.val_accuracy:.1%}, at {e.seconds / 60:.2f} min"
        )
    final = curve[-1].val_perplexity
    print(
        f"  final perplexity {final:.1f} ({start / final:.1f}x below the start) in "
        f"{minutes:.2f} min"
    )
    assert final < start / 3
    assert [e.val_perplexity for e in curve] == sorted(e.val_perplexity for e in curve)[::-1]
    if FULL:
        assert minutes <= FULL_MINUTES and final < FULL_PERPLEXITY


def _figures(run: FullRun) -> tuple[float, list, float]:
    return run.start_perplexity, run.curve, run.minutes
