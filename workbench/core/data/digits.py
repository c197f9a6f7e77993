"""The bundled UCI 8x8 handwritten digits (1,797 images): the demo dataset.

Real data, small enough to train on in seconds; see resources/DATA_LICENSES.md.
"""

from __future__ import annotations

import functools

import numpy as np

from workbench.core.data import resources_dir
from workbench.core.data.dataset import ArrayDataset, read_only, stratified_split
from workbench.core.errors import DataError

DIGITS_FILE = "digits.npz"
VAL_FRACTION = 0.2
SPLIT_SEED = 0


def load_digits() -> ArrayDataset:
    """Digits as float32 (N, 1, 8, 8) in 0..1, with a fixed stratified 80/20 split."""
    x_train, y_train, x_val, y_val = _split_arrays()
    return ArrayDataset(
        name="digits",
        task="classification",
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        num_classes=10,
        class_names=tuple(str(digit) for digit in range(10)),
    )


@functools.lru_cache(maxsize=1)
def _split_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    path = resources_dir() / DIGITS_FILE
    try:
        with np.load(path, allow_pickle=False) as archive:
            images = archive["images"]
            labels = archive["labels"].astype(np.int64)
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"cannot read the bundled digits from {path}: {exc}") from exc
    if images.shape[1:] != (8, 8) or len(images) != len(labels):
        raise DataError(f"{path} does not hold 8x8 digit images with one label each")
    x = (images.astype(np.float32) / 16.0)[:, None, :, :]
    train, val = stratified_split(labels, VAL_FRACTION, SPLIT_SEED)
    arrays = (x[train], labels[train], x[val], labels[val])
    read_only(*arrays)
    return arrays
