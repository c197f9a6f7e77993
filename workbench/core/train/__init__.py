"""Training: a Qt-free loop that tells listeners what happens (see ``events``).

Importing this package does not import torch.
"""

from __future__ import annotations

from workbench.core.train.config import AugmentConfig, TrainConfig, suggest_config
from workbench.core.train.control import TrainControl, TrainResult
from workbench.core.train.events import TrainingError, out_of_memory_message
from workbench.core.train.history import TrainHistory
from workbench.core.train.trainer import Trainer

__all__ = [
    "AugmentConfig",
    "TrainConfig",
    "TrainControl",
    "TrainHistory",
    "TrainResult",
    "Trainer",
    "TrainingError",
    "out_of_memory_message",
    "suggest_config",
]
