"""The graph canvas: a layered, hierarchical view of a model with overlays."""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QPointF
from PySide6.QtGui import QPainterPath


def _keep_none_alive() -> None:
    """Work around PySide6 6.12 on CPython 3.11: its methods returning nothing drop a
    reference to ``None`` on every call, and CPython aborts ("deallocating None") once
    a few thousand calls have been made. Python 3.12 made None immortal; here its count
    is raised out of reach, only when a probe shows the leak."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    path, point = QPainterPath(), QPointF(0.0, 0.0)
    before = sys.getrefcount(None)
    for _ in range(64):
        path.moveTo(point)
    if sys.getrefcount(None) < before - 32:
        ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40


_keep_none_alive()

from workbench.ui.graph_view.graph_widget import GraphWidget  # noqa: E402

__all__ = ["GraphWidget"]
