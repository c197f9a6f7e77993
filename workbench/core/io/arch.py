"""Architectures for weights-only files: build one by name, pair it with a state_dict,
and tell a torch module's input shape when nothing declares it.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.core.catalogue import get_registry
from workbench.core.errors import ArchitectureError, WorkbenchError
from workbench.core.io.arch_ref import ArchRef
from workbench.core.io.loaded import InputSpec
from workbench.core.named_sources import LIBRARY_PREFIXES
from workbench.core.registry import resolve
from workbench.core.units import format_shape
from workbench.core.zoo import parse_zoo_ref

_NESTED_KEYS = ("state_dict", "model_state_dict", "model")
_SHOWN = 3  # keys named in a mismatch message
_SIDES = (32, 224, 28, 8, 64)  # image sides tried for a first Conv layer, most common first


@dataclass
class Built:
    """A freshly built architecture and what the registry knows about it."""

    module: Any
    arch: str  # as stored on LoadedModel.arch
    inputs: list[InputSpec]
    dataset: str | None = None
    num_classes: int | None = None
    output_names: list[str] | None = None
    dynamic_axes: dict[str, dict[int, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # said beside the model


def zoo_names() -> str:

    return ", ".join(sorted(get_registry().models)) or "none"


def build_arch(ref: ArchRef, *, seed: int = 0) -> Built:
    """A zoo reference or a ``package.module:factory`` (only when trusted), built fresh."""

    ref.require_trust()
    if ref.is_code:
        return Built(_build_factory(ref.text, seed), ref.text, [])
    if ref.text.startswith(LIBRARY_PREFIXES):
        return _build_backbone(ref.text, seed)

    arch = ref.text
    name, kwargs = parse_zoo_ref(arch)
    entry = get_registry().model(name)
    try:
        module = entry.build(seed=seed, **kwargs)
    except WorkbenchError:
        raise
    except Exception as exc:
        raise ArchitectureError(
            f"architecture {name!r} cannot be built with {kwargs or 'no options'}: "
            f"{_first_line(exc)}"
        ) from None
    num_classes = kwargs.get("num_classes", entry.num_classes)
    return Built(
        module,
        arch.removeprefix("zoo:"),
        list(entry.inputs),
        dataset=entry.dataset,
        num_classes=num_classes if isinstance(num_classes, int) else None,
        **(lm_axes(entry.inputs) if entry.task == "language-modeling" else {}),
    )


def _build_backbone(text: str, seed: int) -> Built:
    from workbench.core.models.backbones import build_backbone

    prefix, _, rest = text.partition(":")
    name, kwargs = parse_zoo_ref(rest)  # options in the zoo's key=value form
    made = build_backbone(f"{prefix}:{name}", kwargs, seed=seed)
    return Built(made.module, text, [InputSpec("input", made.input_shape)],
                 num_classes=made.num_classes, notes=[made.note] if made.note else [])  # fmt: skip


def lm_axes(inputs: Any) -> dict[str, Any]:
    """A decoder LM's ``logits`` output and its free batch and sequence axes: one export
    runs any batch and any length up to the context (measure and export read these)."""
    axes = {0: "batch", 1: "sequence"}
    names = [spec.name for spec in inputs]
    return {
        "output_names": ["logits"],
        "dynamic_axes": {name: dict(axes) for name in [*names, "logits"]},
    }


def _build_factory(reference: str, seed: int) -> Any:
    import torch

    try:
        factory = resolve(reference)
    except WorkbenchError:
        raise
    except Exception as exc:  # the module ran and failed while importing
        raise ArchitectureError(f"cannot import {reference!r}: {_first_line(exc)}") from None
    if not callable(factory):
        raise ArchitectureError(f"{reference!r} is not callable; it must build an nn.Module")
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = factory()
    except Exception as exc:
        raise ArchitectureError(
            f"{reference}() failed: {_first_line(exc)}; it must build the model with no arguments"
        ) from None
    if not isinstance(module, torch.nn.Module):
        raise ArchitectureError(
            f"{reference}() returned a {type(module).__name__}, not a torch nn.Module"
        )
    return module.eval()


def find_state_dict(obj: Any) -> Mapping[str, Any] | None:
    """The tensors in a checkpoint: the object itself, or a nested state_dict."""
    if _is_tensor_dict(obj):
        return obj
    if isinstance(obj, Mapping):
        for key in _NESTED_KEYS:
            if _is_tensor_dict(obj.get(key)):
                return obj[key]
    return None


def _is_tensor_dict(obj: Any) -> bool:
    import torch

    return (
        isinstance(obj, Mapping)
        and len(obj) > 0
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    )


def pair_state_dict(label: str, built: Built, weights: Mapping[str, Any]) -> list[str]:
    """Load ``weights`` into the built module strictly; a mismatch names the keys."""
    notes: list[str] = []
    expected = built.module.state_dict()
    if (
        weights
        and all(k.startswith("module.") for k in weights)
        and not any(k.startswith("module.") for k in expected)
    ):
        weights = {k.removeprefix("module."): v for k, v in weights.items()}
        notes.append("the weights' 'module.' prefix (from DataParallel) was removed")
    missing = [k for k in expected if k not in weights]
    unexpected = [k for k in weights if k not in expected]
    mismatched = [
        f"{k} (file {format_shape(weights[k].shape)}, model {format_shape(v.shape)})"
        for k, v in expected.items()
        if k in weights and tuple(weights[k].shape) != tuple(v.shape)
    ]
    problems = [
        f"{what}: {_few(keys)}"
        for what, keys in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("shape mismatch", mismatched),
        )
        if keys
    ]
    if problems:
        raise ArchitectureError(
            f"{label} does not fit architecture {built.arch!r}: {'; '.join(problems)}; "
            "pass the --arch the weights were trained with"
        )
    try:
        built.module.load_state_dict(dict(weights), strict=True)
    except Exception as exc:
        raise ArchitectureError(
            f"{label} does not fit architecture {built.arch!r}: {_first_line(exc)}"
        ) from None
    built.module.eval()
    return notes


def _few(keys: list[str]) -> str:
    shown = ", ".join(keys[:_SHOWN])
    return shown + (f" (+{len(keys) - _SHOWN} more)" if len(keys) > _SHOWN else "")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def forward_arg_names(module: Any) -> list[str]:
    """Names of the tensors ``forward`` takes (ScriptModules report them in their schema)."""
    forward = getattr(module, "forward", None)
    schema = getattr(forward, "schema", None)
    if schema is not None:
        return [arg.name for arg in schema.arguments[1:]]
    try:
        params = inspect.signature(forward).parameters.values()
    except (TypeError, ValueError):
        return []
    return [
        p.name
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]


def probe_inputs(module: Any, notes: list[str]) -> list[InputSpec]:
    """An input shape guessed from the first layer, kept only if one forward pass accepts it.

    Used when nothing declares the input (no zoo entry, no ``--shape``). The guess is
    honest because it is checked: a shape the model rejects is not reported.
    """
    names = forward_arg_names(module)
    name = names[0] if names else "input"
    hint = f"pass --shape {name}=1x3x224x224 (the real shape)"
    if len(names) > 1:
        notes.append(f"the model takes {len(names)} inputs ({', '.join(names)}); {hint} for each")
        return []
    guess = _guess_from_first_layer(module)
    if guess is None:
        notes.append(f"the input shape cannot be told from the model; {hint}")
        return []
    layer, shapes, dtype = guess
    shape = next((s for s in shapes if _accepts(module, s, dtype)), None)
    if shape is None:
        notes.append(f"the input shape cannot be told from the first layer ({layer}); {hint}")
        return []
    notes.append(
        f"input shape {format_shape(shape)} was guessed from the first layer ({layer}) and "
        f"checked with a forward pass; pass --shape {name}=... if the real one differs"
    )
    return [InputSpec(name, shape, dtype)]


def _accepts(module: Any, shape: tuple[int, ...], dtype: str) -> bool:
    import torch

    try:
        module.eval()
        with torch.no_grad():
            module(torch.zeros(shape, dtype=getattr(torch, dtype)))
    except Exception:
        return False
    return True


def _guess_from_first_layer(
    module: Any,
) -> tuple[str, list[tuple[int, ...]], str] | None:
    """The first layer's kind, candidate shapes (most common sizes first) and dtype."""
    for _name, layer in module.named_modules():
        kind = getattr(layer, "original_name", None) or type(layer).__name__
        weight = getattr(layer, "weight", None)
        shape = tuple(getattr(weight, "shape", ()))
        if kind in ("Conv1d", "Conv2d", "Conv3d") and len(shape) >= 3:
            rank = len(shape) - 2
            return kind, [(1, shape[1], *(side,) * rank) for side in _SIDES], "float32"
        if kind == "Linear" and len(shape) == 2:
            return kind, [(1, shape[1])], "float32"
        if kind == "Embedding" and len(shape) == 2:
            return kind, [(1, length) for length in (16, 32, 128)], "int64"
        if kind not in ("Sequential", "ModuleList", "ModuleDict") and shape:
            return None  # some other first layer: no honest guess
    return None
