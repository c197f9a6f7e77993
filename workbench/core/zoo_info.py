"""Figures for `workbench zoo`: each built-in architecture built and counted."""

from __future__ import annotations

from typing import Any

from workbench.core.catalogue import get_registry
from workbench.core.graph import from_torch


def describe_zoo(seed: int = 0) -> list[dict[str, Any]]:
    """One row per registered architecture: name, dataset, input, parameters, MACs."""

    rows = []
    for entry in get_registry().models.values():
        module = entry.build(seed=seed)
        graph = from_torch(module, list(entry.inputs), name=entry.name)
        rows.append(
            {
                "name": entry.name,
                "description": entry.description,
                "dataset": entry.dataset,
                "task": entry.task,
                "num_classes": entry.num_classes,
                "input": ", ".join(spec.describe() for spec in entry.inputs),
                "parameters": sum(p.numel() for p in module.parameters()),
                "macs": graph.macs,
                "source": entry.source,
            }
        )
    return rows
