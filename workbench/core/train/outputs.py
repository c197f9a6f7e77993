"""A finished run written as a variant folder: weights, ``variant.json``, history.

``model.pt`` is a plain state_dict, so it reopens with ``workbench inspect
DIR/model.pt --arch ARCH`` (the arch is in ``variant.json``) without trusting code.
"""

from __future__ import annotations

from pathlib import Path

from workbench.core.io.loaded import LoadedModel, ModelFormat
from workbench.core.io.variant_folder import VariantRecord, write_variant
from workbench.core.train.control import TrainResult


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
    kind: str | None = None,
) -> dict[str, Path]:
    """Write the weights, the history files and ``variant.json``; returns their paths.

    ``kind`` is told from ``source`` unless given ("trained" for an ``--arch`` built fresh).
    """
    folder = Path(folder)
    files = result.history.write(folder)
    if result.checkpoint is not None:
        files["checkpoint"] = Path(result.checkpoint)
    kind = kind or variant_kind(source)
    label = arch or Path(source).stem
    record = VariantRecord(
        name=name or f"{label} ({kind} on {dataset})",
        kind=kind,
        source=source,
        arch=arch,
        dataset=dataset,
        framework="pytorch",
        status=result.status,
        step={"pass": "train", "kind": kind, "config": result.config.to_dict()},
        metrics=result.metrics,
        notes=list(result.notes),
        extra={"augment": result.config.augment.describe()},
    )
    model = LoadedModel(ModelFormat.STATE_DICT, None, [], module=result.model, arch=arch)
    return write_variant(folder, record, model, weights="state_dict", files=files)
