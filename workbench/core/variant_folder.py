"""A variant written as a folder: its model file and ``variant.json`` (settings, metrics).

What ``workbench run`` writes for each replayed step. A PyTorch model is saved as a
plain state_dict (``model.pt``: reopen with ``--arch``, no code runs), with the pruned
layer shapes beside it when a step removed channels; an ONNX model as ``model.onnx``.
Every file is written atomically, so an interrupted run leaves whole files or none.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from workbench.core.project import atomic_write_bytes, atomic_write_text

VARIANT_FILE = "variant.json"


def write_model_files(loaded: Any, folder: Path) -> dict[str, Path]:
    """The model's own files in ``folder``: ``model.pt`` and/or ``model.onnx``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    if loaded.module is not None:
        import torch

        buffer = io.BytesIO()
        torch.save(_checkpoint(loaded), buffer)
        paths["torch"] = folder / "model.pt"
        atomic_write_bytes(paths["torch"], buffer.getvalue())
    if loaded.onnx_model is not None:
        paths["onnx"] = folder / "model.onnx"
        atomic_write_bytes(paths["onnx"], loaded.onnx_model.SerializeToString())
    return paths


def _checkpoint(loaded: Any) -> Any:
    """A plain state_dict, or, when channels were removed so that the weights no longer
    fit the architecture, the state_dict with the pruned layer shapes (still plain data,
    read with ``weights_only=True``; ``load(..., arch=...)`` narrows the layers first)."""
    from workbench.core.io.pruned_shapes import pruned_checkpoint, shape_record

    module = loaded.module
    if loaded.arch:
        from workbench.core.errors import WorkbenchError
        from workbench.core.io.arch import build_arch
        from workbench.core.io.arch_ref import parse_arch

        # The model in hand was built from this architecture already (its trust was
        # settled when it was opened), so rebuilding it imports nothing new.
        ref = parse_arch(loaded.arch, trusted=True, origin="the model's architecture")
        try:
            fresh = build_arch(ref).module
        except WorkbenchError:
            fresh = None
        if fresh is not None and shape_record(fresh) != shape_record(module):
            return pruned_checkpoint(module)
    return module.state_dict()


def write_variant_record(folder: Path, record: dict[str, Any]) -> Path:
    """``variant.json`` in ``folder``; ``record`` holds name, step, metrics, artifacts…"""
    path = folder / VARIANT_FILE
    atomic_write_text(path, json.dumps({"schema": 1, **record}, indent=2, default=str))
    return path
