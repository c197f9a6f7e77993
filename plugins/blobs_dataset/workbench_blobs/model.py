"""A small perceptron for points in the plane."""

from __future__ import annotations

from torch import nn  # noqa: TID253 - imported only when a model is built


class BlobsMLP(nn.Sequential):
    def __init__(self, hidden: int = 32, num_classes: int = 4) -> None:
        super().__init__(
            nn.Linear(2, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )
