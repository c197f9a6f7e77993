"""A language model's tokens/s kept on the variant (#23): measured on a real ORT session,
stored in ``Metrics``, read back, shown as table and inspector rows, and used as the
scatter's speed axis (higher better) against perplexity (lower better)."""

from __future__ import annotations

import dataclasses
import json

from fixtures.tiny_lm import trained_tiny_lm

from workbench.cli import main
from workbench.core.compare import Entry, compare
from workbench.core.compare.table import HIGHER, LOWER, flat_values
from workbench.core.io import load
from workbench.core.lm.measure import is_causal_lm, measure_generation
from workbench.core.measure.metrics import AccuracyReport, Metrics, summary_rows


def _report():
    return measure_generation(trained_tiny_lm(), batches=(1, 2), new_tokens=4, rounds=2)


def test_measured_tokens_per_s_round_trip_and_read_as_rows() -> None:
    report = _report()
    assert (report.runtime, report.key) == ("ort", "ort")
    assert [p.batch for p in report.points] == [1, 2]
    for point in report.points:
        assert point.tokens_per_s > 0 and point.prefill_ms > 0 and len(point.rounds) == 2
    assert all(p.prompt_tokens == 32 for p in report.points)
    assert "no KV cache" in report.note
    stored = Metrics(generation={report.key: report}).to_json()
    back = Metrics.from_json(json.loads(json.dumps(stored)))
    assert back.generation[report.key] == report

    rows = {spec.key: (spec, value) for spec, value in flat_values(stored).items()}
    spec, value = rows["generation.ort.b1.tokens_per_s"]
    assert spec.label == "decode tokens/s ort/CPU b1"
    assert (spec.better, spec.group) == (HIGHER, "generation")
    assert value == report.points[0].tokens_per_s
    prefill, _ = rows["generation.ort.b2.prefill_ms"]
    assert prefill.better == LOWER and prefill.label == "prefill 32 tokens ort/CPU b2"

    inspector = dict(summary_rows(stored))
    speed = f"{report.points[0].tokens_per_s:,.0f} tokens/s"
    assert inspector["decode ort/CPU b1"].startswith(speed)


def test_the_front_runs_towards_fast_and_low_perplexity() -> None:
    report = _report()

    def entry(name: str, tokens_per_s: float, perplexity: float) -> Entry:
        points = [dataclasses.replace(p, tokens_per_s=tokens_per_s) for p in report.points]
        measured = dataclasses.replace(report, points=points)
        accuracy = AccuracyReport("ort", "CPUExecutionProvider", "stdlib-text",
                                  "language-modeling", 64, perplexity=perplexity)  # fmt: skip
        metrics = Metrics(generation={"ort": measured}, accuracy={"ort": accuracy})
        return Entry(id=name, name=name, metrics=metrics.to_json())

    # "slow" is best on perplexity; "int4" is faster and nearly as good; "bad" is beaten
    # by "int4" on both axes.
    result = compare([entry("slow", 100, 10.0), entry("int4", 300, 10.4), entry("bad", 200, 12)])
    assert result.axes.x == "generation.ort.b1.tokens_per_s"
    assert result.axes.y == "accuracy.ort.perplexity"
    assert [p.name for p in result.front] == ["int4", "slow"]  # x higher-better, sorted


def test_only_language_models_are_timed_for_generation() -> None:
    assert is_causal_lm(trained_tiny_lm())
    assert not is_causal_lm(load("zoo:digits_cnn"))


def test_compare_measure_adds_tokens_per_s_rows_for_a_language_model(capsys) -> None:
    models = ["zoo:tiny_lm:width=32,layers=1", "zoo:tiny_lm:width=32,layers=2"]
    code = main(["compare", "--measure", *models, "--runs", "3", "--seconds", "0",
                 "--samples", "64", "--json"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = {row["key"]: row for row in json.loads(out)["rows"]}
    for model in models:
        assert rows["generation.ort.b1.tokens_per_s"][model] > 0
        assert rows["generation.ort.b8.tokens_per_s"][model] > 0
    # two untrained models: the scatter still places them by tokens/s and perplexity
    assert json.loads(out)["axes"]["x"] == "generation.ort.b1.tokens_per_s"
    assert rows["generation.ort.b8.prefill_ms"]["better"] == "lower"
