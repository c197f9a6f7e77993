"""NumPy ``.npz`` archives of arrays, read without ever unpickling.

An object array in an ``.npz`` is stored as a pickle, and ``np.load(allow_pickle=True)``
would run whatever that pickle says; we read only the ``.npy`` headers first and refuse
such arrays before any array data is read.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from workbench.core.errors import DataError


def npz_dtypes(path: Path) -> dict[str, np.dtype]:
    """Array name -> dtype, read from each member's ``.npy`` header only."""
    result: dict[str, np.dtype] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if not member.endswith(".npy"):
                    continue
                with archive.open(member) as handle:
                    version = np.lib.format.read_magic(handle)
                    if version == (1, 0):
                        _, _, dtype = np.lib.format.read_array_header_1_0(handle)
                    else:
                        _, _, dtype = np.lib.format.read_array_header_2_0(handle)
                result[member.removesuffix(".npy")] = dtype
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DataError(f"{path.name} is not a readable .npz archive ({exc})") from None
    return result


def is_npz(members: set[str] | list[str]) -> bool:
    return bool(members) and all(str(m).endswith(".npy") for m in members)


def refuse_object_arrays(path: Path) -> dict[str, np.dtype]:
    """The archive's dtypes, or DataError when any array would need unpickling."""
    dtypes = npz_dtypes(path)
    objects = sorted(name for name, dtype in dtypes.items() if dtype.hasobject)
    if objects:
        raise DataError(
            f"{path.name} holds object arrays ({', '.join(objects)}); reading them would "
            "unpickle Python objects, which can run code. Save plain numeric arrays instead"
        )
    return dtypes


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """Every array in the archive, object arrays refused before anything is read."""
    refuse_object_arrays(path)
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}
