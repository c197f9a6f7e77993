"""The settings of the two pruning passes, declared once: wizard form, CLI flags, recipe step.

Plain dataclasses read by ``workbench.core.config_schema``; importing this module
imports no torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from workbench.core.compress.pruning.methods import CHANNEL_METHODS, DEFAULT_CHANNEL_METHOD

TARGETS = ("channels", "macs", "params", "latency")
SCOPE_LABELS = {  # the form's words for each scope
    "per-layer": "the same fraction in every layer",
    "global": "one ranking over the whole network",
}


MAX_AMOUNT = 0.95  # the most of a layer's channels (or weights) one pass removes


def _amount(help_text: str) -> Any:
    return field(
        default=0.5,
        metadata={"help": help_text, "min": 0.0, "max": MAX_AMOUNT,
                  "display": ("percent", "slider"), "label": "Remove"},
    )  # fmt: skip


IGNORE_HELP = (
    "layers to leave alone, by module name (a name also covers the layers inside it), "
    "e.g. stem,stages.0; in channel pruning their outputs are kept, while their inputs "
    "still follow the layer before them"
)
LAYER_AMOUNTS_HELP = (
    "per-layer amounts that replace --amount for those layers, as name=fraction (e.g. "
    "from a sensitivity scan): conv1=0.3,stages.2.0.conv2=0.7"
)


@dataclass
class FinetuneFields:
    """Fine-tuning with the training engine after each pruning step (0 epochs: none)."""

    steps: int = field(
        default=1,
        metadata={
            "help": "prune in this many equal steps, fine-tuning after each (1: one shot)",
            "min": 1,
            "max": 20,
            "label": "Steps",
        },
    )
    finetune_epochs: int = field(
        default=0,
        metadata={
            "help": "epochs of fine-tuning after each step, on the training data (0: none)",
            "min": 0,
            "max": 1000,
            "label": "Epochs per step",
        },
    )
    finetune_lr: float | None = field(
        default=None,
        metadata={
            "help": "peak learning rate of fine-tuning (none: the model's usual one)",
            "min": 1e-7,
            "max": 10.0,
            "label": "Learning rate",
        },
    )


@dataclass
class MagnitudePruneConfig(FinetuneFields):
    """Unstructured: zero the smallest weights; the shapes stay, so nothing runs faster."""

    amount: float = _amount("fraction of the chosen layers' weights to set to zero")
    scope: Literal["global", "per-layer"] = field(
        default="global",
        metadata={
            "help": "global: one threshold over all chosen layers (layers end up with "
            "different sparsity); per-layer: the same fraction in every layer",
            "label": "Ranking",
            "labels": SCOPE_LABELS,
        },
    )
    keep_classifier: bool = field(
        default=True,
        metadata={"help": "leave the final classifier layer dense"},
    )
    ignore: list[str] = field(default_factory=list, metadata={"help": IGNORE_HELP})
    layer_amounts: list[str] = field(default_factory=list, metadata={"help": LAYER_AMOUNTS_HELP})


@dataclass
class ChannelPruneConfig(FinetuneFields):
    """Structured: remove whole channels (and what depends on them) from the network."""

    method: str = field(
        default=DEFAULT_CHANNEL_METHOD,
        metadata={
            "help": "how channels are ranked: l1/l2 weight magnitude, bn-scale (the "
            "BatchNorm scale |gamma|) or taylor (|weight x gradient| on training batches)",
            "choices": CHANNEL_METHODS,
        },
    )
    amount: float = _amount(
        "how much to remove: a fraction of channels (target channels) or of the "
        "MACs, parameters or latency (0.75 = 4x fewer)"
    )
    target: Literal["channels", "macs", "params", "latency"] = field(
        default="channels",
        metadata={
            "help": "what --amount measures; macs, params and latency search the channel "
            "ratio that reaches the asked reduction",
            "label": "Measured as",
            "labels": {
                "channels": "a fraction of the channels",
                "macs": "a reduction of the MACs (compute)",
                "params": "a reduction of the parameters (size)",
                "latency": "a reduction of the measured latency (ONNX Runtime, CPU)",
            },
        },
    )
    scope: Literal["per-layer", "global"] = field(
        default="per-layer",
        metadata={
            "help": "per-layer: the same fraction of every layer's channels; global: one "
            "ranking over the whole network (layers shrink unevenly)",
            "label": "Ranking",
            "labels": SCOPE_LABELS,
        },
    )
    keep_classifier: bool = field(
        default=True,
        metadata={"help": "keep the final classifier's outputs (the classes) untouched"},
    )
    ignore: list[str] = field(default_factory=list, metadata={"help": IGNORE_HELP})
    layer_amounts: list[str] = field(default_factory=list, metadata={"help": LAYER_AMOUNTS_HELP})
    round_to: int = field(
        default=1,
        metadata={
            "help": "keep channel counts a multiple of this (8 suits vector units); 1: any",
            "min": 1,
            "max": 64,
        },
    )
    max_layer_amount: float = field(
        default=0.9,
        metadata={
            "help": "no layer loses more than this fraction of its channels",
            "min": 0.0,
            "max": 0.99,
            "display": "percent",
        },
    )
    taylor_batches: int = field(
        default=4,
        metadata={"help": "training batches whose gradients rank channels (taylor)", "min": 1},
    )


def parse_layer_amounts(entries: list[str]) -> dict[str, float]:
    """``["conv1=0.3"]`` -> ``{"conv1": 0.3}``; a bad entry raises ``WorkbenchError``."""
    from workbench.core.errors import WorkbenchError

    amounts: dict[str, float] = {}
    for entry in entries:
        name, sep, value = entry.partition("=")
        try:
            amount = float(value) if sep else float("nan")
        except ValueError:
            amount = float("nan")
        if not name.strip() or not 0.0 <= amount < 1.0:
            raise WorkbenchError(
                f"layer_amounts: {entry!r} is not name=fraction with a fraction from 0 to below 1"
            )
        amounts[name.strip()] = amount
    return amounts


LM_METHODS = ("l2", "l1", "taylor")


@dataclass
class LMPruneConfig:
    """Language models: remove whole attention heads, MLP hidden width and whole blocks."""

    heads: float = field(
        default=0.0,
        metadata={"help": "fraction of each block's attention heads to remove (whole heads)",
                  "min": 0.0, "max": 0.9, "display": "percent", "label": "Heads"},
    )  # fmt: skip
    mlp: float = field(
        default=0.0,
        metadata={"help": "fraction of each block's MLP hidden width to remove",
                  "min": 0.0, "max": 0.9, "display": "percent", "label": "MLP width"},
    )  # fmt: skip
    depth: int = field(
        default=0,
        metadata={"help": "blocks to remove, the least important by a perplexity scan that "
                  "drops each block in turn", "min": 0, "max": 64, "label": "Blocks"},
    )  # fmt: skip
    method: str = field(
        default="l2",
        metadata={"help": "how heads and MLP channels are ranked: l2/l1 weight magnitude or "
                  "taylor (|weight x gradient| on training batches)", "choices": LM_METHODS},
    )  # fmt: skip
    scan_windows: int = field(
        default=256,
        metadata={"help": "validation windows the depth scan measures perplexity on", "min": 8},
    )
    taylor_batches: int = field(
        default=4,
        metadata={"help": "training batches whose gradients rank channels (taylor)", "min": 1},
    )
    finetune_epochs: int = field(
        default=0,
        metadata={"help": "epochs of fine-tuning after pruning, on the training data (0: none)",
                  "min": 0, "max": 1000, "label": "Fine-tune epochs"},
    )  # fmt: skip
    finetune_lr: float | None = field(
        default=None,
        metadata={"help": "peak learning rate of fine-tuning (none: the model's usual one)",
                  "min": 1e-7, "max": 10.0, "label": "Learning rate"},
    )  # fmt: skip
