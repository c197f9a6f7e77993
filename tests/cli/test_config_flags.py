"""Command-line flags generated from a config's schema: parsing, defaults, errors, help."""

from __future__ import annotations

import argparse

import pytest
from fixtures.example_configs import NeedsData, PruneConfig

from workbench.cli.config_flags import add_config_flags, config_from_args


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench prune", exit_on_error=True)
    add_config_flags(parser, PruneConfig, title="pruning settings")
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
    add_config_flags(parser, NeedsData)
    with pytest.raises(SystemExit):
        parser.parse_args([])
    assert "--data" in capsys.readouterr().err
    assert config_from_args(NeedsData, parser.parse_args(["--data", "shapes"])).data == "shapes"
