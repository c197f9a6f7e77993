"""Recipes: parsed with their lines, validated before anything runs, replayed exactly."""

from __future__ import annotations

import textwrap

import pytest
import torch

from workbench.core.catalogue import get_registry
from workbench.core.compress import run_pass
from workbench.core.config_schema import config_to_dict
from workbench.core.context import Cancelled, RunContext
from workbench.core.io import load
from workbench.core.project import Project
from workbench.core.recipe import (
    Recipe,
    RecipeError,
    RecipeStep,
    parse_recipe,
    recipe_from_lineage,
    run_recipe,
    validate_recipe,
)
from workbench.core.train import AugmentConfig, TrainConfig
from workbench.core.train.train_pass import Train

RECIPE = """\
recipe: 1
model: zoo:digits_mlp
data: digits
seed: 3
steps:
  - pass: train
    config: {epochs: 4, batch_size: 128}

  - pass: random-prune
    config:
      amount: 0.6
      seed: 5
"""


def test_parse_keeps_each_steps_line_and_settings() -> None:
    recipe = parse_recipe(RECIPE, source="r.yaml")
    assert [s.pass_name for s in recipe.steps] == ["train", "random-prune"]
    assert [s.line for s in recipe.steps] == [6, 9]
    assert recipe.steps[1].config == {"amount": 0.6, "seed": 5}
    assert (recipe.model, recipe.data, recipe.seed) == ("zoo:digits_mlp", "digits", 3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps: [", r"^r\.yaml:1: not valid YAML"),
        ("- a\n- b\n", r"^r\.yaml: a recipe is a mapping"),
        ("steps: []\n", r"'steps' must be a non-empty list"),
        ("stepz: []\n", r"unknown keys stepz"),
        ("recipe: 2\nsteps: [{pass: train}]\n", r"version 2"),
        ("steps:\n  - {config: {}}\n", r"^r\.yaml:2: step 1: each step needs 'pass: NAME'"),
        ("steps:\n  - {pass: train, confg: {}}\n", r"unknown keys confg"),
        ("text: body\nsteps: [{pass: train}]\n", r"^r\.yaml: 'text' must be a mapping"),
        ("text: {colum: body}\nsteps: [{pass: train}]\n", r"unknown keys in 'text': colum"),
        ("text: {max_length: 0}\nsteps: [{pass: train}]\n", r"max_length must be a whole"),
        ("text: {column: 3}\nsteps: [{pass: train}]\n", r"text column must be a column name"),
    ],
)
def test_malformed_recipes_are_refused_with_the_line(text: str, message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        parse_recipe(text, source="r.yaml")


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("{pass: no-such-pass}", r"^r\.yaml:3: step 2 \(no-such-pass\): no pass named"),
        ("{pass: random-prune, config: {amount: 2}}", r"^r\.yaml:3: step 2 .*amount must be"),
        ("{pass: random-prune, config: {amout: 0.1}}", r"^r\.yaml:3: step 2 .*amout"),
        ("{pass: train, config: {epochs: 0}}", r"^r\.yaml:3: step 2 \(train\): epochs must be"),
    ],
)
def test_every_step_is_checked_before_any_runs(step: str, message: str) -> None:
    recipe = parse_recipe(f"steps:\n  - {{pass: train}}\n  - {step}\n", source="r.yaml")
    with pytest.raises(RecipeError, match=message):
        validate_recipe(recipe)
    ran: list = []
    with pytest.raises(RecipeError):  # run_recipe validates first: step 1 never trains
        run_recipe(recipe, load("zoo:digits_mlp"), data="digits", on_step=ran.append)
    assert ran == []


def test_replay_equals_the_same_steps_done_by_hand() -> None:
    recipe = parse_recipe(RECIPE)
    model = load("zoo:digits_mlp")
    before = {k: v.clone() for k, v in model.module.state_dict().items()}
    outcomes = run_recipe(recipe, model, ctx=RunContext(seed=recipe.seed))
    assert [o.pass_name for o in outcomes] == ["train", "random-prune"]
    for key, value in model.module.state_dict().items():  # the input is never changed
        assert torch.equal(value, before[key])

    # By hand: the trainer with the same settings, then the pass.
    from workbench.core.data.resolve import resolve_dataset
    from workbench.core.train import TrainConfig, Trainer

    config = TrainConfig(epochs=4, batch_size=128)
    trained = Trainer(model.module, resolve_dataset("digits"), config).fit().model
    import dataclasses

    by_hand = run_pass(
        get_registry().pass_("random-prune").load(),
        dataclasses.replace(model, module=trained),
        {"amount": 0.6, "seed": 5},
    )
    replayed = outcomes[-1].model.module.state_dict()
    for key, value in by_hand.model.module.state_dict().items():
        assert torch.equal(value, replayed[key]), key
    assert outcomes[0].metrics["val_accuracy"] > 0.5  # it trained: chance is 0.1
    assert outcomes[1].metrics["sparsity"] == pytest.approx(0.6, abs=0.01)
    assert outcomes[1].step == {"pass": "random-prune", "config": outcomes[1].step["config"]}


def test_cancel_stops_between_steps() -> None:
    recipe = parse_recipe(RECIPE)
    ctx = RunContext()
    ctx.cancel.cancel()
    with pytest.raises(Cancelled):
        run_recipe(recipe, load("zoo:digits_mlp"), ctx=ctx)


def test_a_lineage_becomes_a_recipe_that_round_trips() -> None:
    project = Project()
    root = project.add_root(load("zoo:digits_cnn"))
    trained = project.add_child(
        root, "trained", {"pass": "trained", "config": {"epochs": 2, "lr": 0.01}}
    )
    pruned = project.add_child(
        trained, "pruned", {"pass": "random-prune", "config": {"amount": 0.5}}
    )
    recipe = recipe_from_lineage(project, pruned.id)
    assert recipe.model == "zoo:digits_cnn" and recipe.data == "digits"
    again = parse_recipe(recipe.to_yaml())
    assert [(s.pass_name, s.config) for s in again.steps] == [
        ("train", {"epochs": 2, "lr": 0.01}),
        ("random-prune", {"amount": 0.5}),
    ]
    validate_recipe(again)
    with pytest.raises(RecipeError, match="root variant"):
        recipe_from_lineage(project, root.id)


def test_how_texts_were_read_goes_from_the_lineage_into_the_recipe_file() -> None:
    """A step that read texts by a column records it; the recipe of its lineage says it
    once (``text:``) and its file keeps it (tests/cli/test_text_data_cli.py replays one)."""
    project = Project()
    root = project.add_root(load("zoo:digits_mlp"))
    root.dataset = None  # as a Hugging Face folder opens: no data of its own
    text = {"column": "body", "max_length": 16}
    tuned = project.add_child(
        root,
        "tuned",
        {"pass": "fine-tuned", "config": {"epochs": 1}, "data": "posts.csv", "text": text},
    )
    pruned = project.add_child(tuned, "pruned", {"pass": "random-prune", "config": {}})
    recipe = recipe_from_lineage(project, pruned.id)
    assert "text:\n  column: body\n  max_length: 16\n" in recipe.to_yaml()
    again = parse_recipe(recipe.to_yaml())
    assert again.text == text
    # the data the first step read is the recipe's (so --data overrides it), not the step's
    assert again.data == "posts.csv" and [s.data for s in again.steps] == [None, None]
    plain = project.add_child(root, "pruned", {"pass": "random-prune", "config": {}})
    assert "text:" not in recipe_from_lineage(project, plain.id).to_yaml()


def test_a_variant_without_its_step_cannot_be_recorded() -> None:
    project = Project()
    root = project.add_root(load("zoo:digits_mlp"))
    child = project.add_child(root, "mystery", {})
    with pytest.raises(RecipeError, match=textwrap.shorten("does not record", 40)):
        recipe_from_lineage(project, child.id)


def test_a_pass_that_needs_data_gets_the_recipes_data() -> None:
    """Channel pruning with fine-tuning reads the data the recipe names."""
    recipe = parse_recipe(
        "data: digits\nsteps:\n"
        "  - pass: channel-prune\n    config: {amount: 0.5, finetune_epochs: 1}\n"
    )
    model = load("zoo:digits_cnn")
    (outcome,) = run_recipe(recipe, model)
    params = sum(p.numel() for p in outcome.model.module.parameters())
    assert params < 0.5 * sum(p.numel() for p in model.module.parameters())
    assert outcome.step["config"]["finetune_epochs"] == 1


def test_a_train_step_round_trips_like_any_pass_step() -> None:
    """A train step is stored with config_to_dict and read back with config_from_dict,
    nested augmentation included; an old file's names for it ('trained', the
    checkpoint's to_dict form) still load."""
    config = TrainConfig(
        epochs=3, lr=0.01, schedule="step", augment=AugmentConfig(crop_padding=2, hflip=True)
    )
    text = Recipe([RecipeStep("train", config_to_dict(config))], model="zoo:digits_cnn").to_yaml()
    assert "crop_padding: 2" in text  # the nested config is a mapping in the file
    (step,) = validate_recipe(parse_recipe(text))
    assert step.pass_class is Train and step.config == config

    old = parse_recipe(
        "steps:\n  - pass: trained\n    config: {epochs: 2, augment: {hflip: true}}\n"
    )
    (step,) = validate_recipe(old)
    assert step.pass_class is Train
    assert step.config == TrainConfig(epochs=2, augment=AugmentConfig(hflip=True))
    with pytest.raises(RecipeError, match=r"step 1 \(train\): augment: rotation must be"):
        validate_recipe(
            parse_recipe("steps:\n  - pass: train\n    config: {augment: {rotation: -5}}\n")
        )
