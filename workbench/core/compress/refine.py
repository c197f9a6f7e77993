"""The fix loop's changes: what a person can change about one node of a compressed
variant, as a new step for the same pass, run again from the same parent.

With the quantization-error overlay on, the node adding the most error is in plain
sight; the change it needs is a setting of the pass that made the variant: keep it in
float (``exclude``), quantize weights per channel, calibrate another way; for channel
pruning, leave the layer alone (``ignore``) or give it its own amount
(``layer_amounts``). Each ``Refinement`` names one such change to one config field; the
step it makes is validated by the schema like any recipe step, so the re-run is the
pass run again and its variant replays from its recipe like any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.core.catalogue import get_registry
from workbench.core.compress.pruning.config import parse_layer_amounts
from workbench.core.compress.pruning.graph_nodes import layer_of
from workbench.core.compress.pruning.layers import prunable_layers
from workbench.core.config_schema import config_from_dict, config_to_dict, fields_of
from workbench.core.errors import WorkbenchError
from workbench.core.graph.model import Node

LAYER_AMOUNTS = (0.25, 0.5, 0.75)  # the per-layer amounts offered in a menu


@dataclass(frozen=True)
class Refinement:
    """One change to one setting of the step that made a variant."""

    label: str  # what the menu says: "Keep Conv_3 in float"
    field: str  # the config field it changes
    value: Any  # the field's new value


def refinements(step: dict[str, Any], node: str) -> list[Refinement]:
    """The changes the pass of ``step`` offers for ``node`` (an ONNX node name for
    quantization, a layer name for pruning); none for a step of another pass."""
    config = _config(step)
    if config is None:
        return []
    names = {spec.name for spec in fields_of(type(config))}
    found: list[Refinement] = []
    if "exclude" in names:
        excluded = list(config.exclude)
        if node in excluded:
            found.append(Refinement(f"Quantize {node} again", "exclude",
                                    [n for n in excluded if n != node]))  # fmt: skip
        else:
            found.append(Refinement(f"Keep {node} in float", "exclude", [*excluded, node]))
    if "per_channel" in names and not config.per_channel:
        found.append(Refinement("Quantize weights per channel (every layer)", "per_channel", True))
    if "calibration" in names:
        spec = next(s for s in fields_of(type(config)) if s.name == "calibration")
        found += [Refinement(f"Calibrate with {choice}", "calibration", choice)
                  for choice in spec.choices or () if choice != config.calibration]  # fmt: skip
    if "ignore" in names:
        ignored = list(config.ignore)
        if node in ignored:  # the way back; an own amount means nothing while it is left alone
            return [*found, Refinement(f"Prune {node} again", "ignore",
                                       [n for n in ignored if n != node])]  # fmt: skip
        found.append(Refinement(f"Leave {node} unpruned", "ignore", [*ignored, node]))
    if "layer_amounts" in names:
        amounts = parse_layer_amounts(list(config.layer_amounts))
        for amount in LAYER_AMOUNTS:
            if amounts.get(node) != amount and amount != config.amount:
                chosen = {**amounts, node: amount}
                found.append(Refinement(f"Prune {node} by {amount:.0%}", "layer_amounts",
                                        [f"{k}={v:g}" for k, v in chosen.items()]))  # fmt: skip
    return found


@dataclass(frozen=True)
class NodeChanges:
    """What the fix loop offers for one node of the graph."""

    target: str  # the name the step's config uses for it: an ONNX node, or a layer
    changes: list[Refinement]
    why_none: str = ""  # why a layer the menu names gets no change (a disabled line)


def node_changes(step: dict[str, Any], node: Node, module: Any = None) -> NodeChanges:
    """The changes for a graph ``node`` of the variant ``step`` made.

    Quantization names ONNX nodes, as the graph of a quantized variant does; pruning
    names layers (module paths), found from the node in ``module`` (the variant's or its
    parent's ``nn.Module``): only a convolution or linear layer the pass would prune gets
    changes; the classifier it keeps and a layer inside an ignored one say why not, and
    any other node (a ReLU, a BatchNorm that follows its convolution) gets nothing.
    """
    config = _config(step)
    names = {spec.name for spec in fields_of(type(config))} if config is not None else set()
    if "ignore" not in names:
        return NodeChanges(node.name, refinements(step, node.name))
    if module is None:
        return NodeChanges(node.name, [], "its model is not loaded")
    layers = {layer.name: layer for layer in prunable_layers(module)}
    name = layer_of(node, layers)
    if name is None:
        return NodeChanges(node.name, [])
    if layers[name].classifier and config.keep_classifier:
        return NodeChanges(name, [], "the classifier keeps its outputs (the classes)")
    covering = next((n for n in config.ignore if name.startswith(f"{n}.")), None)
    if covering is not None:
        return NodeChanges(name, [], f"left unpruned with {covering}")
    return NodeChanges(name, refinements(step, name))


def refined_step(step: dict[str, Any], change: Refinement) -> dict[str, Any]:
    """``step`` with ``change`` made, its config checked by the schema."""
    config = _config(step)
    if config is None:
        raise WorkbenchError(f"a {step.get('pass')!r} step has no settings to change")
    values = {**config_to_dict(config), change.field: change.value}
    pass_class = get_registry().pass_(step["pass"]).load()
    checked = config_from_dict(pass_class.config_class, values, where=change.label)
    return {**step, "config": config_to_dict(checked)}


def _config(step: dict[str, Any]) -> Any:
    """The step's config as its pass's dataclass, or None for a step of no known pass."""
    name = step.get("pass")
    if not isinstance(name, str) or name not in get_registry().passes:
        return None
    pass_class = get_registry().pass_(name).load()
    return config_from_dict(pass_class.config_class, step.get("config") or {})
