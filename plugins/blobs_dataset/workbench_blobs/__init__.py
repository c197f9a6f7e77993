"""Workbench plugin: 2-D Gaussian blobs, and an MLP sized for them.

A dataset small enough to see: points in the plane around a few centres. It trains in
a second, which makes it handy for trying a pass or a plugin end to end.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

CLASSES = 4


def register(registry: Any) -> None:
    from workbench.core.io.loaded import InputSpec
    from workbench.core.registry import DatasetEntry, ModelEntry

    registry.add_dataset(
        DatasetEntry(
            name="blobs",
            loader="workbench_blobs.data:load_blobs",
            description="2-D Gaussian blobs around 4 centres, generated (plugin example)",
            task="classification",
            input_shape=(2,),
            num_classes=CLASSES,
        )
    )
    registry.add_model(
        ModelEntry(
            name="blobs_mlp",
            factory="workbench_blobs.model:BlobsMLP",
            description="two-layer perceptron for the 2-D blobs (plugin example)",
            dataset="blobs",
            inputs=(InputSpec("input", (1, 2)),),
            num_classes=CLASSES,
        )
    )
