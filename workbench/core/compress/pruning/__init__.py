"""Pruning: unstructured magnitude (``MagnitudePrune``) and structured channel pruning
(``ChannelPrune``, Torch-Pruning's DepGraph), a per-layer sensitivity scan, and the
before/after figures both faces show.

Modules: ``config`` (the settings, torch-free), ``layers`` (what may be pruned, data,
fine-tuning), ``unstructured``, ``structured``, ``sensitivity``, ``report``, ``variant``
(the folder the CLI writes). Importing this package imports no torch.
"""

from __future__ import annotations

from workbench.core.compress.pruning.config import (
    CHANNEL_METHODS,
    TARGETS,
    ChannelPruneConfig,
    MagnitudePruneConfig,
)

__all__ = [
    "CHANNEL_METHODS",
    "TARGETS",
    "ChannelPruneConfig",
    "MagnitudePruneConfig",
]
