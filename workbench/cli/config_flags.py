"""Command-line flags generated from a config dataclass's schema.

The CLI face of ``workbench.core.config_schema``: one ``--kebab-case`` flag per field,
parsed and validated by the field's own rules, so every command (and ``workbench
apply`` for any registered pass, plugins' included) gets its flags from the config
and nothing restates a field's name, range or choices by hand.

``add_config_flags`` / ``config_from_args`` serve a command with one config;
``add_method_flags`` / ``config_for_method`` one whose ``--method`` picks among
several configs (quantize, prune): each setting is offered once, and a flag meant for
another method is refused by name.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Collection, Mapping
from dataclasses import is_dataclass
from typing import Any

from workbench.core.config_schema import FieldSpec, config_from_dict, config_to_dict, fields_of
from workbench.core.errors import WorkbenchError

NOT_GIVEN = argparse.SUPPRESS  # a flag left out is absent from the namespace


def add_config_flags(
    parser: argparse.ArgumentParser,
    config_class: type,
    *,
    title: str | None = None,
    skip: Collection[str] = (),
    defaults: bool = True,
) -> None:
    """Add one flag per setting, in a group of their own, as ``--kebab-case`` flags.

    bool -> ``--x/--no-x``; choices are listed; lists are comma-separated; a nested
    config is one flag of ``key=value,...``. Fields with a ``group`` go under a heading
    of that name. Each flag's ``dest`` is the field name, so do not mix two configs with
    shared names in one parser (``skip`` leaves out fields another config already
    added; ``add_method_flags`` shares them). ``defaults=False`` leaves a flag not
    given out of the namespace (and its default out of the help), for a command whose
    defaults depend on what it is given (``config_from_args(..., base=)``).
    """
    main = parser.add_argument_group(title or f"{config_class.__name__} settings")
    groups: dict[str, Any] = {}
    for spec in fields_of(config_class):
        if spec.name in skip:
            continue
        group = main
        if spec.group:
            if spec.group not in groups:
                heading = f"{title} ({spec.group.lower()})" if title else spec.group
                groups[spec.group] = parser.add_argument_group(heading)
            group = groups[spec.group]
        help_text = spec.help or spec.label
        if spec.kind == "list":
            help_text += " (comma-separated)"
        elif spec.kind == "config":
            help_text += f" (keys: {', '.join(s.name for s in fields_of(spec.config_class))})"
        if defaults and not spec.required:
            help_text += f" (default: {_shown(spec.default)})"
        default = spec.default_value() if defaults and not spec.required else NOT_GIVEN
        _add_flag(group, spec, help_text, default, required=defaults and spec.required)


def add_method_flags(
    parser: argparse.ArgumentParser,
    configs: Mapping[str, type],
    *,
    title: str = "settings",
    skip: Collection[str] = (),
) -> None:
    """The flags of every config in ``configs`` (method name -> config class), each once.

    A setting several methods share (same name and meaning) is one flag whose help
    names the methods and their defaults. No flag has a default in the namespace, so
    ``config_for_method`` gives the chosen method its own defaults and notices a flag
    meant for another method.
    """
    group = parser.add_argument_group(title)
    users: dict[str, list[str]] = {}
    first: dict[str, FieldSpec] = {}
    for method, config_class in configs.items():
        for spec in fields_of(config_class):
            if spec.name not in skip:
                users.setdefault(spec.name, []).append(method)
                first.setdefault(spec.name, spec)
    for name, spec in first.items():
        defaults = {m: _shown(_spec(configs[m], name).default) for m in users[name]}
        shown = (
            next(iter(defaults.values()))
            if len(set(defaults.values())) == 1
            else ", ".join(f"{m}: {v}" for m, v in defaults.items())
        )
        help_text = f"{spec.help or spec.label} (default {shown}; for {', '.join(users[name])})"
        _add_flag(group, spec, help_text, NOT_GIVEN, required=False)


def config_for_method(
    configs: Mapping[str, type],
    method: str,
    args: argparse.Namespace,
    *,
    preset: Mapping[str, Any] | None = None,
    not_for: Callable[[FieldSpec, list[str]], str] | None = None,
    where: str | None = None,
    skip: Collection[str] = (),
) -> Any:
    """``method``'s config from the flags given (``add_method_flags``), validated.

    ``preset`` holds settings the command fixes itself (they win over no flag: it is
    applied first and a given flag replaces it). A flag of another method raises
    ``WorkbenchError``; ``not_for(spec, methods)`` words that message. ``where``
    prefixes the config's own messages (default ``--method METHOD``); ``skip`` is
    what was given to ``add_method_flags``.
    """
    mine = {spec.name for spec in fields_of(configs[method])}
    every = {
        spec.name: spec
        for cls in configs.values()
        for spec in fields_of(cls)
        if spec.name not in skip
    }
    given = _given(args, every.values())
    for name in given:
        if name not in mine:
            users = [m for m, cls in configs.items() if any(
                s.name == name for s in fields_of(cls))]  # fmt: skip
            raise WorkbenchError(
                not_for(every[name], users)
                if not_for is not None
                else f"{every[name].flag} does not apply to --method {method} "
                f"(it is for {', '.join(users)})"
            )
    settings = {**(preset or {}), **given}
    return config_from_dict(configs[method], settings, where=where or f"--method {method}")


def config_from_args(config_class: type, args: argparse.Namespace, base: Any = None) -> Any:
    """The config the flags added by ``add_config_flags`` describe, validated.

    ``base`` (a config) gives the settings no flag names (with ``defaults=False``).
    """
    given = _given(args, fields_of(config_class))
    return config_from_dict(config_class, {**(config_to_dict(base) if base else {}), **given})


def metavar(spec: FieldSpec) -> str:
    """The placeholder for a flag's value in help text: ``N``, ``X``, ``{a,b}``, ``TEXT[,...]``."""
    if spec.metavar:
        return spec.metavar
    if spec.choices is not None:
        inner = "{" + ",".join(str(c) for c in spec.choices) + "}"
        return f"{inner}[,...]" if spec.kind == "list" else inner
    if spec.kind == "config":
        return "KEY=VALUE[,...]"
    names = {"int": "N", "float": "X", "str": "TEXT", "bool": "BOOL"}
    if spec.kind == "list":
        return f"{names[spec.item_kind or 'str']}[,...]"
    return names[spec.kind]


def _add_flag(group: Any, spec: FieldSpec, help_text: str, default: Any, *, required: bool) -> None:
    help_text = help_text.replace("%", "%%")  # argparse formats help with %
    if spec.kind == "bool" and not spec.optional:
        group.add_argument(
            spec.flag,
            *spec.aliases,
            dest=spec.name,
            action=argparse.BooleanOptionalAction,
            default=default,
            required=required,
            help=help_text,
        )
        return
    group.add_argument(
        spec.flag,
        *spec.aliases,
        dest=spec.name,
        type=_argparse_type(spec),
        nargs="+" if spec.several else None,  # --exclude a b, each may be a,b
        default=default,
        required=required,
        metavar=metavar(spec),
        help=help_text,
    )


def _given(args: argparse.Namespace, specs: Collection[FieldSpec]) -> dict[str, Any]:
    """The settings present in ``args``; several words of a list flag become one list."""
    given = {spec.name: getattr(args, spec.name) for spec in specs if hasattr(args, spec.name)}
    for spec in specs:
        value = given.get(spec.name)
        if spec.several and isinstance(value, list) and all(isinstance(v, list) for v in value):
            given[spec.name] = [item for part in value for item in part]
    return given


def _spec(config_class: type, name: str) -> FieldSpec:
    return next(spec for spec in fields_of(config_class) if spec.name == name)


def _shown(value: Any) -> str:
    """A default as help text shows it: ``none``, ``a,b``, ``x=1,y=True``."""
    if is_dataclass(value):
        return ",".join(f"{k}={v}" for k, v in config_to_dict(value).items())
    if isinstance(value, list):
        return ",".join(map(str, value)) or "none"
    return "none" if value is None else str(value)


def _argparse_type(spec: FieldSpec) -> Any:
    def convert(text: str) -> Any:
        try:
            return spec.parse(text)
        except WorkbenchError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None

    convert.__name__ = spec.type_name  # argparse names the type in some messages
    return convert
