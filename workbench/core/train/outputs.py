"""A finished run written as a variant folder: weights, ``variant.json``, history.

``model.pt`` is a plain state_dict, so it reopens with ``workbench inspect
DIR/model.pt --arch ARCH`` (the arch is in ``variant.json``) without trusting code.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from workbench.core.project import atomic_write_bytes, atomic_write_text
from workbench.core.train.control import TrainResult

MODEL_FILE = "model.pt"
VARIANT_FILE = "variant.json"


def variant_kind(source: str) -> str:
    """ "trained" for fresh zoo weights, "fine-tuned" for weights that came from a file."""
    return "trained" if source.startswith("zoo:") else "fine-tuned"


def write_trained_variant(
    result: TrainResult,
    folder: Path,
    *,
    source: str,
    arch: str | None,
    dataset: str,
    name: str | None = None,
) -> dict[str, Path]:
    """Write the weights, the history files and ``variant.json``; returns their paths."""
    import torch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(result.model.state_dict(), buffer)
    paths = {"torch": folder / MODEL_FILE}
    atomic_write_bytes(paths["torch"], buffer.getvalue())
    paths.update(result.history.write(folder))
    kind = variant_kind(source)
    label = arch or Path(source).stem
    record: dict[str, Any] = {
        "schema": 1,
        "name": name or f"{label} ({kind} on {dataset})",
        "kind": kind,
        "source": source,
        "arch": arch,
        "dataset": dataset,
        "framework": "pytorch",
        "status": result.status,
        "step": {"pass": "train", "kind": kind, "config": result.config.to_dict()},
        "augment": result.config.augment.describe(),
        "metrics": result.metrics,
        "notes": list(result.notes),
        "artifacts": {key: path.name for key, path in paths.items()},
    }
    if result.checkpoint is not None:
        record["artifacts"]["checkpoint"] = Path(result.checkpoint).name
    paths["variant"] = folder / VARIANT_FILE
    atomic_write_text(paths["variant"], json.dumps(record, indent=2))
    return paths
