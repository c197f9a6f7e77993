"""A variant folder: its model files and ``variant.json``. The one module that reads and
writes the record, so its format has one owner.

Writing (``write_variant``): every command that leaves a variant (train, prune,
quantize, distill, run) writes its model files and the record through here. A PyTorch
model is saved as plain data (``model.pt``: a state_dict, or with the pruned layer
shapes beside it when channels were removed), an ONNX model as ``model.onnx``; every
file is written atomically, so an interrupted run leaves whole files or none.

Reading (``variant_model``): the record names the weights file and the architecture,
so ``workbench inspect DIR`` needs no ``--arch``. Only JSON is read to decide. The
architecture it records is read as coming from the file: a zoo reference (also with
options, ``resnet_shapes:width=0.25``) is data and always opens; ``module:factory``
imports code, so it is built only with trust. An ``--arch`` the user passes wins and is
the user's own. An ONNX model runs no code and never asks for trust.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from workbench.core.errors import ModelLoadError, WorkbenchError
from workbench.core.io.arch import build_arch
from workbench.core.io.arch_ref import ArchRef, parse_arch
from workbench.core.io.atomic import atomic_write_bytes, atomic_write_text
from workbench.core.io.loaded import LoadedModel
from workbench.core.io.pruned_shapes import pruned_checkpoint, shape_record

VARIANT_FILE = "variant.json"
TORCH_FILE = "model.pt"
ONNX_FILE = "model.onnx"
WEIGHT_KEYS = ("torch", "onnx")  # artifacts tried in this order

# How ``model.pt`` holds a PyTorch model: "auto" is a state_dict, with the pruned layer
# shapes when the module no longer fits its architecture; "state_dict" and "pruned"
# say which without looking.
TorchWeights = Literal["auto", "state_dict", "pruned"]


@dataclass
class VariantRecord:
    """What ``variant.json`` says about a variant, besides the files it lists.

    ``kind`` and ``status`` are left out of the file when None (a replayed recipe step
    records neither); ``extra`` holds a kind's own fields (training's ``augment``,
    quantization's ``node_error``), written after ``metrics``.
    """

    name: str
    source: str
    arch: str | None
    dataset: str | None
    framework: str
    step: dict[str, Any]
    metrics: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    kind: str | None = None  # trained, fine-tuned, pruned, quantized, distilled
    status: str | None = None  # finished, early-stopped, cancelled
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self, artifacts: Mapping[str, str]) -> dict[str, Any]:
        record: dict[str, Any] = {"schema": 1, "name": self.name}
        if self.kind is not None:
            record["kind"] = self.kind
        record.update(source=self.source, arch=self.arch, dataset=self.dataset)
        record["framework"] = self.framework
        if self.status is not None:
            record["status"] = self.status
        record.update(step=self.step, metrics=self.metrics, **self.extra)
        record.update(notes=list(self.notes), artifacts=dict(artifacts))
        return record


def write_variant(
    folder: Path,
    variant: VariantRecord,
    model: LoadedModel | None,
    *,
    weights: TorchWeights = "auto",
    files: Mapping[str, Path] | None = None,
) -> dict[str, Path]:
    """``model``'s files (see ``write_model_files``), then ``variant.json`` listing them
    and ``files`` (ones the caller wrote into ``folder``: history, an exported ONNX, a
    checkpoint). Returns every path by its artifact key, the record's as "variant"."""
    folder = Path(folder)
    paths = write_model_files(model, folder, weights=weights) if model is not None else {}
    paths.update(files or {})
    record = variant.to_json({key: path.name for key, path in paths.items()})
    paths["variant"] = folder / VARIANT_FILE
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(paths["variant"], json.dumps(record, indent=2, default=str))
    return paths


def write_model_files(
    loaded: LoadedModel, folder: Path, *, weights: TorchWeights = "auto"
) -> dict[str, Path]:
    """The model's own files in ``folder``: ``model.pt`` and/or ``model.onnx``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    if loaded.module is not None and _keeps_its_config(loaded.module):
        # A Hugging Face model whose layers still fit its config: its own folder, which
        # reopens without an architecture (a plain state_dict would need one it has not).
        paths.update(write_hf_files(loaded.module, folder))
    elif loaded.module is not None:
        import torch

        buffer = io.BytesIO()
        torch.save(_checkpoint(loaded, weights), buffer)
        paths["torch"] = folder / TORCH_FILE
        atomic_write_bytes(paths["torch"], buffer.getvalue())
    if loaded.onnx_model is not None:
        paths["onnx"] = folder / ONNX_FILE
        atomic_write_bytes(paths["onnx"], loaded.onnx_model.SerializeToString())
    if loaded.tokenizer is not None:  # a text model's variant reads texts as its source did
        from workbench.core.data.text import copy_tokenizer

        paths.update(copy_tokenizer(loaded.tokenizer, folder))
    return paths


def write_hf_files(module: Any, folder: Path) -> dict[str, Path]:
    """A Hugging Face model's ``save_pretrained`` files (config + safetensors), by
    artifact key."""
    folder.mkdir(parents=True, exist_ok=True)
    module.save_pretrained(folder)
    files = {"hf_config": folder / "config.json"}
    files.update({p.name: p for p in sorted(folder.glob("model*.safetensors"))})
    return files


def _keeps_its_config(module: Any) -> bool:
    """A Hugging Face model (wrapped, with ``save_pretrained``) whose layer shapes are
    still those its config builds: not after channels were removed from it."""
    inner = getattr(module, "model", None)
    config = getattr(inner, "config", None)
    if not hasattr(module, "save_pretrained") or config is None:
        return False
    import torch

    with torch.device("meta"):  # shapes only: nothing allocated, nothing initialised
        fresh = type(inner)(config)
    return shape_record(fresh) == shape_record(inner)


def _checkpoint(loaded: LoadedModel, weights: TorchWeights) -> Any:
    """A plain state_dict, or, when channels were removed so that the weights no longer
    fit the architecture, the state_dict with the pruned layer shapes (still plain data,
    read with ``weights_only=True``; ``load(..., arch=...)`` narrows the layers first)."""
    module = loaded.module
    if weights == "pruned":
        return pruned_checkpoint(module)
    if weights == "auto" and loaded.arch:
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


@dataclass
class VariantModel:
    """The model file a variant folder names, the architecture to pair it with, and why."""

    path: Path
    arch: ArchRef | None
    notes: list[str] = field(default_factory=list)


def is_variant_folder(path: Path) -> bool:
    return path.is_dir() and (path / VARIANT_FILE).is_file()


def read_record(folder: Path) -> dict[str, Any]:
    """The folder's ``variant.json`` as read (a JSON object), else a one-line error."""
    path = Path(folder) / VARIANT_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # ValueError: bad JSON or bad UTF-8
        raise ModelLoadError(f"{path}: not a readable variant file ({exc})") from None
    if not isinstance(record, dict):
        raise ModelLoadError(f"{path}: not a variant file (not a JSON object)")
    return record


def variant_model(path: Path, *, arch: ArchRef | None, trust: bool) -> VariantModel:
    """The file to open: ``model.pt`` with its architecture, else ``model.onnx``.

    A ``model.pt`` for which no architecture is known (e.g. pruned from a pickled
    module) gives way to the folder's own ``model.onnx`` when there is one.
    """
    label = f"{path.name}/{VARIANT_FILE}"
    record = read_record(path)
    artifacts = record.get("artifacts")
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
