"""Figures a pass took of its input, handed to the input's own variant.

Pruning and quantization time the model they start from beside their result, on one
runtime (ONNX Runtime), in ``measure_before_after``. That "before" is a measurement of
the parent variant like any benchmark of it, with its conditions; without it the parent
keeps only what it was benchmarked with (often PyTorch), and Compare could not set an
INT8 model against its float parent on one runtime although the run had done exactly
that. The child's record keeps those figures under ``PARENT_FIGURES``; when the child
joins a project, ``inherit_parent_figures`` files them on the parent, beside (never
over) the parent's own.
"""

from __future__ import annotations

from typing import Any

from workbench.core.measure.metrics import PARENT_FIGURES, Metrics, store_metrics

__all__ = ["PARENT_FIGURES", "inherit_parent_figures", "parent_figures"]


def parent_figures(before: Metrics | None) -> dict[str, Any]:
    """What a child's metrics record of its parent: the timed and scored figures (the
    facts are the measured copy's, an ONNX export of a PyTorch parent, so they stay)."""
    if before is None or not (before.latency or before.accuracy):
        return {}
    kept = Metrics(environment=before.environment, latency=before.latency,
                   accuracy=before.accuracy)  # fmt: skip
    return {PARENT_FIGURES: kept.to_json()}


def inherit_parent_figures(parent: Any, child_metrics: dict[str, Any] | None) -> bool:
    """File on ``parent`` (a Variant) the figures its child's pass took of it, for each
    condition (latency) and runtime (accuracy) the parent has none of; True when any."""
    recorded = (child_metrics or {}).get(PARENT_FIGURES)
    if not isinstance(recorded, dict):
        return False
    theirs = Metrics.from_json(recorded)
    own = Metrics.from_json(parent.metrics)
    new = Metrics(
        latency={k: v for k, v in theirs.latency.items() if k not in own.latency},
        accuracy={k: v for k, v in theirs.accuracy.items() if k not in own.accuracy},
    )
    if not new.latency and not new.accuracy:
        return False
    store_metrics(parent, new)
    return True
