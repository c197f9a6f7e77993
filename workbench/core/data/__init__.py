"""Datasets as plain numpy arrays with fixed train/validation splits.

Importing this package does not import torch; the loaders live in their own modules
(``digits``, ``shapes``, ``sequences``) and are reached through the registry.
"""

from __future__ import annotations

from pathlib import Path

from workbench.core.data.dataset import ArrayDataset

DEFAULT_IMAGE_SIDE = 32  # an image folder read for no model in particular


def resources_dir() -> Path:
    """The repository's ``resources/`` folder, where bundled data files live."""
    return Path(__file__).resolve().parents[3] / "resources"


__all__ = ["DEFAULT_IMAGE_SIDE", "ArrayDataset", "resources_dir"]
