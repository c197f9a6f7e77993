"""Datasets as plain numpy arrays with fixed train/validation splits.

Importing this package does not import torch; the loaders live in their own modules
(``digits``, ``shapes``, ``sequences``) and are reached through the registry.
"""

from __future__ import annotations

from pathlib import Path

from workbench.core.data.dataset import ArrayDataset


def resources_dir() -> Path:
    """The repository's ``resources/`` folder, where bundled data files live."""
    return Path(__file__).resolve().parents[3] / "resources"


__all__ = ["ArrayDataset", "resources_dir"]
