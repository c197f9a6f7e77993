"""One comparison of variants, computed once for the Compare tab, the CLI and reports:
the table, the latency-versus-accuracy front, a budget pick and the explanations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.core.compare.explain import Explanation, explain_all
from workbench.core.compare.graph_match import GraphDiff
from workbench.core.compare.pareto import (
    Axes,
    Point,
    best_under_budget,
    default_axes,
    latency_key,
    pareto_front,
    points,
    size_key,
)
from workbench.core.compare.table import HIGHER, LOWER, ComparisonTable, Entry, build_table
from workbench.core.units import human_bytes


@dataclass(frozen=True)
class Budget:
    kind: str  # "latency" (ms, on the x axis's figure) or "size" (bytes)
    limit: float

    def describe(self) -> str:

        if self.kind == "size":
            return f"size ≤ {human_bytes(int(self.limit))}"
        return f"latency ≤ {self.limit:g} ms"


@dataclass
class Comparison:
    table: ComparisonTable
    axes: Axes | None
    points: list[Point]
    front: list[Point]
    explanations: list[Explanation]
    budget: Budget | None = None
    pick: int | None = None  # entry index chosen under the budget
    diffs: dict[str, GraphDiff] = field(default_factory=dict)  # child entry id -> vs parent

    @property
    def entries(self) -> list[Entry]:
        return self.table.entries

    def pick_text(self) -> str:
        if self.budget is None:
            return ""
        if self.pick is None:
            return f"no variant measured within {self.budget.describe()}"
        return f"best under {self.budget.describe()}: {self.table.names[self.pick]}"


def compare(
    entries: Sequence[Entry],
    baseline: int | str = 0,
    *,
    axes: Axes | None = None,
    budget: Budget | None = None,
    op_types: Mapping[str, Any] | None = None,
    diffs: Mapping[str, GraphDiff] | None = None,
) -> Comparison:
    """Compare ``entries`` against ``baseline``; ``op_types`` (entry id -> the op types of
    its graph) lets the explanations count Q/DQ nodes when no profile was taken."""
    table = build_table(entries, baseline)
    axes = axes or default_axes(table)
    pts = points(table, axes.x, axes.y) if axes else []
    y_row = table.row(axes.y) if axes else None
    y_better = y_row.spec.better if y_row is not None and y_row.spec.better else HIGHER
    x_row = table.row(axes.x) if axes else None
    x_better = x_row.spec.better if x_row is not None and x_row.spec.better else LOWER
    # perplexity: lower is better; decode tokens/s: higher
    front = pareto_front(pts, x_better=x_better, y_better=y_better) if pts else []
    pick = None
    if budget is not None and axes is not None:
        key = latency_key(table) if budget.kind == "latency" else size_key(table)
        pick = best_under_budget(table, key, budget.limit, axes.y) if key else None
    return Comparison(
        table=table,
        axes=axes,
        points=pts,
        front=front,
        explanations=explain_all(table.entries, table.baseline, dict(op_types or {})),
        budget=budget,
        pick=pick,
        diffs=dict(diffs or {}),
    )
