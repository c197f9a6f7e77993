"""What a caller holds while a run goes on (``TrainControl``) and gets at its end
(``TrainResult``)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.train.config import TrainConfig
from workbench.core.train.history import TrainHistory


@dataclass
class TrainResult:
    """A trained model (CPU, eval mode) with what the run recorded."""

    model: Any
    history: TrainHistory
    metrics: dict[str, Any]
    status: str  # finished | early-stopped | cancelled
    config: TrainConfig
    checkpoint: Path | None
    notes: tuple[str, ...] = ()


class TrainControl:
    """Pause, resume and stop a run from any thread; the loop looks between steps."""

    def __init__(self) -> None:
        self.running = threading.Event()
        self.running.set()
        self.stopping = threading.Event()

    def pause(self) -> None:
        self.running.clear()

    def resume(self) -> None:
        self.running.set()

    def stop(self) -> None:
        self.stopping.set()
        self.running.set()

    @property
    def paused(self) -> bool:
        return not self.running.is_set()
