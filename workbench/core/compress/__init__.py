"""Compression passes: pruning, quantization, distillation (one module each), and the API.

Importing this package is cheap (no torch). A pass is a ``Pass`` subclass with a
config dataclass; it is declared to the registry as a ``PassEntry`` naming its class as
``"module:Class"``, so listing passes imports none of them. Built-in passes are
declared in ``BUILTIN_PASSES`` below; plugins declare theirs in ``register(registry)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.core.compress.base import Pass, PassResult, copy_model, run_pass
from workbench.core.compress.quantization import QUANTIZATION_PASSES
from workbench.core.registry import PassEntry

if TYPE_CHECKING:
    from workbench.core.registry import Registry

__all__ = ["BUILTIN_PASSES", "Pass", "PassResult", "copy_model", "register_builtins", "run_pass"]

# The built-in passes, as declarations: PassEntry(name, "module:Class", title, description).
BUILTIN_PASSES: tuple[PassEntry, ...] = (
    PassEntry(
        name="magnitude-prune",
        cls="workbench.core.compress.pruning.unstructured:MagnitudePrune",
        title="Magnitude pruning (unstructured)",
        description="Zeroes the smallest weights (globally or per layer), optionally in "
        "steps with fine-tuning. The model keeps its shape: no faster on dense runtimes.",
    ),
    PassEntry(
        name="channel-prune",
        cls="workbench.core.compress.pruning.structured:ChannelPrune",
        title="Channel pruning (structured)",
        description="Removes whole channels with their dependencies (Torch-Pruning "
        "DepGraph), to a channel ratio or a MACs, parameter or latency target: really "
        "smaller and faster; fine-tune to recover accuracy.",
    ),
    PassEntry(
        name="lm-prune",
        cls="workbench.core.compress.pruning.lm_pass:LMPrune",
        title="Language-model pruning (heads, MLP width, depth)",
        description="Removes whole attention heads and MLP hidden channels (Torch-Pruning) "
        "and the blocks a perplexity scan finds least important; fine-tune to recover.",
    ),
    *QUANTIZATION_PASSES,
    PassEntry(
        name="distill",
        cls="workbench.core.compress.distillation.distill_pass:Distill",
        title="Knowledge distillation",
        description="Trains a smaller student (narrower or shallower, a pruned copy, or "
        "your own) to copy the model's answers as well as the labels; optionally beside "
        "the same student trained on labels alone, to show the gain.",
    ),
)


def register_builtins(registry: Registry) -> None:
    for entry in BUILTIN_PASSES:
        registry.add_pass(entry)
