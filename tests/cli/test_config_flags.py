"""Command-line flags generated from a config's schema: parsing, defaults, errors, help."""

from __future__ import annotations

import argparse

import pytest
from fixtures.example_configs import Jitter, NeedsData, PruneConfig, Schedule

from workbench.cli.config_flags import add_config_flags, config_from_args
from workbench.core.config_schema import config_to_dict, fields_of
from workbench.core.train.config import AugmentConfig, TrainConfig


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


def test_train_config_flags_round_trip_with_the_nested_augmentation() -> None:
    """workbench train's flags are TrainConfig's: every setting typed back gives it back."""
    parser = argparse.ArgumentParser(prog="workbench train", exit_on_error=False)
    add_config_flags(parser, TrainConfig, title="training settings", defaults=False)
    config = TrainConfig(
        optimizer="sgd", lr=0.05, weight_decay=0.001, momentum=0.8, schedule="step",
        warmup_epochs=1.5, step_epochs=2, step_gamma=0.5, epochs=6, batch_size=32, seed=4,
        device="cpu", amp="bf16", grad_clip=1.0, label_smoothing=0.1, early_stopping=2,
        early_metric="val_loss", min_delta=0.01, loader_workers=1, eval_batch_size=256,
        augment=AugmentConfig(crop_padding=2, hflip=True, rotation=10.0, brightness=0.2),
    )  # fmt: skip
    argv: list[str] = []
    for name, value in config_to_dict(config).items():
        spec = next(s for s in fields_of(TrainConfig) if s.name == name)
        if name == "augment":
            value = ",".join(f"{k}={v}" for k, v in value.items())
        argv += [spec.flag, str(value)]
    assert config_from_args(TrainConfig, parser.parse_args(argv)) == config
    # The old spellings: --warmup/--workers, and augmentation's short keys.
    short = parser.parse_args(
        ["--warmup", "1", "--workers", "2", "--augment", "crop,hflip,rotate=5"]
    )
    given = config_from_args(TrainConfig, short, base=TrainConfig(epochs=3))
    assert (given.warmup_epochs, given.loader_workers, given.epochs) == (1.0, 2, 3)
    assert given.augment == AugmentConfig(crop_padding=4, hflip=True, rotation=5.0)
    assert config_from_args(TrainConfig, parser.parse_args(["--augment", "none"])) == TrainConfig()
    # Flags not given stay out: the base (suggested settings) fills them.
    assert config_from_args(TrainConfig, parser.parse_args([]), base=config) == config


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--lr", "0"], "lr must be positive, got '0'"),
        (["--optimizer", "rmsprop"], "optimizer must be one of sgd, adam, adamw; got 'rmsprop'"),
        (["--augment", "rotate=-5"], "augment: rotation must be at least 0, got '-5'"),
        (["--augment", "colour=1"], "augment: unknown 'colour' (known: crop_padding, hflip"),
        (["--label-smoothing", "1"], "label_smoothing must be at least 0 and below 1, got '1'"),
    ],
)
def test_bad_train_flags_name_the_setting(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="workbench train")
    add_config_flags(parser, TrainConfig, defaults=False)
    with pytest.raises(SystemExit) as info:
        parser.parse_args(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err.splitlines()[-1]


def test_grouped_fields_get_their_own_help_sections_and_a_nested_config_one_flag() -> None:
    parser = argparse.ArgumentParser(prog="p")
    add_config_flags(parser, Schedule, title="settings")
    text = parser.format_help()
    assert "settings (optimizer):" in text and "settings (run):" in text
    assert "--jitter KEY=VALUE[,...]" in text and "(keys: scale, flip, size)" in text
    config = config_from_args(Schedule, parser.parse_args(["--jitter", "s=0.5,flip"]))
    assert config == Schedule(jitter=Jitter(scale=0.5, flip=True))
