"""Points drawn around centres on a circle: deterministic for a seed, float32, already split."""

from __future__ import annotations

import numpy as np

from workbench.core.data.dataset import ArrayDataset
from workbench.core.errors import DataError

RADIUS = 3.0  # centres on a circle of this radius; spread 1.0 leaves some overlap


def load_blobs(
    train_size: int = 800, val_size: int = 200, spread: float = 1.0, seed: int = 0
) -> ArrayDataset:
    """``train_size`` + ``val_size`` points, classes in turn, with Gaussian ``spread``."""
    from workbench_blobs import CLASSES

    if train_size < CLASSES or val_size < CLASSES or spread <= 0:
        raise DataError(
            f"blobs needs at least {CLASSES} training and validation points and a positive "
            f"spread, got train_size={train_size}, val_size={val_size}, spread={spread}"
        )
    angles = np.arange(CLASSES) * (2 * np.pi / CLASSES)
    centres = RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    # Separate streams: the validation points do not change when train_size does.
    x_train, y_train = _draw(centres, int(train_size), spread, np.random.default_rng([seed, 0]))
    x_val, y_val = _draw(centres, int(val_size), spread, np.random.default_rng([seed, 1]))
    return ArrayDataset(
        name="blobs",
        task="classification",
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        num_classes=CLASSES,
        class_names=tuple(f"blob {i}" for i in range(CLASSES)),
    )


def _draw(
    centres: np.ndarray, count: int, spread: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    labels = np.arange(count, dtype=np.int64) % len(centres)
    points = centres[labels] + rng.normal(scale=spread, size=(count, 2))
    return points.astype(np.float32), labels
