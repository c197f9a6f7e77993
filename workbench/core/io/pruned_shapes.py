"""Reopening a structurally pruned model from plain data: its arch plus recorded shapes.

Channel pruning leaves layers narrower than the architecture builds them, so a plain
state_dict no longer fits ``--arch``. The checkpoint therefore also records each
layer's shape attributes (``in_channels``, ``groups``, ``num_features``, ...) as plain
ints: ``{"state_dict": ..., "pruned_shapes": {layer: {attr: value}}}``, which
``torch.load(weights_only=True)`` reads without running code. A block dropped by depth
pruning (``compress.pruning.blocks``) is recorded as ``{"identity": 1}``: the fresh
model gets an ``nn.Identity`` there before it is narrowed. Hand-written because
Torch-Pruning's own ``tp.state_dict`` pickles every module's ``__dict__`` (submodules,
hooks), which only a full, code-running unpickle can read back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workbench.core.errors import ArchitectureError

FORMAT = "workbench-pruned/1"
SHAPE_ATTRIBUTES = (
    "in_channels",
    "out_channels",
    "groups",
    "in_features",
    "out_features",
    "num_features",
    "num_channels",
    "normalized_shape",
    "embedding_dim",
    "num_parameters",
)
IDENTITY = "identity"  # the record's mark of a layer that passes its input through


def swap_layer(module: Any, name: str, layer: Any = None) -> Any:
    """Put ``layer`` (default: an ``nn.Identity``, which passes its input through) in
    place of ``module``'s layer ``name``; returns the layer it replaced. Depth pruning
    drops blocks this way, and reopening its checkpoint redoes it."""
    from torch import nn

    parent, _, child = name.rpartition(".")
    owner = module.get_submodule(parent) if parent else module
    replaced = getattr(owner, child)
    setattr(owner, child, nn.Identity() if layer is None else layer)
    return replaced


def shape_record(module: Any) -> dict[str, dict[str, Any]]:
    """Each submodule's shape attributes, as plain ints and lists."""
    from torch import nn

    record: dict[str, dict[str, Any]] = {}
    for name, layer in module.named_modules():
        if type(layer) is nn.Identity and name:
            record[name] = {IDENTITY: 1}
            continue
        values = {}
        for attr in SHAPE_ATTRIBUTES:
            value = getattr(layer, attr, None)
            if isinstance(value, int) and not isinstance(value, bool):
                values[attr] = value
            elif isinstance(value, tuple) and all(isinstance(v, int) for v in value):
                values[attr] = list(value)
        if values:
            record[name] = values
    return record


def pruned_checkpoint(module: Any) -> dict[str, Any]:
    """What ``torch.save`` writes for a pruned model: weights plus the shape record."""
    return {
        "format": FORMAT,
        "state_dict": module.state_dict(),
        "pruned_shapes": shape_record(module),
    }


def is_pruned_checkpoint(obj: Any) -> bool:
    return isinstance(obj, Mapping) and obj.get("format") == FORMAT and "pruned_shapes" in obj


def apply_shape_record(
    label: str, module: Any, record: Mapping[str, Any], weights: Mapping[str, Any]
) -> None:
    """Narrow a freshly built ``module`` to the recorded shapes before loading ``weights``.

    Attributes are set from the record; each parameter and buffer is replaced by an
    empty tensor of the shape the weights hold, so the strict load that follows fits.
    """
    import torch

    built = dict(module.named_modules())
    for name, values in record.items():
        if dict(values).get(IDENTITY) and name in built:  # a dropped block passes through
            swap_layer(module, name)
    layers = dict(module.named_modules())
    unknown = [name for name in record if name not in layers]
    if unknown:
        raise ArchitectureError(
            f"{label} records pruned layers the architecture lacks ({', '.join(unknown[:3])}); "
            "pass the --arch it was pruned from"
        )
    for name, values in record.items():
        layer = layers[name]
        for attr, value in dict(values).items():
            if attr in SHAPE_ATTRIBUTES and hasattr(layer, attr):
                setattr(layer, attr, tuple(value) if isinstance(value, list) else int(value))
        prefix = f"{name}." if name else ""
        for kind in ("_parameters", "_buffers"):
            slots = getattr(layer, kind)
            for key, tensor in list(slots.items()):
                saved = weights.get(prefix + key)
                if tensor is None or saved is None or tuple(saved.shape) == tuple(tensor.shape):
                    continue
                fresh = torch.empty(saved.shape, dtype=tensor.dtype)
                slots[key] = torch.nn.Parameter(fresh) if kind == "_parameters" else fresh
