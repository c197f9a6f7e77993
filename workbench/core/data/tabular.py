"""A CSV table: one column is the class, every other column a number.

Read with the csv module and checked cell by cell instead of with a library that
coerces: a missing value, NaN, a word in a numeric column or a row with the wrong
number of fields is an error naming the file, the line and the column, so nothing is
silently turned into a number it was not.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from workbench.core.data.dataset import stratified_split
from workbench.core.data.image_folder import FileDataset
from workbench.core.errors import DataError

MAX_ERRORS_SHOWN = 3


def load_csv(
    path: Path | str,
    *,
    target: str | None,
    val_fraction: float = 0.2,
    seed: int = 0,
) -> FileDataset:
    """float32 features (N, F) and int64 labels from the ``target`` column's values."""
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(f"{path}: cannot open ({exc.strerror or exc})") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise DataError(f"{path.name}: the file is empty") from None
        except (csv.Error, UnicodeDecodeError) as exc:
            raise DataError(f"{path.name} line 1: not readable as CSV ({exc})") from None
        header = [name.strip() for name in header]
        if not target:
            raise DataError(
                f"{path.name}: name the target column (--target); columns: {', '.join(header)}"
            )
        if target not in header:
            raise DataError(f"{path.name}: no column {target!r}; columns: {', '.join(header)}")
        target_index = header.index(target)
        features = [i for i in range(len(header)) if i != target_index]
        if not features:
            raise DataError(f"{path.name}: no feature columns besides {target!r}")
        rows, labels = _read_rows(path, reader, header, target_index, features)
    if not rows:
        raise DataError(f"{path.name}: no data rows under the header")
    classes = sorted(set(labels), key=_natural_key)
    if len(classes) < 2:
        raise DataError(f"{path.name}: column {target!r} holds one class only ({classes[0]!r})")
    index = {name: i for i, name in enumerate(classes)}
    y = np.array([index[name] for name in labels], dtype=np.int64)
    x = np.array(rows, dtype=np.float32)
    train, val = stratified_split(y, val_fraction, seed)
    return FileDataset(
        name=path.stem,
        task="classification",
        x_train=x[train],
        y_train=y[train],
        x_val=x[val],
        y_val=y[val],
        num_classes=len(classes),
        class_names=tuple(classes),
        source=str(path),
    )


def _read_rows(
    path: Path, reader: csv.reader, header: list[str], target: int, features: list[int]
) -> tuple[list[list[float]], list[str]]:
    rows: list[list[float]] = []
    labels: list[str] = []
    errors: list[str] = []
    try:
        for fields in reader:
            line = reader.line_num
            if not fields or all(not f.strip() for f in fields):
                continue  # a blank line
            if len(fields) != len(header):
                errors.append(f"line {line} has {len(fields)} fields, the header has {len(header)}")
            else:
                label = fields[target].strip()
                if not label:
                    errors.append(f"line {line}, column {header[target]!r}: the class is empty")
                values = [_number(fields[i], line, header[i], errors) for i in features]
                rows.append(values)
                labels.append(label)
            if len(errors) >= MAX_ERRORS_SHOWN:
                break
    except (csv.Error, UnicodeDecodeError) as exc:
        errors.append(f"line {reader.line_num}: not readable as CSV ({exc})")
    if errors:
        more = " (and possibly more)" if len(errors) >= MAX_ERRORS_SHOWN else ""
        raise DataError(f"{path.name}: " + "; ".join(errors[:MAX_ERRORS_SHOWN]) + more)
    return rows, labels


def _number(text: str, line: int, column: str, errors: list[str]) -> float:
    cell = text.strip()
    if not cell:
        errors.append(f"line {line}, column {column!r}: missing value")
        return 0.0
    try:
        value = float(cell)
    except ValueError:
        errors.append(f"line {line}, column {column!r}: {cell!r} is not a number")
        return 0.0
    if not math.isfinite(value):
        errors.append(f"line {line}, column {column!r}: {cell} is not a finite number")
    return value


def _natural_key(name: str) -> tuple[int, float, str]:
    """Numeric class names in numeric order ("2" before "10"), then the rest by name."""
    try:
        return (0, float(name), name)
    except ValueError:
        return (1, 0.0, name)
