"""The Compare tab and the side-by-side graph diff."""

from __future__ import annotations

from workbench.ui.compare.compare_tab import CompareTab
from workbench.ui.compare.graph_diff import GraphDiffView

__all__ = ["CompareTab", "GraphDiffView"]
