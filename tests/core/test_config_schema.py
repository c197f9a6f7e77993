"""A config dataclass read as a schema: fields, CLI flags, recipe dicts, one set of checks."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from typing import Literal

import pytest

from workbench.core.config_schema import (
    REQUIRED,
    add_arguments,
    config_from_args,
    config_from_dict,
    config_to_dict,
    fields_of,
    validate_config,
)
from workbench.core.errors import WorkbenchError


@dataclass
class PruneConfig:
    amount: float = field(
        default=0.5, metadata={"help": "fraction of weights to zero", "min": 0.0, "max": 1.0}
    )
    steps: int = field(default=1, metadata={"help": "how many rounds", "min": 1})
    global_: bool = field(default=True, metadata={"flag": "--global", "label": "Global"})
    method: Literal["l1", "l2", "random"] = "l1"
    importance: str = field(default="magnitude", metadata={"choices": ["magnitude", "taylor"]})
    ignore: list[str] = field(default_factory=lambda: ["fc"], metadata={"help": "layer names"})
    ratios: list[float] = field(default_factory=list, metadata={"min": 0.0, "max": 1.0})
    seed: int | None = None
    note: str = ""


@dataclass
class NeedsData:
    data: str = field(metadata={"help": "a dataset name"})
    epochs: int = 1

    def __post_init__(self) -> None:
        if self.data == "digits" and self.epochs > 50:
            raise ValueError("digits overfits past 50 epochs")


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench prune", exit_on_error=True)
    add_arguments(parser, PruneConfig, title="pruning settings")
    return parser


def test_flags_parse_into_a_typed_config() -> None:
    args = _parser().parse_args(
        [
            *("--amount", "0.25", "--steps", "3", "--no-global", "--method", "l2"),
            *("--importance", "taylor", "--ignore", "fc,head", "--ratios", "0.1,0.2"),
            *("--seed", "7", "--note", "hi"),
        ]
    )
    config = config_from_args(PruneConfig, args)
    assert config == PruneConfig(
        0.25, 3, False, "l2", "taylor", ["fc", "head"], [0.1, 0.2], 7, "hi"
    )


def test_absent_flags_take_the_defaults_without_sharing_lists() -> None:
    first = config_from_args(PruneConfig, _parser().parse_args([]))
    assert first == PruneConfig()
    first.ignore.append("x")
    assert config_from_args(PruneConfig, _parser().parse_args([])).ignore == ["fc"]
    assert config_from_args(PruneConfig, _parser().parse_args(["--seed", "none"])).seed is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--amount", "1.5"], "amount must be between 0 and 1, got '1.5'"),
        (["--steps", "0"], "steps must be at least 1, got '0'"),
        (["--steps", "two"], "steps must be a whole number, got 'two'"),
        (["--method", "l3"], "method must be one of l1, l2, random; got 'l3'"),
        (["--ratios", "0.5,2"], "ratios must be between 0 and 1, got '2'"),
    ],
)
def test_bad_flags_are_usage_errors_naming_the_setting(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        _parser().parse_args(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_help_lists_each_flag_with_its_help_default_and_choices() -> None:
    text = " ".join(_parser().format_help().split())
    assert "pruning settings:" in text
    assert "--amount X fraction of weights to zero (default: 0.5)" in text
    assert "--global, --no-global" in text
    assert "{l1,l2,random}" in text
    assert "--ignore TEXT[,...]" in text and "--ratios X[,...]" in text
    assert "(comma-separated) (default: fc)" in text
    assert "--seed N" in text and "(default: none)" in text


def test_required_settings_are_required_flags(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="x")
    add_arguments(parser, NeedsData)
    with pytest.raises(SystemExit):
        parser.parse_args([])
    assert "--data" in capsys.readouterr().err
    assert config_from_args(NeedsData, parser.parse_args(["--data", "shapes"])).data == "shapes"


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
