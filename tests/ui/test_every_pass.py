"""Every registered pass, built-in and from the example plugin, through its three faces:
the command-line flags, the wizard form and the recipe step, all from its one config."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from workbench.cli.apply import pass_parser
from workbench.cli.config_flags import add_config_flags, config_from_args
from workbench.core.catalogue import get_registry, reset_registry
from workbench.core.compress import BUILTIN_PASSES
from workbench.core.config_schema import FieldSpec, config_from_dict, config_to_dict, fields_of
from workbench.core.errors import WorkbenchError
from workbench.core.recipe import Recipe, RecipeStep, parse_recipe, validate_recipe
from workbench.ui.config_form import ConfigForm

PLUGIN_PASSES = ("random-prune",)  # plugins/random_prune, one of the example plugins
PASSES = sorted({entry.name for entry in BUILTIN_PASSES} | set(PLUGIN_PASSES))


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The registry with the repository's example plugins loaded (and no user plugins)."""
    (tmp_path / "user-plugins").mkdir()
    monkeypatch.setenv("WORKBENCH_PLUGIN_DIR", str(tmp_path / "user-plugins"))
    monkeypatch.delenv("WORKBENCH_NO_PLUGINS", raising=False)
    reset_registry()
    yield get_registry()
    reset_registry()


def test_every_registered_pass_is_covered(registry: Any) -> None:
    assert set(registry.passes) == set(PASSES)


@pytest.mark.parametrize("name", PASSES)
def test_flags_form_and_recipe_step_agree_on_the_config(qtbot, registry: Any, name: str) -> None:
    pass_class = registry.pass_(name).load()
    cls = pass_class.config_class
    config = _changed_config(cls)
    assert config != _default_config(cls) or not fields_of(cls)

    # Flags: one per field; typing the values back gives the same config.
    parser = argparse.ArgumentParser(prog=name, exit_on_error=False)
    add_config_flags(parser, cls)
    assert config_from_args(cls, parser.parse_args(_argv(config))) == config
    # ... and workbench apply PASS offers the same flags, after MODEL and --out.
    options = pass_parser(pass_class).parse_args(["m.pt", "--out", "o", *_argv(config)])
    assert config_from_args(cls, options) == config

    # Form: one editor per field, showing the config and giving it back unchanged.
    form = ConfigForm(cls, config)
    qtbot.addWidget(form)
    assert set(form.editors) == {spec.name for spec in fields_of(cls)}
    assert form.is_valid(), form.error()
    assert form.value() == config

    # Recipe step: plain values, through YAML and validation, back to the same config.
    assert config_from_dict(cls, config_to_dict(config)) == config
    text = Recipe([RecipeStep(name, config_to_dict(config))], model="zoo:digits_cnn").to_yaml()
    (validated,) = validate_recipe(parse_recipe(text), registry, trusted=True)
    assert validated.pass_class is pass_class and validated.config == config


def _default_config(cls: type) -> Any:
    return config_from_dict(cls, {s.name: _sample(s) for s in fields_of(cls) if s.required})


def _changed_config(cls: type) -> Any:
    """A config with every field moved off its default where the config accepts it."""
    values = {s.name: _sample(s) for s in fields_of(cls) if s.required}
    for spec in fields_of(cls):
        trial = {**values, spec.name: _sample(spec)}
        try:
            config_from_dict(cls, trial)
        except WorkbenchError:  # a cross-field rule (__post_init__) wants the default
            continue
        values = trial
    return config_from_dict(cls, values)


def _sample(spec: FieldSpec) -> Any:
    """A valid value other than the default, round enough for every editor to show."""
    default = None if spec.required else spec.default
    if spec.kind == "bool":
        return not default
    if spec.choices is not None:
        if spec.kind == "list":
            return [spec.choices[0]] if default != [spec.choices[0]] else list(spec.choices)
        return next((c for c in spec.choices if c != default), spec.choices[0])
    if spec.kind == "list":
        return {"int": [1, 2], "float": [0.25]}.get(spec.item_kind or "str", ["a", "b"])
    if spec.kind == "str":
        return "zoo:digits_mlp" if spec.arch else "text"
    low = spec.min if spec.min is not None else 0
    high = spec.max if spec.max is not None else low + 10
    if spec.kind == "int":
        return next(v for v in (low + 1, low, high) if v != default and low <= v <= high)
    value = round(low + (high - low) / 2, 2)
    return value if value != default else round(low + (high - low) / 4, 2)


def _argv(config: Any) -> list[str]:
    argv: list[str] = []
    for spec in fields_of(type(config)):
        value = getattr(config, spec.name)
        if spec.kind == "bool" and not spec.optional:
            argv.append(spec.flag if value else f"--no-{spec.flag[2:]}")
        elif value is None:
            argv += [spec.flag, "none"]
        elif isinstance(value, list):
            argv += [spec.flag, ",".join(map(str, value))]
        else:
            argv += [spec.flag, str(value)]
    return argv


def test_display_hints_show_a_fraction_as_percent_with_a_slider(qtbot) -> None:
    from workbench.core.compress.pruning.config import ChannelPruneConfig

    form = ConfigForm(ChannelPruneConfig)
    qtbot.addWidget(form)
    amount, slider = form.editors["amount"], form.sliders["amount"]
    assert amount.suffix() == " %" and amount.value() == 50  # the config's 0.5
    assert (amount.minimum(), amount.maximum()) == (0, 95)  # the config's 0..0.95
    slider.setValue(slider.maximum())
    assert form.value().amount == 0.95
    amount.setValue(30)
    assert form.value().amount == 0.3 and slider.value() == round(30 / 95 * slider.maximum())
    assert form.editors["max_layer_amount"].suffix() == " %"
