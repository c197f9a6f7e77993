"""Opening models safely: ``load(path_or_zoo_ref) -> LoadedModel``.

Importing this package is cheap (no torch, no onnx); the readers are imported when a
file of their kind is opened. Every failure leaves ``load`` as a ``WorkbenchError``
with a one-line message.
"""

from __future__ import annotations

import traceback
from pathlib import Path

from workbench.core.errors import ModelLoadError, WorkbenchError
from workbench.core.io.arch_ref import ArchRef, user_arch
from workbench.core.io.detect import detect_format
from workbench.core.io.inputs import parse_shape, parse_shapes
from workbench.core.io.loaded import InputSpec, LoadedModel, ModelFormat
from workbench.core.named_sources import is_named_source

__all__ = [
    "ArchRef",
    "InputSpec",
    "LoadedModel",
    "ModelFormat",
    "detect_format",
    "load",
    "parse_shape",
    "parse_shapes",
]


def load(
    source: str | Path | None,
    *,
    arch: ArchRef | str | None = None,
    trust: bool = False,
    shapes: dict[str, tuple[int, ...]] | None = None,
    seed: int = 0,
) -> LoadedModel:
    """Open a model file, a ``zoo:NAME[:k=v,...]`` reference or a library backbone
    (``tv:resnet50``, ``timm:mobilenetv3_small_100``: fresh weights, nothing downloaded).

    ``arch`` pairs weights-only files (state_dict, safetensors) with an architecture:
    a zoo name or ``package.module:factory``. A plain string is the caller's own choice
    (``--arch``) and trusted as typed; a reference read from a file must come as an
    ``ArchRef`` made with that file's trust (``arch_ref.parse_arch``). ``trust`` allows
    what the file itself would run: TorchScript, .pt2, pickled modules, and a
    ``module:factory`` a variant folder names. ``shapes`` gives input shapes by input
    name where the file leaves them open. ``seed`` seeds fresh zoo weights.

    With no ``source``, ``arch`` alone is built with fresh weights (its factory's own
    initialisation, seeded): ``workbench train --arch nets.py:build`` starts from there.
    """
    arch = user_arch(arch)
    label = str(source if source is not None else arch)
    try:
        if source is None:
            from workbench.core.io.torch_file import load_fresh

            if arch is None:
                raise ModelLoadError("name a model file, or an architecture to build fresh")
            return load_fresh(arch, shapes=shapes, seed=seed)
        if isinstance(source, str) and is_named_source(source):  # zoo:, tv:, timm:
            from workbench.core.io.torch_file import load_zoo

            return load_zoo(source, shapes=shapes, seed=seed)
        path = Path(source)
        label = path.name or label
        from workbench.core.data.text import has_tokenizer
        from workbench.core.io.hf_folder import is_hf_folder, load_hf_folder
        from workbench.core.io.variant_folder import is_variant_folder, variant_model

        if is_variant_folder(path) and not is_hf_folder(path):  # `workbench train`, `prune`...
            chosen = variant_model(path, arch=arch, trust=trust)
            model = _load_file(chosen.path, arch=chosen.arch, trust=trust, shapes=shapes, seed=seed)
            model.notes[:0] = chosen.notes
            if has_tokenizer(path):  # made from a Hugging Face folder: its texts read alike
                model.tokenizer = path
            return model
        # A Hugging Face save_pretrained folder (a trained one holds variant.json too)
        if is_hf_folder(path):
            if arch:
                raise ModelLoadError(f"{label} is a Hugging Face folder; it needs no --arch")
            return load_hf_folder(path, trust=trust, shapes=shapes)
        return _load_file(path, arch=arch, trust=trust, shapes=shapes, seed=seed)
    except WorkbenchError:
        raise
    except Exception as exc:  # a reader's bug or an unforeseen library error: still one line
        raise ModelLoadError(
            f"{label} could not be opened ({type(exc).__name__}: {_first_line(exc)})",
            details=traceback.format_exc(),
        ) from exc


def _load_file(
    path: Path,
    *,
    arch: ArchRef | None,
    trust: bool,
    shapes: dict[str, tuple[int, ...]] | None,
    seed: int,
) -> LoadedModel:
    from workbench.core.io.detect import sniff

    found = sniff(path)
    fmt = found.format
    if fmt is ModelFormat.ONNX:
        from workbench.core.io.onnx_file import load_onnx

        model = load_onnx(path, found.onnx_model, shapes, found.size)
    else:
        from workbench.core.io import torch_file

        if fmt is ModelFormat.TORCHSCRIPT:
            model = torch_file.load_torchscript(path, trust=trust, shapes=shapes, size=found.size)
        elif fmt is ModelFormat.EXPORTED_PROGRAM:
            model = torch_file.load_exported(path, trust=trust, shapes=shapes, size=found.size)
        elif fmt is ModelFormat.SAFETENSORS:
            model = torch_file.load_safetensors(
                path, arch=arch, shapes=shapes, seed=seed, size=found.size
            )
        else:
            model = torch_file.load_checkpoint(
                path,
                is_zip=found.is_zip,
                arch=arch,
                trust=trust,
                shapes=shapes,
                seed=seed,
                size=found.size,
            )
    if arch and fmt in (ModelFormat.ONNX, ModelFormat.TORCHSCRIPT, ModelFormat.EXPORTED_PROGRAM):
        model.notes.insert(0, f"--arch {arch} was ignored: the file holds its own model")
    return model


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
