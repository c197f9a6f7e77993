"""The pruning methods a user picks from, and the pass and settings each one means.

One table for ``workbench prune --method``, the wizard's method page and the
``channel-prune`` pass's ``method`` choices: ``magnitude`` zeroes single weights
(``magnitude-prune``); the others remove whole channels ranked their way
(``channel-prune`` with that ``method``). Torch-free and import-light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

UNSTRUCTURED_PASS = "magnitude-prune"
STRUCTURED_PASS = "channel-prune"


@dataclass(frozen=True)
class PruningMethod:
    key: str  # --method KEY
    label: str
    explanation: str
    structured: bool


METHODS: tuple[PruningMethod, ...] = (
    PruningMethod("magnitude", "Magnitude (unstructured)",
        "Sets the smallest individual weights to zero. Accuracy holds up to high sparsity, "
        "but the layers keep their shapes: unstructured zeros make no dense model faster "
        "(ONNX Runtime and PyTorch do the same work); only a compressed file gets smaller.",
        structured=False),
    PruningMethod("l1", "Channels by L1 magnitude (structured)",
        "Removes whole filters whose weights add up to the least, with everything that "
        "depends on them. The model really gets smaller and faster. A good default.",
        structured=True),
    PruningMethod("l2", "Channels by L2 magnitude (structured)",
        "Like L1, but large single weights count more when ranking filters.",
        structured=True),
    PruningMethod("bn-scale", "Channels by BatchNorm scale (structured)",
        "Ranks channels by the scale their BatchNorm layer gives them: a channel the "
        "network itself turned down matters little. Needs BatchNorm after the convolutions.",
        structured=True),
    PruningMethod("taylor", "Channels by Taylor importance (structured)",
        "Estimates how much the loss would rise without each channel (weight x gradient "
        "on a few training batches). Usually keeps the most accuracy; needs training data.",
        structured=True),
)  # fmt: skip

METHOD_NAMES = tuple(method.key for method in METHODS)
CHANNEL_METHODS = tuple(method.key for method in METHODS if method.structured)
DEFAULT_CHANNEL_METHOD = "l1"  # what magnitude --structured ranks channels by


def pruning_pass(method: str, structured: bool = False) -> tuple[str, dict[str, Any]]:
    """(pass name, the settings the method fixes) for ``--method method [--structured]``.

    A channel method implies structured; ``magnitude`` with ``structured`` ranks
    channels by L1 magnitude.
    """
    if method not in METHOD_NAMES:
        from workbench.core.errors import WorkbenchError

        raise WorkbenchError(f"no pruning method {method!r} (use {', '.join(METHOD_NAMES)})")
    if method in CHANNEL_METHODS:
        return STRUCTURED_PASS, {"method": method}
    if structured:
        return STRUCTURED_PASS, {"method": DEFAULT_CHANNEL_METHOD}
    return UNSTRUCTURED_PASS, {}
