"""Opening a variant folder (what ``workbench train`` / ``prune`` write) as its model.

The folder's ``variant.json`` names the weights file and the architecture, so
``workbench inspect DIR`` needs no ``--arch``. Only JSON is read to decide. The
architecture it records is read as coming from the file: a zoo reference (also with
options, ``resnet_shapes:width=0.25``) is data and always opens; ``module:factory``
imports code, so it is built only with trust. An ``--arch`` the user passes wins and is
the user's own. An ONNX model runs no code and never asks for trust.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.errors import ModelLoadError
from workbench.core.io.arch_ref import ArchRef, parse_arch

VARIANT_FILE = "variant.json"
WEIGHT_KEYS = ("torch", "onnx")  # artifacts tried in this order


@dataclass
class VariantModel:
    """The model file a variant folder names, the architecture to pair it with, and why."""

    path: Path
    arch: ArchRef | None
    notes: list[str] = field(default_factory=list)


def is_variant_folder(path: Path) -> bool:
    return path.is_dir() and (path / VARIANT_FILE).is_file()


def variant_model(path: Path, *, arch: ArchRef | None, trust: bool) -> VariantModel:
    """The file to open: ``model.pt`` with its architecture, else ``model.onnx``.

    A ``model.pt`` for which no architecture is known (e.g. pruned from a pickled
    module) gives way to the folder's own ``model.onnx`` when there is one.
    """
    label = f"{path.name}/{VARIANT_FILE}"
    try:
        record: Any = json.loads((path / VARIANT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{label} cannot be read: {exc}") from None
    artifacts = record.get("artifacts") if isinstance(record, dict) else None
    if not isinstance(artifacts, dict):
        raise ModelLoadError(f"{label} lists no model file")
    files = {
        key: path / name
        for key in WEIGHT_KEYS
        if isinstance(name := artifacts.get(key), str)
        and Path(name).name == name  # a bare file name: nothing outside the folder
        and (path / name).is_file()
    }
    if not files:
        raise ModelLoadError(
            f"{path.name}: none of the files {VARIANT_FILE} lists is in the folder"
        )
    recorded = record.get("arch")
    if arch is None and recorded is not None:
        if not isinstance(recorded, str):
            raise ModelLoadError(f"{label}: field 'arch' must be text, not {recorded!r}")
        arch = parse_arch(recorded, trusted=trust, origin=f"{label} field 'arch'")
    if "torch" in files and (arch is not None or "onnx" not in files):
        return VariantModel(files["torch"], arch)
    note = (
        f"opened {files['onnx'].name}: {label} records no architecture for "
        f"{files['torch'].name} (pass --arch to open that one)"
        if "torch" in files
        else ""
    )
    return VariantModel(files["onnx"], None, [note] if note else [])
