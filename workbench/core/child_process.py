"""How the app starts Python children: never importing from the working folder.

``python -m X`` and ``python -c CODE`` put the current folder first on ``sys.path``, so
a ``numpy.py``, ``torch.py`` or ``onnxruntime.py`` lying in the folder the user started
from would run inside the child (the isolated parser, the export's load probe,
torchrun). ``-P`` (Python 3.11+) leaves that folder out. The children we do not start
ourselves (torchrun's workers, multiprocessing's spawned data loader workers) get the
same from ``PYTHONSAFEPATH``, which every descendant inherits.

A frozen app (PyInstaller) has no interpreter: ``sys.executable`` is the app itself,
which takes no interpreter flags, and its ``sys.path`` never holds the working folder.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

SAFE_PATH_VARIABLE = "PYTHONSAFEPATH"


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def python_command(*args: str) -> list[str]:
    """``[python, -P, *args]``: a Python child whose ``sys.path`` skips the working folder."""
    if is_frozen():
        return [sys.executable, *args]
    return [sys.executable, "-P", *args]


def child_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with ``PYTHONSAFEPATH`` set, for a
    child whose own children (torchrun's workers) we do not start ourselves."""
    environment = dict(os.environ if base is None else base)
    if not is_frozen() and not environment.get(SAFE_PATH_VARIABLE):  # empty means unset
        environment[SAFE_PATH_VARIABLE] = "1"
    return environment


def protect_descendants() -> None:
    """Set ``PYTHONSAFEPATH`` in this process's environment, so every Python started
    from here on inherits it, including multiprocessing's spawned workers, whose
    command line we cannot change (``python -c 'from multiprocessing.spawn import ...'``
    would import a ``multiprocessing.py`` from the working folder). Call it at start-up,
    before any thread exists: changing the environment is not thread-safe."""
    if not is_frozen() and not os.environ.get(SAFE_PATH_VARIABLE):
        os.environ[SAFE_PATH_VARIABLE] = "1"
