"""Which variants are worth keeping: the latency-versus-accuracy Pareto front, and the
best variant under a latency or size budget.

Hand-written: a 2-D front over a handful of variants is a sort and one pass, and no
installed library offers it without pulling in an optimisation framework.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from workbench.core.compare.table import HIGHER, LOWER, ComparisonTable


@dataclass(frozen=True)
class Point:
    index: int  # into the table's entries
    name: str
    x: float
    y: float


@dataclass(frozen=True)
class Axes:
    x: str  # metric key (a cost: lower is better, e.g. latency p50)
    y: str  # metric key (a score, e.g. top-1)

    def name(self, y_better: str = HIGHER) -> str:
        """What the scatter plots, in words: "Latency vs accuracy", "Tokens/s vs
        perplexity" (a language model's)."""
        speed = "Tokens/s" if self.x.endswith(".tokens_per_s") else "Latency"
        return f"{speed} vs {'perplexity' if y_better == LOWER else 'accuracy'}"


def points(table: ComparisonTable, x_key: str, y_key: str) -> list[Point]:
    """Variants that have both figures (the others cannot be placed)."""
    result = []
    for i, name in enumerate(table.names):
        x, y = table.value(x_key, i), table.value(y_key, i)
        if x is not None and y is not None:
            result.append(Point(i, name, x, y))
    return result


def pareto_front(pts: list[Point], x_better: str = LOWER, y_better: str = HIGHER) -> list[Point]:
    """The points no other point beats on both axes (ties on both kept), sorted by x."""
    sx = 1.0 if x_better == LOWER else -1.0
    sy = 1.0 if y_better == HIGHER else -1.0

    def dominated(p: Point) -> bool:
        return any(
            sx * q.x <= sx * p.x and sy * q.y >= sy * p.y and (q.x, q.y) != (p.x, p.y) for q in pts
        )

    return sorted((p for p in pts if not dominated(p)), key=lambda p: sx * p.x)


def best_under_budget(
    table: ComparisonTable, budget_key: str, limit: float, objective_key: str
) -> int | None:
    """Index of the variant with the best ``objective`` whose ``budget`` figure is at most
    ``limit`` (latency in ms, size in bytes); None when none fits or nothing is measured."""
    budget_row, objective_row = table.row(budget_key), table.row(objective_key)
    if budget_row is None or objective_row is None:
        return None
    higher = objective_row.spec.better != LOWER
    fits = [
        (objective, i)
        for i, (cost, objective) in enumerate(
            zip(budget_row.values(), objective_row.values(), strict=True)
        )
        if cost is not None and objective is not None and cost <= limit
    ]
    if not fits:
        return None
    # best objective; among equals the cheaper one
    return max(fits, key=lambda f: (f[0] if higher else -f[0], -budget_row.values()[f[1]]))[1]


def default_axes(table: ComparisonTable) -> Axes | None:
    """The latency p50 most variants have (batch 1 first) and the accuracy figure most
    variants have (a language model's perplexity, lower better, before its next-token
    accuracy; measured figures before training's). Language models measured for
    generation are placed by decode tokens/s (higher better) instead of latency, as
    people who ship them read speed."""
    latency = latency_rows(table)
    scores = [
        r
        for r in table.rows
        if r.spec.group in ("accuracy", "training")
        and (r.spec.kind == "percent" or r.spec.key.endswith("perplexity"))
        and "agreement" not in r.spec.key
    ]
    if not latency or not scores:
        return None

    def coverage(row) -> int:
        return sum(v is not None for v in row.values())

    y = max(
        scores,
        key=lambda r: (
            coverage(r),
            r.spec.key.endswith("perplexity"),
            r.spec.group == "accuracy",
        ),
    )
    decode = [r for r in table.rows if r.spec.key.endswith(".tokens_per_s")]
    if y.spec.key.endswith("perplexity") and decode:
        best = max(decode, key=lambda r: (coverage(r), ".b1." in r.spec.key))
        if coverage(best) >= max(2, max(map(coverage, latency))):
            latency = [best]
    x = max(latency, key=lambda r: (coverage(r), ".b1." in r.spec.key))
    return Axes(x.spec.key, y.spec.key)


def latency_rows(table: ComparisonTable) -> list:
    """The latency p50 rows; with no latency, a language model's decode tokens/s."""
    rows = [r for r in table.rows if r.spec.key.endswith(".p50_ms")]
    return rows or [r for r in table.rows if r.spec.key.endswith(".tokens_per_s")]


def latency_key(table: ComparisonTable) -> str | None:
    """The latency row a latency budget reads: the p50 most variants have, batch 1 first."""
    rows = [r for r in table.rows if r.spec.key.endswith(".p50_ms")]
    if not rows:
        return None
    best = max(rows, key=lambda r: (sum(v is not None for v in r.values()), ".b1." in r.spec.key))
    return best.spec.key


def size_key(table: ComparisonTable) -> str | None:
    """The size figure budgets use: file size where measured, else weight bytes."""
    counts = Counter()
    for key in ("facts.file_size", "facts.weights_bytes"):
        row = table.row(key)
        if row is not None:
            counts[key] = sum(v is not None for v in row.values())
    return max(counts, key=lambda k: (counts[k], k == "facts.file_size")) if counts else None
