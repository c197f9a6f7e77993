"""Opening a variant folder (what ``workbench train`` / ``prune`` write) as its model.

The folder's ``variant.json`` names the weights file and the architecture, so
``workbench inspect DIR`` needs no ``--arch``. Only JSON is read to decide; an
architecture given as ``module:factory`` in the file would import code, so it is
used only with trust (a zoo name is always safe).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workbench.core.errors import ModelLoadError, UnsafeModelError

VARIANT_FILE = "variant.json"
WEIGHT_KEYS = ("torch", "onnx")  # artifacts tried in this order


def is_variant_folder(path: Path) -> bool:
    return path.is_dir() and (path / VARIANT_FILE).is_file()


def variant_model(path: Path, *, arch: str | None, trust: bool) -> tuple[Path, str | None]:
    """(the model file to open, the architecture to pair it with)."""
    try:
        record: dict[str, Any] = json.loads((path / VARIANT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{path.name}/{VARIANT_FILE} cannot be read: {exc}") from None
    artifacts = record.get("artifacts") if isinstance(record, dict) else None
    if not isinstance(artifacts, dict):
        raise ModelLoadError(f"{path.name}/{VARIANT_FILE} lists no model file")
    for key in WEIGHT_KEYS:
        name = artifacts.get(key)
        if isinstance(name, str) and Path(name).name == name and (path / name).is_file():
            chosen = arch or record.get("arch")
            if isinstance(chosen, str) and ":" in chosen.removeprefix("zoo:") and not trust:
                raise UnsafeModelError(
                    f"{path.name}/{VARIANT_FILE} names architecture {chosen!r}, which imports "
                    "code; pass --arch yourself or --trust"
                )
            return path / name, chosen if key == "torch" else None
    raise ModelLoadError(f"{path.name}: none of the files {VARIANT_FILE} lists is in the folder")
