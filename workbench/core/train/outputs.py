"""A finished run written as a variant folder: weights, ``variant.json``, history.

``model.pt`` is a plain state_dict, so it reopens with ``workbench inspect
DIR/model.pt --arch ARCH`` (the arch is in ``variant.json``) without trusting code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.core.data.text import copy_tokenizer
from workbench.core.io.loaded import LoadedModel, ModelFormat
from workbench.core.io.variant_folder import VariantRecord, write_hf_files, write_variant
from workbench.core.named_sources import is_named_source
from workbench.core.train.control import TrainResult


def variant_kind(source: str) -> str:
    """ "trained" for fresh zoo weights, "fine-tuned" for weights that came from a file."""
    return "trained" if is_named_source(source) else "fine-tuned"


def write_trained_variant(
    result: TrainResult,
    folder: Path,
    *,
    source: str,
    arch: str | None,
    dataset: str,
    name: str | None = None,
    kind: str | None = None,
    tokenizer: Path | None = None,
) -> dict[str, Path]:
    """Write the weights, the history files and ``variant.json``; returns their paths.

    ``kind`` is told from ``source`` unless given ("trained" for an ``--arch`` built fresh).
    A Hugging Face model is written as its own ``save_pretrained`` folder (with the
    ``tokenizer`` folder's files beside it), so the folder reopens as one.
    """
    folder = Path(folder)
    files = result.history.write(folder)
    hf_files = write_hf_folder(result.model, folder, tokenizer)
    files.update(hf_files)
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
    if hf_files:
        return write_variant(folder, record, None, files=files)
    model = LoadedModel(ModelFormat.STATE_DICT, None, [], module=result.model, arch=arch)
    return write_variant(folder, record, model, weights="state_dict", files=files)


def write_hf_folder(module: Any, folder: Path, tokenizer: Path | None) -> dict[str, Path]:
    """``module``'s ``save_pretrained`` files (none unless it is a Hugging Face model)
    and copies of the tokenizer's, by artifact key."""
    if not hasattr(module, "save_pretrained"):
        return {}
    files = write_hf_files(module, folder)
    files.update(copy_tokenizer(tokenizer, folder))
    return files
