"""`workbench passes [NAME]`: the compression passes and the settings each takes."""

from __future__ import annotations

import argparse
import json
import textwrap
from typing import Any

from workbench.cli.config_flags import metavar
from workbench.cli.help import ManPageFormatter
from workbench.core.catalogue import get_registry
from workbench.core.config_schema import fields_of
from workbench.core.errors import WorkbenchError

ORDER = 80

EPILOG = """\
Each setting is a command-line flag (of `workbench apply PASS`, which runs any pass,
plugins' included, and of the pass's own command where it has one: prune, quantize,
distill), a key of its recipe step, and a field of its wizard page: all three come
from the pass's config.

examples:
  workbench passes                  every pass with its settings
  workbench passes random-prune     one pass
  workbench passes --json           a JSON list (name, title, description, settings)
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "passes",
        help="list the compression passes (built-in and from plugins) and their settings",
        description="List the compression passes the registry knows, built-in and from "
        "plugins, with a plain explanation and every setting: flag, type, default, limits.",
        epilog=EPILOG,
        formatter_class=ManPageFormatter,
    )
    parser.add_argument("name", nargs="?", help="show only this pass")
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.set_defaults(handler=run)


def describe_passes(name: str | None = None) -> list[dict[str, Any]]:
    """One dict per pass; a pass whose code fails to import has an ``error`` instead."""

    registry = get_registry()
    entries = [registry.pass_(name)] if name else list(registry.passes.values())
    rows = []
    for entry in entries:
        row: dict[str, Any] = {
            "name": entry.name,
            "title": entry.title,
            "description": entry.description,
            "source": entry.source,
        }
        try:
            cls = entry.load()
            row["description"] = getattr(cls, "description", "") or entry.description
            row["frameworks"] = list(cls.frameworks)
            row["settings"] = [_setting(spec) for spec in fields_of(cls.config_class)]
        except WorkbenchError as exc:
            row["error"] = exc.message
        rows.append(row)
    return rows


def _setting(spec: Any) -> dict[str, Any]:

    return {
        "name": spec.name,
        "flag": spec.flag,
        "metavar": metavar(spec),
        "type": spec.type_name,
        "default": None if spec.required else spec.default,
        "required": spec.required,
        "help": spec.help,
        "choices": list(spec.choices) if spec.choices is not None else None,
        "min": spec.min,
        "max": spec.max,
    }


def run(args: argparse.Namespace) -> int:
    rows = describe_passes(args.name)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(format_passes(rows))
    return 0


def format_passes(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no passes registered"
    lines: list[str] = []
    for row in rows:
        lines.append(f"{row['name']}  {row['title']}  [{row['source']}]")
        lines += textwrap.wrap(row["description"], 88, initial_indent="  ", subsequent_indent="  ")
        if "error" in row:
            lines.append(f"  cannot be used: {row['error']}")
        else:
            lines.append(f"  works on: {', '.join(row['frameworks'])}")
            lines.append(f"  run: workbench apply {row['name']} MODEL --out DIR [settings]")
            for setting in row["settings"]:
                lines.append(f"  {_flag_text(setting)}")
                lines += textwrap.wrap(
                    _setting_help(setting), 84, initial_indent="      ", subsequent_indent="      "
                )
        lines.append("")
    return "\n".join(lines).rstrip()


def _flag_text(setting: dict[str, Any]) -> str:
    if setting["type"] == "bool":
        return f"{setting['flag']} / --no-{setting['flag'][2:]}"
    return f"{setting['flag']} {setting['metavar']}"


def _setting_help(setting: dict[str, Any]) -> str:
    parts = [setting["help"] or setting["name"]]
    if setting["min"] is not None or setting["max"] is not None:
        low, high = setting["min"], setting["max"]
        if low is not None and high is not None:
            parts.append(f"from {low:g} to {high:g}")
        else:
            parts.append(f"at least {low:g}" if low is not None else f"at most {high:g}")
    if setting["required"]:
        parts.append("required")
    else:
        default = setting["default"]
        default = ",".join(map(str, default)) if isinstance(default, list) else default
        parts.append(f"default: {'none' if default is None else default}")
    return "; ".join(parts)
