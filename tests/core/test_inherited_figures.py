"""A pass's "before" timing becomes its parent's figure: INT8 and float on one runtime."""

from __future__ import annotations

from workbench.core.compare.explain import UNKNOWN, explain
from workbench.core.compare.table import Entry
from workbench.core.compress.pruning.variant import run_pruning
from workbench.core.compress.quantization.workflow import quantize_variant
from workbench.core.io import load
from workbench.core.measure.inherited import PARENT_FIGURES, inherit_parent_figures
from workbench.core.measure.metrics import Metrics
from workbench.core.project import Project


def _entry(variant) -> Entry:
    return Entry(variant.id, variant.name, variant.metrics, variant.parent, variant.step)


def test_a_quantized_child_hands_its_parent_the_ort_figures_it_took() -> None:
    source = load("zoo:transformer_seq")
    outcome = quantize_variant(source, "dynamic", {"error_samples": 0}, batches=(1,), seconds=0.1)
    metrics = outcome.variant_metrics()
    before = Metrics.from_json(metrics[PARENT_FIGURES])
    ((key, report),) = before.latency.items()
    assert report.conditions.runtime == "ort" and report.batches[0].batch == 1
    assert key in Metrics.from_json(metrics).latency  # the child's own: the same conditions

    project = Project()
    parent = project.add_root(source)
    parent.metrics = {"latency": {}, "val_accuracy": 0.9}  # timed by nothing yet
    child = project.add_child(parent, outcome.name(), {"pass": outcome.pass_name},
                              metrics=metrics)  # fmt: skip
    untimed = Entry(parent.id, parent.name, {"latency": {}}, None, {})
    assert explain(_entry(child), untimed).verdict == UNKNOWN  # what it was: "benchmark both"
    # Adding the child filed the figures its run took of the parent on the parent:
    assert parent.metrics["val_accuracy"] == 0.9  # a run's own figures stay
    assert key in Metrics.from_json(parent.metrics).latency
    explained = explain(_entry(child), _entry(parent))
    assert explained.verdict != UNKNOWN and "p50 ort b1" in explained.headline
    assert not inherit_parent_figures(parent, child.metrics)  # once; never over its own


def test_nothing_is_inherited_from_a_child_that_measured_nothing() -> None:
    project = Project()
    parent = project.add_root(load("zoo:digits_mlp"))
    assert not inherit_parent_figures(parent, {})
    assert not inherit_parent_figures(parent, {PARENT_FIGURES: "not figures"})


def test_a_pruned_child_records_its_source_timed_beside_it() -> None:
    run = run_pruning(load("zoo:digits_cnn"), "channel-prune", {"method": "l1", "amount": 0.5},
                      batches=(1,), seconds=0.1)  # fmt: skip
    parent = Metrics.from_json(run.metrics[PARENT_FIGURES])
    own = Metrics.from_json(run.metrics)
    assert list(parent.latency) == list(own.latency)  # one runtime, the same conditions
    assert parent.latency[next(iter(parent.latency))].conditions.runtime == "ort"
