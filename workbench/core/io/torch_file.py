"""Opening PyTorch files without running code from them unless the user trusts the file.

- torch.save checkpoints are always read first with ``weights_only=True`` (torch's
  restricted unpickler); a file that pickles other objects is refused without trust,
  naming the globals it needs (found by reading opcodes, see ``pickle_scan``).
- TorchScript archives carry code that runs when loaded: trust required.
- ``.pt2`` exported programs: trust required too. In torch 2.13 ``torch.export.load``
  is not weights-only: ``pt2_archive/_package.py`` unpickles payloads with
  ``torch.load(..., weights_only=False)`` (``_load_state_dict``/``_load_constants``) and
  ``pickle.loads`` (opaque constants), and ``_export/serde/serialize.py``'s
  ``deserialize_torch_artifact`` falls back to ``weights_only=False`` for the saved
  example inputs. A crafted .pt2 can therefore run code when loaded.
- safetensors hold tensors only and are always safe.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from workbench.core.errors import (
    ArchitectureError,
    ArchitectureNeeded,
    ModelLoadError,
    TrustRequired,
    WorkbenchError,
)
from workbench.core.io.arch import (
    Built,
    build_arch,
    find_state_dict,
    forward_arg_names,
    pair_state_dict,
    probe_inputs,
    zoo_names,
)
from workbench.core.io.arch_ref import ArchRef, parse_arch
from workbench.core.io.inputs import Shapes, apply_shapes, given_input
from workbench.core.io.limits import check_zip_file
from workbench.core.io.loaded import InputSpec, LoadedModel, ModelFormat
from workbench.core.io.pickle_scan import is_torch_legacy_stream, unsafe_globals
from workbench.core.io.pruned_shapes import apply_shape_record, is_pruned_checkpoint
from workbench.core.named_sources import named_source

_TRUST_HINT = "Open it with --trust only if you trust where it came from."
_MISSING_ATTR = re.compile(r"Can't get attribute '([^']+)' on <module '([^']+)'")


def load_zoo(reference: str, *, shapes: Shapes | None, seed: int) -> LoadedModel:
    """``zoo:NAME[:k=v]``: a built-in architecture with fresh weights from ``seed``."""
    text = named_source(reference)
    return load_fresh(parse_arch(text, trusted=False, origin=reference), shapes=shapes, seed=seed)


def load_fresh(ref: ArchRef, *, shapes: Shapes | None, seed: int) -> LoadedModel:
    """An architecture with no weights file: as its factory initialises it, from ``seed``."""
    built = build_arch(ref, seed=seed)
    return _finish(ModelFormat.ZOO, None, built.module, built=built, shapes=shapes, size=0)


def load_torchscript(path: Path, *, trust: bool, shapes: Shapes | None, size: int) -> LoadedModel:
    if not trust:
        raise TrustRequired(
            f"{path.name} is a TorchScript archive; loading one runs code stored in it. "
            + _TRUST_HINT
        )
    import torch

    try:
        module = torch.jit.load(str(path), map_location="cpu")
    except Exception as exc:
        raise ModelLoadError(
            f"{path.name} is a damaged TorchScript archive ({_first_line(exc)}); save it again"
        ) from None
    return _finish(ModelFormat.TORCHSCRIPT, path, module.eval(), shapes=shapes, size=size)


def load_exported(path: Path, *, trust: bool, shapes: Shapes | None, size: int) -> LoadedModel:
    if not trust:
        raise TrustRequired(
            f"{path.name} is a torch.export program (.pt2); torch.export.load unpickles "
            "objects stored in it, which can run code. " + _TRUST_HINT
        )
    import torch

    try:
        program = torch.export.load(str(path))
    except Exception as exc:
        raise ModelLoadError(
            f"{path.name} is a .pt2 file torch.export cannot load ({_first_line(exc)}); "
            "export it again with this torch version"
        ) from None
    notes: list[str] = []
    inputs = _program_inputs(program, notes)
    inputs = apply_shapes(path.name, inputs, shapes)
    return LoadedModel(
        format=ModelFormat.EXPORTED_PROGRAM,
        path=path,
        inputs=inputs,
        module=program.module(),
        exported_program=program,
        file_size=size,
        notes=notes,
    )


def load_checkpoint(
    path: Path,
    *,
    is_zip: bool,
    arch: ArchRef | None,
    trust: bool,
    shapes: Shapes | None,
    seed: int,
    size: int,
) -> LoadedModel:
    """A torch.save file: weights-only first; a pickled module only with trust."""
    import torch

    if is_zip:  # torch's reader inflates each record whole: declared sizes first
        check_zip_file(path)
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        obj = _load_refused(path, exc, is_zip=is_zip, trust=trust)
    if isinstance(obj, dict) and isinstance(obj.get("model"), torch.nn.Module):
        obj = obj["model"]  # a trusted training checkpoint holding the whole model
    if isinstance(obj, torch.nn.Module):
        notes = [f"--arch {arch} was ignored: the file holds the whole model"] if arch else []
        model = _finish(ModelFormat.PICKLED_MODULE, path, obj.eval(), shapes=shapes, size=size)
        model.notes[:0] = notes
        return model
    weights = find_state_dict(obj)
    if weights is None:
        raise ModelLoadError(
            f"{path.name} holds a {type(obj).__name__} but no model weights "
            "(expected a state_dict of tensors or a whole model)"
        )

    pruned = obj["pruned_shapes"] if is_pruned_checkpoint(obj) else None
    return _with_arch(
        ModelFormat.STATE_DICT, path, weights, arch, shapes, seed, size, pruned_shapes=pruned
    )


def _load_refused(path: Path, exc: Exception, *, is_zip: bool, trust: bool) -> Any:
    """The weights-only loader refused the file: explain why, or load it when trusted."""
    import torch

    needed = _safe_unsafe_globals(path, is_zip=is_zip)
    refused = bool(needed) or "unsupported global" in str(exc).lower()
    if not refused and not is_zip and not is_torch_legacy_stream(path):
        raise ModelLoadError(
            f"{path.name} is a plain Python pickle, not a file saved by torch.save; "
            "save the model's state_dict with torch.save and pass --arch"
        )
    if not refused:
        raise ModelLoadError(
            f"{path.name} is a damaged PyTorch file ({_first_line(exc)}); save it again"
        ) from None
    if not trust:
        listed = f" (it needs {', '.join(needed[:6])}" + (", ..." if len(needed) > 6 else "")
        listed = listed + ")" if needed else ""
        raise TrustRequired(
            f"{path.name} pickles Python objects{listed}; loading it would run code from the "
            "file. Use --trust if you trust it, or save a state_dict and pass --arch"
        )
    try:
        return torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as error:
        missing = _missing_class(error, needed)
        if missing is not None:
            cls, module = missing
            raise ArchitectureError(
                f"{path.name} needs class {cls} from module {module}, which cannot be imported "
                "here; make that module importable, or save a state_dict and pass --arch"
            ) from None
        raise ModelLoadError(
            f"{path.name} could not be unpickled ({type(error).__name__}: {_first_line(error)})"
        ) from None


def _safe_unsafe_globals(path: Path, *, is_zip: bool) -> list[str]:
    try:
        return unsafe_globals(path, is_zip=is_zip)
    except Exception:
        return []


def _missing_class(error: BaseException, needed: list[str]) -> tuple[str, str] | None:
    """(class, module) when unpickling failed for want of a class, else None."""
    match = _MISSING_ATTR.search(str(error))
    if isinstance(error, AttributeError) and match:
        # Under `python -m pkg` the main module's repr says "pkg.__main__", but the
        # pickle names (and looks in) plain "__main__".
        module_name = match.group(2)
        return match.group(1), "__main__" if module_name.endswith(".__main__") else module_name
    module = getattr(error, "name", None)
    if not isinstance(error, ImportError) or not module:
        return None
    wanted = [g.rsplit(".", 1) for g in needed if g.startswith(f"{module}.")]
    if not wanted:
        return "?", module
    return ", ".join(name for _, name in wanted), wanted[0][0]


def load_safetensors(
    path: Path, *, arch: ArchRef | None, shapes: Shapes | None, seed: int, size: int
) -> LoadedModel:
    from safetensors.torch import load_file

    try:
        weights = load_file(str(path), device="cpu")
    except Exception as exc:
        raise ModelLoadError(
            f"{path.name} is not a valid safetensors file ({_first_line(exc)}); save it again"
        ) from None
    if not weights:
        raise ModelLoadError(f"{path.name} is a safetensors file with no tensors in it")
    return _with_arch(ModelFormat.SAFETENSORS, path, weights, arch, shapes, seed, size)


def _with_arch(
    fmt: ModelFormat,
    path: Path,
    weights: Any,
    arch: ArchRef | None,
    shapes: Shapes | None,
    seed: int,
    size: int,
    pruned_shapes: Any = None,
) -> LoadedModel:
    kind = "a state_dict" if fmt is ModelFormat.STATE_DICT else "a safetensors file"
    if not arch:
        raise ArchitectureNeeded(
            f"{path.name} is {kind} (weights only, {len(weights)} tensors); pass "
            f"--arch NAME or --arch package.module:factory (built-in: {zoo_names()})"
        )
    try:
        built = build_arch(arch, seed=seed)
    except TrustRequired:  # it names the file and field itself
        raise
    except WorkbenchError as exc:
        raise type(exc)(f"{path.name}: {exc.message}") from None
    if pruned_shapes is not None:  # structurally pruned: narrow the layers first
        apply_shape_record(path.name, built.module, pruned_shapes, weights)
    notes = pair_state_dict(path.name, built, weights)
    model = _finish(fmt, path, built.module, built=built, shapes=shapes, size=size)
    model.notes[:0] = notes
    return model


def _finish(
    fmt: ModelFormat,
    path: Path | None,
    module: Any,
    *,
    built: Built | None = None,
    shapes: Shapes | None,
    size: int,
) -> LoadedModel:
    """Input specs (registry entry, then --shape, else an honest probe) and the record."""
    label = path.name if path is not None else (built.arch if built else fmt.value)
    notes: list[str] = list(built.notes) if built else []
    inputs = list(built.inputs) if built else []
    names = forward_arg_names(module)
    if not inputs and shapes and len(shapes) == 1 and len(names) <= 1:
        inputs = [given_input(name, shape) for name, shape in shapes.items()]
    elif inputs or shapes:
        inputs = apply_shapes(label, inputs, shapes, names=names)
    else:
        inputs = probe_inputs(module, notes)
    return LoadedModel(
        format=fmt,
        path=path,
        inputs=inputs,
        module=module,
        arch=built.arch if built else None,
        dataset=built.dataset if built else None,
        num_classes=built.num_classes if built else None,
        output_names=built.output_names if built else None,
        dynamic_axes=dict(built.dynamic_axes) if built else {},
        file_size=size,
        notes=notes,
    )


def _program_inputs(program: Any, notes: list[str]) -> list[InputSpec]:
    """User inputs of an exported program from its placeholder metadata."""
    from torch.export.graph_signature import InputKind

    placeholders = {n.name: n for n in program.graph.nodes if n.op == "placeholder"}
    examples = _flat_example_inputs(program)
    specs: list[InputSpec] = []
    user = [s for s in program.graph_signature.input_specs if s.kind == InputKind.USER_INPUT]
    for position, spec in enumerate(user):
        name = getattr(spec.arg, "name", f"input_{position}")
        value = placeholders.get(name).meta.get("val") if name in placeholders else None
        if value is None or not hasattr(value, "shape"):
            notes.append(f"input {name!r} is not a tensor; it is listed without a shape")
            specs.append(InputSpec(name, (), "object"))
            continue
        example = examples[position] if position < len(examples) else None
        shape, unresolved = [], []
        for index, dim in enumerate(value.shape):
            if isinstance(dim, int):
                shape.append(dim)
            elif index == 0:
                shape.append(1)
            else:
                known = getattr(example, "shape", None)
                shape.append(int(known[index]) if known is not None else 1)
                unresolved.append(str(index))
        if unresolved:
            notes.append(
                f"input {name!r} has dynamic dimension(s) {', '.join(unresolved)}; the saved "
                f"example's sizes are used; pass --shape {name}=... to choose"
            )
        specs.append(InputSpec(name, tuple(shape), str(value.dtype).removeprefix("torch.")))
    return specs


def _flat_example_inputs(program: Any) -> list[Any]:
    try:
        args, kwargs = program.example_inputs or ((), {})
    except (TypeError, ValueError):
        return []
    return [*args, *kwargs.values()]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
