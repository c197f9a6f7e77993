"""Measuring variants the same way every time: latency, memory, size, accuracy, profile.

Importing this package is cheap; torch and onnxruntime are imported when a measurement
runs. The entry points:

- ``benchmark(model, MeasureOptions(runtime=, batches=, ...)) -> Metrics`` (latency +
  facts + environment), ``measure_latency(...) -> LatencyReport``
- ``evaluate(model, data=, runtime=, parent=) -> AccuracyReport``
- ``profile_model(...) -> ProfileTable`` and ``attribute_to_graph`` for the overlay
- ``store_metrics(variant, metrics)`` keeps results on ``Variant.metrics``
- ``before_after.measure_before_after`` times a pass's input and output interleaved;
  ``SpeedRatio`` is their ratio per round with its spread and "unsteady" flag
- ``search_threads()``: the thread count a measured search times on (1 on few cores)
"""

from __future__ import annotations

from workbench.core.measure.accuracy import evaluate
from workbench.core.measure.latency import benchmark, measure_latency, model_facts
from workbench.core.measure.metrics import (
    AccuracyReport,
    Agreement,
    LatencyReport,
    LatencyStats,
    Metrics,
    ModelFacts,
    ProfileTable,
    figure_rows,
    store_metrics,
    summary_rows,
)
from workbench.core.measure.options import MeasureOptions
from workbench.core.measure.profile import attribute_to_graph, profile_model
from workbench.core.measure.spread import SpeedRatio
from workbench.core.measure.threads import search_threads

__all__ = [
    "AccuracyReport",
    "Agreement",
    "LatencyReport",
    "LatencyStats",
    "MeasureOptions",
    "Metrics",
    "ModelFacts",
    "ProfileTable",
    "SpeedRatio",
    "attribute_to_graph",
    "benchmark",
    "evaluate",
    "figure_rows",
    "measure_latency",
    "model_facts",
    "profile_model",
    "search_threads",
    "store_metrics",
    "summary_rows",
]
