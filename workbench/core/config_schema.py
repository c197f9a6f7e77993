"""A pass's config dataclass, read as a schema: form fields, CLI flags, recipe steps.

Written once as a plain dataclass (Orange's declared settings, Olive's typed pass
parameters), a config becomes the wizard page (``workbench.ui.config_form``), the
command-line flags (``workbench.cli.config_flags``) and a recipe step
(``config_to_dict`` / ``config_from_dict``), all validated by the same code so a bad
value gets the same one-line message wherever it was typed.

Field metadata (all optional): ``help``, ``choices``, ``min``, ``max``, ``label``
(the form's label), ``flag`` (the CLI flag, default ``--kebab-case-name``),
``aliases`` (more flags for it) and ``arch`` (True: the text names an architecture, a
zoo name or ``module:factory``; read from a file, a factory runs only with trust).
Hints that change how a face shows a field, never what it accepts: ``display`` (a
string or a tuple of them, for the form: ``"percent"`` shows a fraction as 0-100 %,
``"slider"`` adds a slider beside the spin box, ``"off-at-min"`` shows the minimum as
"off"), ``labels`` (choice -> the words a drop-down shows for it), ``suffix`` (the
spin box's unit, e.g. ``" worst nodes"``), ``metavar`` (the flag's placeholder) and
``several`` (True: a list flag also takes several words, ``--exclude a b``, each of
which may be comma-separated).
Supported types: int, float, bool, str, ``Literal[...]``, ``list[str|int|float]``
and ``Optional`` of any of these.

Hand-written rather than pydantic/magicgui: configs stay plain dataclasses a plugin
can write without learning a library, and the three faces need one small table of
field facts more than a general validation engine.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Union

from workbench.core.errors import WorkbenchError

KINDS = ("int", "float", "bool", "str", "list")
_KIND_OF = {int: "int", float: "float", bool: "bool", str: "str"}
_NEEDS = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "str": "text",
}
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()  # the default of a field that has none


@dataclass(frozen=True)
class FieldSpec:
    """One setting: what it is, its default, and the limits every face enforces."""

    name: str
    type: Any  # the resolved annotation
    kind: str  # one of KINDS
    default: Any  # REQUIRED when the field has no default
    help: str = ""
    choices: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    optional: bool = False  # None is allowed
    item_kind: str | None = None  # for kind "list": the kind of each item
    label: str = ""
    flag: str = ""
    aliases: tuple[str, ...] = ()  # more flags for the same setting (metadata "aliases")
    arch: bool = False  # names an architecture: module:factory in it is code (metadata "arch")
    display: tuple[str, ...] = ()  # form hints (metadata "display"; module doc)
    suffix: str = ""  # the form's unit after a number (metadata "suffix")
    choice_labels: tuple[tuple[Any, str], ...] = ()  # (choice, words) (metadata "labels")
    metavar: str = ""  # the flag's placeholder, when not derived from the type
    several: bool = False  # a list flag that takes several words (metadata "several")

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def type_name(self) -> str:
        """``float``, ``list[str]``, ``int | None``: how the type reads in help text."""
        name = f"list[{self.item_kind}]" if self.kind == "list" else self.kind
        return f"{name} | None" if self.optional else name

    def default_value(self) -> Any:
        """A fresh copy of the default (lists are not shared between configs)."""
        return list(self.default) if isinstance(self.default, list) else self.default

    def parse(self, text: str, where: str | None = None) -> Any:
        """Text from a command line or a line edit -> a checked value."""
        return self.check(text, where)

    def check(self, value: Any, where: str | None = None) -> Any:
        """A value from a recipe, a form or code -> the typed, validated value.

        Strings are parsed (``"0.5"``, ``"true"``, ``"a,b"``); anything that does not
        fit raises ``WorkbenchError`` naming the field, prefixed with ``where``.
        """
        if value is None or (self.optional and isinstance(value, str) and _is_none(value)):
            if self.optional:
                return None
            raise _error(where, f"{self.name} is required")
        if self.kind == "list":
            if isinstance(value, str):
                value = [part.strip() for part in value.split(",") if part.strip()]
            if not isinstance(value, (list, tuple)):
                raise _error(where, f"{self.name} must be a list, got {value!r}")
            return [self._one(item, self.item_kind or "str", where) for item in value]
        return self._one(value, self.kind, where)

    def _one(self, value: Any, kind: str, where: str | None) -> Any:
        converted = _convert(value, kind)
        if converted is _BAD:
            raise _error(where, f"{self.name} must be {_NEEDS[kind]}, got {value!r}")
        if self.choices is not None and converted not in self.choices:
            options = ", ".join(str(c) for c in self.choices)
            raise _error(where, f"{self.name} must be one of {options}; got {value!r}")
        if kind in ("int", "float"):
            low, high = self.min, self.max
            if (low is not None and converted < low) or (high is not None and converted > high):
                raise _error(where, f"{self.name} must be {_range_text(low, high)}, got {value!r}")
        return converted


_BAD: Any = object()


def _convert(value: Any, kind: str) -> Any:
    """``value`` as ``kind``, or ``_BAD``. bool is never taken for a number."""
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        return _BAD
    if kind == "str":
        return value if isinstance(value, str) else _BAD
    if isinstance(value, bool):
        return _BAD
    if isinstance(value, str):
        try:
            value = float(value) if kind == "float" else int(value.strip())
        except ValueError:
            return _BAD
    if kind == "int":
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value if isinstance(value, int) else _BAD
    return float(value) if isinstance(value, (int, float)) else _BAD


def _is_none(text: str) -> bool:
    return text.strip().lower() in ("", "none", "null")


def _range_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"between {low:g} and {high:g}"
    return f"at least {low:g}" if low is not None else f"at most {high:g}"


def _error(where: str | None, message: str) -> WorkbenchError:
    return WorkbenchError(f"{where}: {message}" if where else message)


@functools.lru_cache(maxsize=256)
def fields_of(config_class: type) -> tuple[FieldSpec, ...]:
    """The settings of a config dataclass, in declaration order.

    Raises ``WorkbenchError`` for a field of an unsupported type: a plugin author's
    mistake, reported when the pass is listed rather than when a user runs it.
    """
    if not dataclasses.is_dataclass(config_class):
        raise WorkbenchError(f"{config_class!r} is not a dataclass; a pass config must be one")
    try:
        hints = typing.get_type_hints(config_class)
    except Exception as exc:
        raise WorkbenchError(
            f"cannot read the types of {config_class.__name__}: {type(exc).__name__}: {exc}"
        ) from None
    return tuple(
        _spec(config_class, f, hints[f.name]) for f in dataclasses.fields(config_class) if f.init
    )


def _spec(config_class: type, f: dataclasses.Field, annotation: Any) -> FieldSpec:
    where = f"{config_class.__name__}.{f.name}"
    meta = dict(f.metadata)
    optional = False
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            raise WorkbenchError(f"{where}: unions other than Optional[X] are not supported")
        optional, annotation = True, rest[0]
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    choices = tuple(meta["choices"]) if meta.get("choices") is not None else None
    item_kind = None
    if origin is Literal:
        choices = args
        kind = _KIND_OF.get(type(args[0]), "")
    elif origin in (list, tuple) or annotation in (list, tuple):
        kind = "list"
        item = args[0] if args else str
        item_kind = _KIND_OF.get(item, "")
        if item_kind in ("", "bool"):
            raise WorkbenchError(f"{where}: lists of {item!r} are not supported")
    else:
        kind = _KIND_OF.get(annotation, "")
    if not kind:
        raise WorkbenchError(f"{where}: type {annotation!r} is not supported")
    if f.default is not dataclasses.MISSING:
        default = f.default
    elif f.default_factory is not dataclasses.MISSING:
        default = f.default_factory()
    else:
        default = REQUIRED
    return FieldSpec(
        name=f.name,
        type=annotation,
        kind=kind,
        default=default,
        help=str(meta.get("help", "")),
        choices=choices,
        min=meta.get("min"),
        max=meta.get("max"),
        optional=optional,
        item_kind=item_kind,
        label=str(meta.get("label") or f.name.replace("_", " ").capitalize()),
        flag=str(meta.get("flag") or "--" + f.name.replace("_", "-")),
        aliases=tuple(meta.get("aliases", ())),
        arch=bool(meta.get("arch", False)),
        display=_hints(meta.get("display")),
        suffix=str(meta.get("suffix", "")),
        choice_labels=tuple((k, str(v)) for k, v in dict(meta.get("labels") or {}).items()),
        metavar=str(meta.get("metavar", "")),
        several=bool(meta.get("several", False)) and kind == "list",
    )


def _hints(value: Any) -> tuple[str, ...]:
    """``"percent"`` or ``("percent", "slider")`` -> a tuple of hints."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


def config_to_dict(config: Any) -> dict[str, Any]:
    """A config as plain values (JSON/YAML-ready), every field included."""
    return {
        spec.name: list(value) if isinstance(value := getattr(config, spec.name), tuple) else value
        for spec in fields_of(type(config))
    }


def config_from_dict(config_class: type, data: Any, where: str | None = None) -> Any:
    """A validated config from a recipe step's mapping; missing keys take their defaults.

    ``where`` prefixes every message, e.g. ``"step 2 (prune)"`` ->
    ``step 2 (prune): amount must be between 0 and 1, got 1.5``.
    """
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise _error(where, f"the settings must be a mapping of name: value, got {data!r}")
    specs = {spec.name: spec for spec in fields_of(config_class)}
    for key in data:
        if key not in specs:
            close = difflib.get_close_matches(str(key), specs, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            known = ", ".join(specs) or "none"
            raise _error(where, f"unknown setting {key!r} ({hint}settings: {known})")
    values = {}
    for name, spec in specs.items():
        if name in data:
            values[name] = spec.check(data[name], where)
        elif spec.required:
            raise _error(where, f"{name} is required")
        else:
            values[name] = spec.default_value()
    try:
        return config_class(**values)
    except (TypeError, ValueError) as exc:  # a __post_init__ cross-field check
        raise _error(where, str(exc)) from None


def validate_config(config: Any, where: str | None = None) -> None:
    """Check a config made in code against its declared limits."""
    for spec in fields_of(type(config)):
        spec.check(getattr(config, spec.name), where)
