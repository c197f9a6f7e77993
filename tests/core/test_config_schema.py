"""A config dataclass read as a schema: fields, CLI flags, recipe dicts, one set of checks."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from fixtures.example_configs import Jitter, NeedsData, PruneConfig, Schedule

from workbench.core.config_schema import (
    REQUIRED,
    config_from_dict,
    config_to_dict,
    fields_of,
    validate_config,
)
from workbench.core.errors import WorkbenchError


def test_fields_describe_every_supported_type() -> None:
    specs = {spec.name: spec for spec in fields_of(PruneConfig)}
    assert list(specs) == [
        "amount", "steps", "global_", "method", "importance", "ignore", "ratios", "seed", "note"
    ]  # fmt: skip
    assert (specs["amount"].kind, specs["amount"].min, specs["amount"].max) == ("float", 0.0, 1.0)
    assert specs["amount"].help == "fraction of weights to zero"
    assert specs["steps"].kind == "int" and specs["steps"].max is None
    assert specs["global_"].kind == "bool" and specs["global_"].flag == "--global"
    assert specs["global_"].label == "Global" and specs["steps"].label == "Steps"
    assert specs["method"].choices == ("l1", "l2", "random") and specs["method"].kind == "str"
    assert specs["importance"].choices == ("magnitude", "taylor")
    assert (specs["ignore"].kind, specs["ignore"].item_kind) == ("list", "str")
    assert specs["ignore"].default == ["fc"] and specs["ratios"].item_kind == "float"
    assert specs["seed"].optional and specs["seed"].kind == "int" and specs["seed"].default is None
    assert specs["seed"].type_name == "int | None" and specs["ignore"].type_name == "list[str]"
    assert specs["amount"].flag == "--amount"
    assert fields_of(NeedsData)[0].default is REQUIRED and fields_of(NeedsData)[0].required


def test_unsupported_types_are_named_with_their_field() -> None:
    @dataclass
    class Bad:
        mapping: dict = field(default_factory=dict)

    with pytest.raises(WorkbenchError, match=r"Bad\.mapping: type .* is not supported"):
        fields_of(Bad)
    with pytest.raises(WorkbenchError, match="not a dataclass"):
        fields_of(int)


def test_recipe_dicts_round_trip_through_json() -> None:
    config = PruneConfig(amount=0.3, ignore=["a"], ratios=[0.5], seed=None, method="random")
    data = json.loads(json.dumps(config_to_dict(config)))
    assert data["amount"] == 0.3 and data["seed"] is None and data["ignore"] == ["a"]
    assert config_from_dict(PruneConfig, data) == config
    assert config_from_dict(PruneConfig, {}) == PruneConfig()
    assert config_from_dict(PruneConfig, None) == PruneConfig()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"amount": 1.5}, "step 2 (prune): amount must be between 0 and 1, got 1.5"),
        ({"amout": 0.5}, "step 2 (prune): unknown setting 'amout' (did you mean 'amount'?"),
        ({"steps": 2.5}, "step 2 (prune): steps must be a whole number, got 2.5"),
        ({"steps": True}, "step 2 (prune): steps must be a whole number, got True"),
        ({"global_": "maybe"}, "step 2 (prune): global_ must be true or false, got 'maybe'"),
        ({"note": 3}, "step 2 (prune): note must be text, got 3"),
        ({"ignore": 3}, "step 2 (prune): ignore must be a list, got 3"),
        ({"amount": None}, "step 2 (prune): amount is required"),
        ([1, 2], "step 2 (prune): the settings must be a mapping"),
    ],
)
def test_recipe_errors_name_the_step_and_the_setting(data: object, message: str) -> None:
    with pytest.raises(WorkbenchError) as info:
        config_from_dict(PruneConfig, data, where="step 2 (prune)")
    assert info.value.message.startswith(message)


def test_recipe_values_are_converted_where_the_meaning_is_clear() -> None:
    config = config_from_dict(
        PruneConfig, {"amount": 1, "steps": 2.0, "global_": "false", "ignore": "a, b", "seed": 3}
    )
    assert config.amount == 1.0 and isinstance(config.amount, float)
    assert config.steps == 2 and isinstance(config.steps, int)
    assert config.global_ is False and config.ignore == ["a", "b"] and config.seed == 3


def test_missing_required_and_cross_field_errors_are_one_line() -> None:
    with pytest.raises(WorkbenchError, match=r"^step 1 \(distill\): data is required$"):
        config_from_dict(NeedsData, {}, where="step 1 (distill)")
    with pytest.raises(WorkbenchError, match=r"^digits overfits past 50 epochs$"):
        config_from_dict(NeedsData, {"data": "digits", "epochs": 60})


def test_configs_made_in_code_are_checked_too() -> None:
    validate_config(PruneConfig())
    with pytest.raises(WorkbenchError, match=r"amount must be between 0 and 1, got -0\.1"):
        validate_config(PruneConfig(amount=-0.1), where="random-prune")


def test_nested_configs_exclusive_limits_and_groups() -> None:
    (lr, smoothing, epochs, jitter) = fields_of(Schedule)
    assert (lr.group, epochs.group, jitter.kind, jitter.config_class) == (
        "Optimizer", "Run", "config", Jitter,
    )  # fmt: skip
    assert (smoothing.min, smoothing.below, lr.above) == (0, 1, 0)
    assert epochs.form_max == 50 and epochs.max is None  # a form's range, not a limit
    config = Schedule(jitter=Jitter(scale=0.5, flip=True))
    data = config_to_dict(config)
    assert data["jitter"] == {"scale": 0.5, "flip": True, "size": 0}
    assert config_from_dict(Schedule, json.loads(json.dumps(data))) == config
    assert config_from_dict(Schedule, {}).jitter is not Schedule().jitter  # not shared
    # The text form of a nested config: keys by name or alias, a key alone is true/bare.
    assert config_from_dict(Schedule, {"jitter": "s=0.25,flip,size"}).jitter == Jitter(
        0.25, True, 4
    )
    assert config_from_dict(Schedule, {"jitter": "none"}).jitter == Jitter()
    for data, message in [
        ({"lr": 0}, "lr must be positive, got 0"),
        ({"smoothing": 1}, "smoothing must be at least 0 and below 1, got 1"),
        ({"epochs": 0}, "epochs must be positive, got 0"),
        ({"jitter": {"scale": 2}}, "jitter: scale must be between 0 and 1, got 2"),
        ({"jitter": "wobble=1"}, "jitter: unknown 'wobble' (known: scale, flip, size)"),
        ({"jitter": "scale"}, "jitter: scale needs a value (scale=...)"),
    ]:
        with pytest.raises(WorkbenchError) as info:
            config_from_dict(Schedule, data, where="s")
        assert info.value.message == f"s: {message}"
    with pytest.raises(WorkbenchError, match="jitter: size must be at least 0"):
        validate_config(Schedule(jitter=Jitter(size=-1)))
