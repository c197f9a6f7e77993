"""A dataset saved as a NumPy ``.npz``: arrays ``x`` and ``y`` (split here), or
``x_train``, ``y_train``, ``x_val``, ``y_val`` (split kept). Object arrays are refused
before anything is read (see ``npz``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench.core.data.dataset import stratified_split
from workbench.core.data.image_folder import FileDataset
from workbench.core.data.npz import load_npz
from workbench.core.errors import DataError

SPLIT_KEYS = ("x_train", "y_train", "x_val", "y_val")


def load_npz_dataset(path: Path | str, *, val_fraction: float = 0.2, seed: int = 0) -> FileDataset:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    arrays = load_npz(path)
    if all(key in arrays for key in SPLIT_KEYS):
        x_train, y_train = _pair(path, arrays, "x_train", "y_train")
        x_val, y_val = _pair(path, arrays, "x_val", "y_val")
        if x_train.shape[1:] != x_val.shape[1:]:
            raise DataError(
                f"{path.name}: x_train samples are {x_train.shape[1:]}, x_val {x_val.shape[1:]}"
            )
    elif "x" in arrays and "y" in arrays:
        x, y = _pair(path, arrays, "x", "y")
        train, val = stratified_split(y, val_fraction, seed)
        x_train, y_train, x_val, y_val = x[train], y[train], x[val], y[val]
    else:
        raise DataError(
            f"{path.name} holds {', '.join(sorted(arrays)) or 'no arrays'}; a dataset needs "
            "x and y (or x_train, y_train, x_val, y_val)"
        )
    num_classes = int(max(y_train.max(initial=0), y_val.max(initial=0))) + 1
    return FileDataset(
        name=path.stem,
        task="classification",
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        num_classes=num_classes,
        class_names=tuple(str(i) for i in range(num_classes)),
        source=str(path),
    )


def _pair(path: Path, arrays: dict[str, np.ndarray], xk: str, yk: str) -> tuple[np.ndarray, ...]:
    x, y = arrays[xk], arrays[yk]
    if x.ndim < 2:
        raise DataError(f"{path.name}: {xk} must hold one sample per row (shape {x.shape})")
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(
            f"{path.name}: {yk} must be one label per sample: shape {y.shape} for {len(x)} samples"
        )
    if x.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))
        if len(bad):
            raise DataError(
                f"{path.name}: {xk} has NaN or infinite values in {len(bad)} sample(s), "
                f"first at index {bad[0]}"
            )
        x = x.astype(np.float32)
    elif x.dtype.kind in "iub":
        x = x.astype(np.int64 if x.dtype.kind != "b" else np.float32)
    else:
        raise DataError(f"{path.name}: {xk} has dtype {x.dtype}; numbers are needed")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.array_equal(y, np.round(y)):
            raise DataError(f"{path.name}: {yk} must hold whole-number class labels")
    elif y.dtype.kind not in "iu":
        raise DataError(f"{path.name}: {yk} has dtype {y.dtype}; integer class labels are needed")
    y = y.astype(np.int64)
    if len(y) and y.min() < 0:
        raise DataError(f"{path.name}: {yk} has a negative label ({int(y.min())})")
    return x, y
