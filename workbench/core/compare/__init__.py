"""Comparing variants: the table, the Pareto front and budget pick, the per-layer and
graph differences, why a variant is (not) faster, and reports. Qt-free; the Compare tab
and `workbench compare` only render what is computed here.

Importing this package imports neither torch nor onnxruntime (nor Pillow: the charts
module is imported when a report is written).
"""

from __future__ import annotations

from workbench.core.compare.comparison import Budget, Comparison, compare
from workbench.core.compare.explain import Explanation, Reason, explain
from workbench.core.compare.graph_match import (
    CHANGED_OVERLAY,
    GraphDiff,
    NodeDiff,
    changed_overlay,
    diff_graphs,
)
from workbench.core.compare.pareto import Axes, Point, best_under_budget, pareto_front
from workbench.core.compare.table import (
    MISSING,
    Cell,
    ComparisonTable,
    Entry,
    MetricSpec,
    Row,
    build_table,
    cell_text,
)

__all__ = [
    "CHANGED_OVERLAY",
    "MISSING",
    "Axes",
    "Budget",
    "Cell",
    "Comparison",
    "ComparisonTable",
    "Entry",
    "Explanation",
    "GraphDiff",
    "MetricSpec",
    "NodeDiff",
    "Point",
    "Reason",
    "Row",
    "best_under_budget",
    "build_table",
    "cell_text",
    "changed_overlay",
    "compare",
    "diff_graphs",
    "explain",
    "pareto_front",
]
