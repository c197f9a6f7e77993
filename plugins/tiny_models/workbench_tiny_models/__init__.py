"""Workbench plugin: tiny CNNs for the built-in datasets, usable as ``zoo:tiny_digits_cnn``.

Model factories take keyword arguments from the zoo reference, e.g.
``zoo:tiny_shapes_cnn:channels=4``. The factories' module (and torch) is imported only
when a model is built.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def register(registry: Any) -> None:
    from workbench.core.io.loaded import InputSpec
    from workbench.core.registry import ModelEntry

    registry.add_model(
        ModelEntry(
            name="tiny_digits_cnn",
            factory="workbench_tiny_models.models:tiny_digits_cnn",
            description="two-convolution CNN for 8x8 digits, a few hundred weights (plugin)",
            dataset="digits",
            inputs=(InputSpec("input", (1, 1, 8, 8)),),
        )
    )
    registry.add_model(
        ModelEntry(
            name="tiny_shapes_cnn",
            factory="workbench_tiny_models.models:tiny_shapes_cnn",
            description="three-convolution CNN for 32x32 RGB shapes (plugin)",
            dataset="shapes",
            inputs=(InputSpec("input", (1, 3, 32, 32)),),
        )
    )
