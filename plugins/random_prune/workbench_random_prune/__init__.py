"""Workbench plugin: random pruning, the control every real pruning method should beat.

Only declarations here: the pass's module (and torch) is imported when it is used.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def register(registry: Any) -> None:
    from workbench.core.registry import PassEntry

    registry.add_pass(
        PassEntry(
            name="random-prune",
            cls="workbench_random_prune.random_prune:RandomPrune",
            title="Random pruning (control)",
            description="Zeroes a random fraction of the weights of convolution and linear "
            "layers. Useful as a baseline: a pruning method that does not beat random "
            "choice at the same sparsity is not choosing well.",
        )
    )
