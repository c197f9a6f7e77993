"""``project.json`` checked against its schema before any of it is used.

A project folder may come from anyone (a colleague, a download), and its file steers
what the app does: a variant's ``id`` names a folder that saving writes into, its
artifacts name files that opening reads, its ``arch`` may name code. So every field is
checked here first: ids are the tokens ``Project`` generates, artifact paths are
relative and resolve inside the project folder (``io.confine``, as ONNX external data),
and each field has its type. A violation is a ``ProjectError`` naming the file, the
variant and the field; nothing has been read beyond the JSON, nothing written.

Hand-written rather than a schema library: one flat record of a dozen fields, and the
messages must name the field in the user's words.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from workbench.core.errors import WorkbenchError
from workbench.core.io.confine import OutsideFolder, confined

ID_PATTERN = re.compile(r"[0-9a-f]{8,32}")  # what Project._new_id makes (uuid4 hex)
STATES = ("ready", "running", "paused", "interrupted", "failed")
_TEXT = (str,)
_OPTIONAL_TEXT = (str, type(None))
# field -> the types it may hold; "id", "parent" and "artifacts" are checked further.
FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "id": _TEXT,
    "name": _TEXT,
    "parent": _OPTIONAL_TEXT,
    "step": (dict,),
    "artifacts": (dict,),
    "metrics": (dict,),
    "framework": _TEXT,
    "source": _TEXT,
    "arch": _OPTIONAL_TEXT,
    "dataset": _OPTIONAL_TEXT,
    "state": _TEXT,
    "created": _TEXT,
}
_TYPE_WORDS = {str: "text", dict: "a mapping", type(None): "null"}


class ProjectError(WorkbenchError):
    """A project folder that cannot be read as it is; nothing in it was changed."""


def check_project_record(data: Any, path: Path) -> list[dict[str, Any]]:
    """The variant entries of a parsed ``project.json``, each checked; else ProjectError."""
    if not isinstance(data, dict):
        raise ProjectError(f"{path}: not a project file (the top level is not a mapping)")
    if not isinstance(data.get("name", ""), str):
        raise ProjectError(f"{path}: field 'name' must be text")
    variants = data.get("variants", [])
    if not isinstance(variants, list):
        raise ProjectError(f"{path}: field 'variants' must be a list")
    seen: set[str] = set()
    for index, entry in enumerate(variants):
        where = f"{path}: variants[{index}]"
        if not isinstance(entry, dict):
            raise ProjectError(f"{where} must be a mapping of fields")
        _check_variant(entry, where, Path(path).parent)
        if entry["id"] in seen:
            raise ProjectError(f"{where} field 'id': {entry['id']!r} is used twice")
        seen.add(entry["id"])
    return variants


def _check_variant(entry: dict[str, Any], where: str, folder: Path) -> None:
    for name in ("id", "name"):
        if name not in entry:
            raise ProjectError(f"{where} lacks the field {name!r}")
    for name, kinds in FIELD_TYPES.items():
        if name in entry and not isinstance(entry[name], kinds):
            wanted = " or ".join(_TYPE_WORDS[k] for k in kinds)
            raise ProjectError(
                f"{where} field {name!r} must be {wanted}, not {type(entry[name]).__name__}"
            )
    for name in ("id", "parent"):
        value = entry.get(name)
        if value is not None and not ID_PATTERN.fullmatch(value):
            raise ProjectError(
                f"{where} field {name!r}: {value[:40]!r} is not a variant id (the workbench "
                "makes them: 8 to 32 lower-case hex digits)"
            )
    if entry.get("state", "ready") not in STATES:
        raise ProjectError(f"{where} field 'state' must be one of {', '.join(STATES)}")
    for kind, location in entry.get("artifacts", {}).items():
        field = f"{where} field 'artifacts.{kind}'"
        if not isinstance(location, str):
            raise ProjectError(f"{field} must be a path (text)")
        try:
            confined(folder, location)
        except OutsideFolder as outside:
            how = {"absolute": "is absolute", "climbing": "climbs out with '..'"}
            raise ProjectError(
                f"{field}: {location[:80]!r} {how.get(outside.kind, 'is a link leading out')}"
                "; a project's files are read only from inside its folder"
            ) from None
