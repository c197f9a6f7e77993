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
``above`` / ``below`` are limits the value may not reach (``above: 0``: positive);
``group`` names the heading a field is shown under (a form's box, a ``--help``
section); ``bare`` is the value a key given alone takes in a nested config's text;
``decimals`` how many a form's float editor shows; ``form_max`` caps the form's
spin box where the field itself has no ``max`` (a sane range to scroll through).
Supported types: int, float, bool, str, ``Literal[...]``, ``list[str|int|float]``,
``Optional`` of any of these, and another config dataclass (kind ``"config"``: a
nested config, e.g. training's augmentation; a mapping in a recipe, one
``key=value,...`` flag on the command line, a box of its own in a form).

Hand-written rather than pydantic/magicgui: configs stay plain dataclasses a plugin
can write without learning a library, and the three faces need one small table of
field facts more than a general validation engine.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import functools
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Union

from workbench.core.errors import WorkbenchError

KINDS = ("int", "float", "bool", "str", "list", "config")
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
    above: float | None = None  # an exclusive lower limit (metadata "above")
    below: float | None = None  # an exclusive upper limit (metadata "below")
    group: str = ""  # the heading it is shown under (metadata "group")
    config_class: Any = None  # for kind "config": the nested config dataclass
    bare: Any = None  # in a nested config's text, the value of a key given alone
    decimals: int | None = None  # the form's decimals for a float (metadata "decimals")
    form_max: float | None = None  # the form's spin box top when there is no max

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def type_name(self) -> str:
        """``float``, ``list[str]``, ``int | None``: how the type reads in help text."""
        name = f"list[{self.item_kind}]" if self.kind == "list" else self.kind
        if self.kind == "config":
            name = self.config_class.__name__
        return f"{name} | None" if self.optional else name

    def default_value(self) -> Any:
        """A fresh copy of the default (lists and nested configs are not shared)."""
        if self.kind == "config":
            return copy.deepcopy(self.default)
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
        if self.kind == "config":
            return self._nested(value, where)
        return self._one(value, self.kind, where)

    def _nested(self, value: Any, where: str | None) -> Any:
        """A nested config from an instance, a mapping or ``key=value,...`` text."""
        inner = f"{where}: {self.name}" if where else self.name
        if isinstance(value, self.config_class):
            validate_config(value, inner)
            return value
        if isinstance(value, str):
            value = nested_from_text(self.config_class, value, inner)
        return config_from_dict(self.config_class, value, inner)

    def _one(self, value: Any, kind: str, where: str | None) -> Any:
        converted = _convert(value, kind)
        if converted is _BAD:
            raise _error(where, f"{self.name} must be {_NEEDS[kind]}, got {value!r}")
        if self.choices is not None and converted not in self.choices:
            options = ", ".join(str(c) for c in self.choices)
            raise _error(where, f"{self.name} must be one of {options}; got {value!r}")
        if kind in ("int", "float") and not self.within(converted):
            raise _error(where, f"{self.name} must be {self.range_text()}, got {value!r}")
        return converted

    def within(self, number: float) -> bool:
        """Whether ``number`` is inside every limit declared for the field."""
        return not (
            (self.min is not None and number < self.min)
            or (self.max is not None and number > self.max)
            or (self.above is not None and number <= self.above)
            or (self.below is not None and number >= self.below)
        )

    def range_text(self) -> str:
        """``between 0 and 1``, ``positive and at most 10``: the limits in words."""
        if self.min is not None and self.max is not None and self.above is self.below is None:
            return f"between {self.min:g} and {self.max:g}"
        low = (
            ("positive" if self.above == 0 else f"above {self.above:g}")
            if self.above is not None
            else f"at least {self.min:g}"
            if self.min is not None
            else None
        )
        high = (
            f"below {self.below:g}"
            if self.below is not None
            else f"at most {self.max:g}"
            if self.max is not None
            else None
        )
        return " and ".join(part for part in (low, high) if part)


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
    nested = annotation if dataclasses.is_dataclass(annotation) else None
    if nested is not None:
        fields_of(nested)  # a nested config's own fields must be supported too
        kind = "config"
    elif origin is Literal:
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
        above=meta.get("above"),
        below=meta.get("below"),
        group=str(meta.get("group", "")),
        config_class=nested,
        bare=meta.get("bare"),
        decimals=meta.get("decimals"),
        form_max=meta.get("form_max"),
    )


def _hints(value: Any) -> tuple[str, ...]:
    """``"percent"`` or ``("percent", "slider")`` -> a tuple of hints."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


def config_to_dict(config: Any) -> dict[str, Any]:
    """A config as plain values (JSON/YAML-ready), every field included (nested too)."""
    return {spec.name: _plain(getattr(config, spec.name)) for spec in fields_of(type(config))}


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return config_to_dict(value)
    return value


def nested_from_text(config_class: type, text: str, where: str | None = None) -> dict[str, Any]:
    """``crop=2,hflip,rotate=10`` -> ``{"crop_padding": "2", "hflip": True, ...}``.

    A key is a field's name (``_`` or ``-``) or one of its flag aliases without the
    dashes; a key alone is true for a bool, else the field's ``bare`` value. ``none``
    (or ``off``, or nothing) is the defaults.
    """
    if text.strip().lower() in ("", "none", "off"):
        return {}
    specs = fields_of(config_class)
    names: dict[str, FieldSpec] = {}
    for spec in specs:
        for key in (spec.name, spec.name.replace("_", "-"), spec.flag, *spec.aliases):
            names[key.lstrip("-")] = spec
    data: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, equals, value = item.partition("=")
        spec = names.get(key.strip())
        if spec is None:
            known = ", ".join(s.name for s in specs)
            raise _error(where, f"unknown {key.strip()!r} (known: {known})")
        if not equals:
            if spec.kind != "bool" and spec.bare is None:
                raise _error(where, f"{key.strip()} needs a value ({key.strip()}=...)")
            value = True if spec.kind == "bool" else spec.bare
        data[spec.name] = value
    return data


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
