"""The one in-memory dataset shape every trainer, evaluator and calibrator reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from workbench.core.errors import DataError


@dataclass
class ArrayDataset:
    """A classification dataset held as numpy arrays, already split.

    The split is fixed when the dataset is made, so every step (training, accuracy,
    calibration, comparison) sees the same validation samples. Labels are int64.
    Arrays may be read-only when a loader shares a cached copy between callers.
    """

    name: str
    task: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    num_classes: int
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.x_train) != len(self.y_train) or len(self.x_val) != len(self.y_val):
            raise DataError(f"dataset {self.name!r} has different numbers of samples and labels")
        if self.x_train.shape[1:] != self.x_val.shape[1:]:
            raise DataError(f"dataset {self.name!r} has train and validation samples of two shapes")
        if len(self.class_names) != self.num_classes:
            raise DataError(
                f"dataset {self.name!r} names {len(self.class_names)} classes "
                f"but declares {self.num_classes}"
            )
        for labels in (self.y_train, self.y_val):
            if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
                raise DataError(
                    f"dataset {self.name!r} has labels outside 0..{self.num_classes - 1}"
                )

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One sample's shape, without the batch dimension."""
        return tuple(self.x_train.shape[1:])

    @property
    def num_train(self) -> int:
        return len(self.x_train)

    @property
    def num_val(self) -> int:
        return len(self.x_val)

    def train_tensors(self) -> Any:
        """The training split as a ``torch.utils.data.TensorDataset`` (inputs, labels)."""
        return _tensor_dataset(self.x_train, self.y_train)

    def val_tensors(self) -> Any:
        """The validation split as a ``torch.utils.data.TensorDataset`` (inputs, labels)."""
        return _tensor_dataset(self.x_val, self.y_val)


def _tensor_dataset(x: np.ndarray, y: np.ndarray) -> Any:
    from torch.utils.data import TensorDataset

    return TensorDataset(_as_tensor(x), _as_tensor(y))


def _as_tensor(array: np.ndarray) -> Any:
    import torch

    # torch.from_numpy shares memory and warns on read-only (cached) arrays: copy those.
    if not array.flags.writeable or not array.flags.c_contiguous:
        array = np.ascontiguousarray(array).copy()
    return torch.from_numpy(array)


def stratified_split(
    labels: np.ndarray, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val) taking the same fraction of every class into validation.

    Deterministic for a seed; both index arrays are sorted so sample order follows the
    source file.
    """
    rng = np.random.default_rng(seed)
    val_parts = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        count = max(1, round(len(members) * val_fraction))
        val_parts.append(rng.permutation(members)[:count])
    val = np.sort(np.concatenate(val_parts))
    train = np.setdiff1d(np.arange(len(labels)), val)
    return train, val


def read_only(*arrays: np.ndarray) -> None:
    """Mark arrays shared through a cache as read-only, so no caller changes another's data."""
    for array in arrays:
        array.flags.writeable = False
