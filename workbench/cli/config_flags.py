"""Command-line flags generated from a config dataclass's schema.

The CLI face of ``workbench.core.config_schema``: one ``--kebab-case`` flag per field,
parsed and validated by the field's own rules, so every command (and ``workbench
apply`` for any registered pass, plugins' included) gets its flags from the config
and nothing restates a field's name, range or choices by hand.
"""

from __future__ import annotations

import argparse
from collections.abc import Collection
from typing import Any

from workbench.core.config_schema import FieldSpec, config_from_dict, fields_of
from workbench.core.errors import WorkbenchError


def add_config_flags(
    parser: argparse.ArgumentParser,
    config_class: type,
    *,
    title: str | None = None,
    skip: Collection[str] = (),
) -> None:
    """Add one flag per setting, in a group of their own, as ``--kebab-case`` flags.

    bool -> ``--x/--no-x``; choices are listed; lists are comma-separated. Each flag's
    ``dest`` is the field name, so do not mix two configs with shared names in one parser
    (``skip`` leaves out fields another config already added).
    """
    group = parser.add_argument_group(title or f"{config_class.__name__} settings")
    for spec in fields_of(config_class):
        if spec.name in skip:
            continue
        help_text = spec.help or spec.label
        if spec.kind == "list":
            help_text += " (comma-separated)"
        if not spec.required:
            shown = spec.default
            shown = ",".join(map(str, shown)) if isinstance(shown, list) else shown
            help_text += f" (default: {'none' if shown is None else shown})"
        help_text = help_text.replace("%", "%%")  # argparse formats help with %
        if spec.kind == "bool" and not spec.optional:
            group.add_argument(
                spec.flag,
                *spec.aliases,
                dest=spec.name,
                action=argparse.BooleanOptionalAction,
                default=spec.default_value() if not spec.required else None,
                required=spec.required,
                help=help_text,
            )
            continue
        group.add_argument(
            spec.flag,
            *spec.aliases,
            dest=spec.name,
            type=_argparse_type(spec),
            default=spec.default_value() if not spec.required else None,
            required=spec.required,
            metavar=metavar(spec),
            help=help_text,
        )


def _argparse_type(spec: FieldSpec) -> Any:
    def convert(text: str) -> Any:
        try:
            return spec.parse(text)
        except WorkbenchError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None

    convert.__name__ = spec.type_name  # argparse names the type in some messages
    return convert


def metavar(spec: FieldSpec) -> str:
    """The placeholder for a flag's value in help text: ``N``, ``X``, ``{a,b}``, ``TEXT[,...]``."""
    if spec.choices is not None:
        inner = "{" + ",".join(str(c) for c in spec.choices) + "}"
        return f"{inner}[,...]" if spec.kind == "list" else inner
    names = {"int": "N", "float": "X", "str": "TEXT", "bool": "BOOL"}
    if spec.kind == "list":
        return f"{names[spec.item_kind or 'str']}[,...]"
    return names[spec.kind]


def config_from_args(config_class: type, args: argparse.Namespace) -> Any:
    """The config the flags added by ``add_config_flags`` describe, validated."""
    names = [spec.name for spec in fields_of(config_class)]
    return config_from_dict(config_class, {n: getattr(args, n) for n in names if hasattr(args, n)})
