"""The Pareto front of the finished candidates (cost versus top-1) and the chosen point.

The front itself is ``core.compare.pareto.pareto_front``, the one the Compare tab draws.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.core.compare.pareto import Point, pareto_front

ORIGINAL = "original"


def cost(record: dict[str, Any], objective: str) -> float | None:
    """What the objective minimises: p50 at the first batch (ms), or the file size."""
    if objective == "size":
        return record.get("size_bytes")
    latency = record.get("latency_ms") or {}
    return next(iter(latency.values()), None)


def front_keys(records: Sequence[dict[str, Any]], objective: str) -> list[str]:
    """Keys of the records no other beats on both cost and top-1, cheapest first."""
    points = [
        Point(i, r["key"], c, r["top1"])
        for i, r in enumerate(records)
        if (c := cost(r, objective)) is not None and r.get("top1") is not None
    ]
    return [p.name for p in pareto_front(points)]


def choose(
    records: Sequence[dict[str, Any]], objective: str, floor: float
) -> dict[str, Any] | None:
    """The cheapest candidate (not the original) whose top-1 is at least ``floor``;
    among equal costs the more accurate."""
    fits = [
        r for r in records
        if r["key"] != ORIGINAL and r.get("top1") is not None and r["top1"] >= floor
        and cost(r, objective) is not None
    ]  # fmt: skip
    return min(fits, key=lambda r: (cost(r, objective), -r["top1"]), default=None)
