"""`workbench optimize` on the digits CNN trained briefly: a real search (channel
pruning, distillation, fine-tuning, static INT8, ORT timing) within a small budget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures.compare_variants import trained_root

from workbench.cli import main
from workbench.core.context import RunContext
from workbench.core.io import load
from workbench.core.io.variant_folder import VariantRecord, write_variant
from workbench.core.measure.accuracy import evaluate
from workbench.core.optimize import (
    CandidateFinished,
    CandidateSkipped,
    OptimizeConfig,
    optimize,
)
from workbench.core.optimize.space import plan

pytestmark = pytest.mark.slow
BUDGET = "40s"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("optimize") / "trained"
    record = VariantRecord("digits", "zoo:digits_cnn", "digits_cnn", "digits", "pytorch", {}, {})
    write_variant(folder, record, trained_root())
    return folder


def _config(**changes) -> OptimizeConfig:
    settings = {"budget": BUDGET, "ratios": [0.5, 0.75], "epochs": 1, "seconds": 0.05}
    return OptimizeConfig(**{**settings, **changes})


@pytest.fixture(scope="module")
def search(source: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("search")
    events: list = []
    result = optimize(str(source), _config(), out, on_event=events.append)
    return result, events


def _dominates(a: dict, b: dict) -> bool:
    ms_a, ms_b = a["latency_ms"]["1"], b["latency_ms"]["1"]
    return ms_a <= ms_b and a["top1"] >= b["top1"] and (ms_a, a["top1"]) != (ms_b, b["top1"])


def test_front_is_non_empty_monotone_and_every_candidate_opens(search) -> None:
    result, events = search
    document = json.loads((result.out / "pareto.json").read_text())
    records = document["candidates"]
    assert len(records) >= 3 and result.front
    front = [r for r in records if r["on_front"]]
    assert [r["key"] for r in front] == [r["key"] for r in records if r["key"] in result.front]
    for point in front:  # no point of the front is beaten on both axes
        assert not any(_dominates(other, point) for other in records), point["key"]
    for record in records[1:]:
        assert record["speedup"]["1"] > 0 and record["original_ms"]["1"] > 0
        loaded = load(result.out / record["folder"])
        assert (loaded.module is not None) or (loaded.onnx_model is not None)
    assert sum(isinstance(e, CandidateFinished) for e in events) == len(records) - 1
    assert "## Pareto front" in (result.out / "report.md").read_text()
    assert document["conditions"]["threads"] == 1  # the test machine has 2 cores


def test_budget_is_respected(search, source: Path, tmp_path: Path) -> None:
    result, _ = search
    longest = max(r["seconds"] for r in result.records[1:])
    assert result.stopped in ("budget", "done")
    assert result.elapsed_s <= OptimizeConfig(budget=BUDGET).budget_s + longest + 5
    # A budget spent by the screening: no candidate starts after it.
    # 0.2 s: measuring the original alone takes longer, on any machine (3 s was not
    # always enough to stop the whole digits search on an idle one).
    short = optimize(str(source), _config(budget="0.2s", recovery=["finetune"]), tmp_path)
    assert short.stopped == "budget"
    started_late = [r for r in short.records[1:] if r["seconds"] > 0]
    assert short.elapsed_s <= 0.2 + sum(r["seconds"] for r in started_late) + 10


def test_chosen_recipe_replays_to_the_same_accuracy(search, tmp_path: Path) -> None:
    result, _ = search
    chosen = result.chosen
    assert chosen is not None, "no candidate within the floor on digits"
    assert chosen["top1"] >= result.records[0]["top1"] - 0.01
    replay = tmp_path / "replay"
    assert main(["run", str(result.out / "recipe.yaml"), "--out", str(replay)]) == 0
    steps = sorted(p for p in replay.iterdir() if (p / "variant.json").is_file())
    last = steps[-1]
    assert (
        last.name.endswith(chosen["steps"][-1]["pass"]) and len(steps) == len(chosen["steps"]) + 1
    )
    top1 = evaluate(load(last), data="digits").top1
    assert top1 == pytest.approx(chosen["top1"], abs=0.01)


def test_cancel_keeps_finished_candidates_and_resume_continues(
    source: Path, tmp_path: Path
) -> None:
    ctx = RunContext()
    finished: list[str] = []

    def stop_after_first(event) -> None:
        if isinstance(event, CandidateFinished):
            finished.append(event.record["key"])
            ctx.cancel.cancel()

    config = _config(ratios=[0.5], recovery=["finetune"], sensitivity=False)
    out = tmp_path / "search"
    result = optimize(str(source), config, out, ctx=ctx, on_event=stop_after_first)
    assert result.stopped == "cancelled" and finished == ["p0-int8"]
    kept = json.loads((out / "pareto.json").read_text())
    assert [r["key"] for r in kept["candidates"]] == ["original", "p0-int8"]
    events: list = []
    again = optimize(str(source), config, out, resume=True, on_event=events.append)
    resumed = [e.record["key"] for e in events if isinstance(e, CandidateFinished) and e.resumed]
    assert resumed == ["p0-int8"]
    assert again.stopped == "done"
    assert {r["key"] for r in again.records} == {"original", "p0-int8", "p0.5-finetune",
                                                  "p0.5-finetune-int8"}  # fmt: skip


def test_a_ratio_that_keeps_a_smaller_ones_channels_is_not_trained_again(
    source: Path, tmp_path: Path
) -> None:
    """Multiples of 8 floor the digits CNN's 32/64/64/128 channels at 8 from 0.9375 on, so
    0.95 would train the same network a second time (screening lets both through here)."""
    config = _config(ratios=[0.9375, 0.95], recovery=["finetune"], quantization=["none"],
                     sensitivity=False, proxy_margin=100.0)  # fmt: skip
    result = optimize(str(source), config, tmp_path / "search")
    assert [r["key"] for r in result.records] == ["original", "p0.9375-finetune"]
    assert result.skipped == [{"key": "p0.95", "reason": "pruned at 0.95 it keeps the "
                               "channels 0.9375 keeps (multiples of 8)"}]  # fmt: skip
    proxies = json.loads((tmp_path / "search" / "pareto.json").read_text())["proxies"]
    assert proxies[0]["channels"] == proxies[1]["channels"]
    assert set(proxies[0]["channels"].values()) <= {8, 10}  # the classifier keeps 10


def test_a_screened_out_ratio_is_tried_with_the_time_left(source: Path, tmp_path: Path) -> None:
    """The screen (here: 50 % pruned, no fine-tune, within 1 point) orders the work; with
    budget to spare the ratio is still distilled, and then not listed as skipped."""
    config = _config(ratios=[0.5], recovery=["distill"], quantization=["none"],
                     sensitivity=False, proxy_epochs=0, proxy_margin=0.0)  # fmt: skip
    events: list = []
    result = optimize(str(source), config, tmp_path / "search", on_event=events.append)
    document = json.loads((tmp_path / "search" / "pareto.json").read_text())
    assert document["proxies"][0]["hopeless"]
    reasons = [e.reason for e in events if isinstance(e, CandidateSkipped)]
    assert len(reasons) == 1 and "screened out" in reasons[0] and "if time is left" in reasons[0]
    assert [r["key"] for r in result.records] == ["original", "p0.5-distill"]
    assert result.stopped == "done" and result.skipped == [] and document["skipped"] == []


def test_bad_input_is_one_line_exit_2(source: Path, tmp_path: Path, capsys) -> None:
    assert main(["optimize", str(source), "--budget", "soon", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "budget" in err[0]
    assert main(["optimize", str(source), "--ratios", "0.5,0.97", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "at most 0.95" in err[0]
    assert main(["optimize", str(source), "--resume", "--out", str(tmp_path / "none")]) == 2
    assert "nothing to resume" in capsys.readouterr().err


def test_distilled_candidates_drop_blocks_up_to_what_the_model_has() -> None:
    """Each depth is its own distilled candidate, right after the full-depth one, with
    its quantized child; fine-tuning keeps every block; a depth beyond the model's
    droppable blocks is not planned."""
    config = OptimizeConfig(ratios=[0.5], drop_blocks=[0, 1, 3], recovery=["distill", "finetune"],
                            quantization=["none", "int8"])  # fmt: skip
    candidates, _ = plan(config, [0.5], {}, 0, blocks=2)
    assert [c.key for c in candidates] == [
        "p0-int8", "p0.5-distill", "p0.5-distill-int8", "p0.5-d1-distill",
        "p0.5-d1-distill-int8", "p0.5-finetune", "p0.5-finetune-int8",
    ]  # fmt: skip
    shallow = {c.key: c for c in candidates}["p0.5-d1-distill-int8"]
    assert shallow.parent == "p0.5-d1-distill" and shallow.depth == 1
    assert shallow.steps[0]["config"]["drop_blocks"] == 1
    assert "drop_blocks" not in candidates[1].own_step["config"]
    assert [c.key for c in plan(config, [0.5], {}, 0)[0]] == [
        "p0-int8",
        "p0.5-distill",
        "p0.5-distill-int8",
        "p0.5-finetune",
        "p0.5-finetune-int8",
    ]


def test_a_depth_the_model_cannot_lose_is_skipped_in_one_line(tmp_path: Path) -> None:
    """zoo:resnet_shapes has 5 blocks that keep their input's shape: 9 are too many, and
    with no other depth asked for, no distilled candidate is planned."""
    config = OptimizeConfig(budget="60s", ratios=[0.5], drop_blocks=[9], recovery=["distill"],
                            quantization=["none"], proxy_epochs=0, seconds=0.02,
                            rounds=1)  # fmt: skip
    result = optimize("zoo:resnet_shapes", config, tmp_path / "search", data="shapes")
    assert result.skipped[0] == {"key": "d9", "reason": "dropping 9 block(s): resnet_shapes "
                                 "has 5 that keep their input's shape"}  # fmt: skip
    assert [r["key"] for r in result.records] == ["original"]
