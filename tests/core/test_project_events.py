"""A Project says what changed: listeners hear of added, changed, removed variants and
state changes (psygnal, no Qt)."""

from __future__ import annotations

import pytest
from fixtures.loaded_stub import digits_loaded

from workbench.core.io import load
from workbench.core.measure.inherited import parent_figures
from workbench.core.measure.latency import latency_under
from workbench.core.measure.metrics import Metrics
from workbench.core.measure.options import MeasureOptions
from workbench.core.project import Project, ProjectError


@pytest.fixture
def heard() -> tuple[Project, list[tuple[str, object]]]:
    project = Project()
    events: list[tuple[str, object]] = []
    for name in ("variant_added", "variant_changed", "variant_removed", "state_changed"):
        getattr(project.events, name).connect(lambda v, name=name: events.append((name, v.id)))
    project.events.replaced.connect(lambda p: events.append(("replaced", p)))
    return project, events


def test_a_listener_hears_variants_added(heard) -> None:
    project, events = heard
    root = project.add_root(digits_loaded())
    child = project.add_child(root, "pruned", {"pass": "prune"})
    assert events == [("variant_added", root.id), ("variant_added", child.id)]


def test_a_variant_built_first_is_heard_of_when_added(heard) -> None:
    project, events = heard
    root = project.new_root(digits_loaded())
    assert not events and root.id not in project.variants
    project.add(root)
    assert events == [("variant_added", root.id)] and project.variants[root.id] is root
    with pytest.raises(ProjectError):
        project.add(root)
    orphan = project.new_child(root, "x", {})
    orphan.parent = "missing"
    with pytest.raises(KeyError):
        project.add(orphan)


def test_a_listener_hears_changes_made_through_the_project(heard) -> None:
    project, events = heard
    root = project.add_root(digits_loaded())
    events.clear()
    project.update_variant(root, metrics={"size": 1}, name="renamed")
    assert root.metrics == {"size": 1} and root.name == "renamed"
    with project.changing(root) as variant:
        variant.metrics["latency"] = 2.0
        assert events == [("variant_changed", root.id)]  # not yet: after the block
    assert events == [("variant_changed", root.id)] * 2
    with pytest.raises(TypeError):
        project.update_variant(root, colour="red")


def test_a_listener_hears_state_changes_that_are_news(heard) -> None:
    project, events = heard
    root = project.add_root(digits_loaded())
    events.clear()
    project.set_state(root, "running")
    project.set_state(root, "running")
    project.set_state(root, "failed")
    assert events == [("state_changed", root.id)] * 2 and root.state == "failed"


def test_removing_a_variant_removes_what_was_made_from_it(heard) -> None:
    project, events = heard
    root = project.add_root(digits_loaded())
    child = project.add_child(root, "pruned", {"pass": "prune"})
    grandchild = project.add_child(child, "int8", {"pass": "quantize"})
    other = project.add_child(root, "other", {"pass": "prune"})
    events.clear()
    assert project.remove(child) == [grandchild, child]
    assert events == [("variant_removed", grandchild.id), ("variant_removed", child.id)]
    assert set(project.variants) == {root.id, other.id}
    with pytest.raises(KeyError):
        project.update_variant(child, name="gone")


def test_replacing_the_variants_is_one_event(heard) -> None:
    project, events = heard
    project.add_root(digits_loaded())
    opened = Project(name="opened")
    kept = opened.add_root(digits_loaded())
    events.clear()
    project.replace_with(opened)
    assert events == [("replaced", project)]
    assert project.name == "opened" and list(project.variants.values()) == [kept]


def test_a_stopped_listener_hears_nothing_more(heard) -> None:
    project, _ = heard
    seen: list[str] = []
    project.events.variant_added.connect(seen.append)
    project.add_root(digits_loaded())
    project.events.variant_added.disconnect(seen.append)
    project.add_root(digits_loaded())
    assert len(seen) == 1


def test_names_stay_apart_and_a_child_hands_its_parent_the_figures_it_took() -> None:
    project = Project()
    loaded = load("zoo:digits_mlp")
    first, second = project.add_root(loaded), project.add_root(loaded)
    assert (first.name, second.name) == ("digits_mlp", "digits_mlp (2)")
    trained = [project.add_child(first, "digits_mlp (trained)", {"pass": "train"})
               for _ in range(3)]  # fmt: skip
    assert [v.name for v in trained] == ["digits_mlp (trained)", "digits_mlp (trained) (2)",
                                         "digits_mlp (trained) (3)"]  # fmt: skip
    changed = []
    project.events.variant_changed.connect(changed.append)
    before = Metrics()  # what a pass timed of the parent, beside its result
    report = latency_under(loaded, MeasureOptions(runtime="ort", batches=[1], seconds=0.05))
    before.latency[report.key] = report
    child = project.add_child(first, "int8", {"pass": "quantize-static"},
                              metrics=parent_figures(before))  # fmt: skip
    assert changed == [first] and first.metrics["latency"]
    assert child.name == "int8"
