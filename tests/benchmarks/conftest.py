"""The benchmarks' shared trained model: one ResNet on shapes, trained once per session.

Training dominates the benchmarks' cost on two cores, and the distillation and static
INT8 benchmarks each trained ``zoo:resnet_shapes`` on shapes for ~45 s before measuring
anything. The distillation's teacher (its figures are tuned to exactly this training)
now serves both; each test gets its own copy, so none sees another's changes.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

import pytest

TEACHER_TRAIN, TEACHER_VAL = 4000, 1000  # a subset keeps the training within ~45 s
TEACHER_EPOCHS = 8


@dataclass(frozen=True)
class ShapesTeacher:
    model: Any  # LoadedModel: zoo:resnet_shapes, trained
    data: Any  # the shapes subset it was trained on
    epochs: int
    seconds: float  # the training's wall time, for benchmarks that report their total

    def copy(self) -> Any:
        """The trained model, a copy of its own for one test."""
        return copy.deepcopy(self.model)


@pytest.fixture(scope="session")
def shapes_teacher() -> ShapesTeacher:
    """The trained ResNet on shapes (``.copy()`` for a model of a test's own)."""
    from workbench.core.data.shapes import load_shapes
    from workbench.core.io import load
    from workbench.core.measure.runners import torch_threads
    from workbench.core.train import TrainConfig, Trainer

    data = load_shapes(train_size=TEACHER_TRAIN, val_size=TEACHER_VAL)
    model = load("zoo:resnet_shapes")
    config = TrainConfig(
        optimizer="adamw",
        lr=3e-3,
        weight_decay=5e-4,
        schedule="one-cycle",
        epochs=TEACHER_EPOCHS,
        batch_size=128,
        device="cpu",
    )
    started = time.perf_counter()
    # One thread: on a shared 2-core machine two torch threads fighting other processes
    # ran 4x slower than one, and the weights then do not depend on the thread count.
    with torch_threads(1):
        model.module = Trainer(model.module, data, config).fit().model
    return ShapesTeacher(model, data, TEACHER_EPOCHS, time.perf_counter() - started)
