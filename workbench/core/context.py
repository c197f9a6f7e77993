"""What every long operation is given: where to report progress, how to notice a cancel.

Long work (training, calibration, benchmarks, export, layout) takes a ``RunContext``; it
calls ``ctx.report(fraction, message)`` as it goes and ``ctx.check()`` between steps,
which raises ``Cancelled`` once the user asked to stop. The UI's workers make these
into Qt signals and a Cancel button; the CLI into a progress line and Ctrl+C.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.core.train.control import TrainControl

Progress = Callable[[float | None, str], None]  # fraction 0..1 (None: unknown), message


class Cancelled(Exception):
    """The user asked to stop; not an error, and nothing half-made is kept."""


class CancelToken:
    """Set from any thread (the GUI's Cancel button), polled by the worker."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled")


def _no_progress(fraction: float | None, message: str) -> None:
    """The default sink: report nowhere."""


@dataclass
class RunContext:
    """Device, progress sink, cancel token and seed for one operation."""

    device: str = "auto"
    progress: Progress = _no_progress
    cancel: CancelToken = field(default_factory=CancelToken)
    seed: int = 0
    # Whether code named in this run's settings (a ``module:factory`` student) may be
    # imported: True when the user typed the settings, or trusted the file they came
    # from (``--trust``); a recipe replayed without --trust leaves it False.
    trust: bool = False
    # What a caller hands a pass besides its config (each pass reads those it uses):
    # the data to tune, calibrate or rank on: a dataset name or path (recipes, flags),
    # or an ArrayDataset already loaded; a pass may replace a name by the loaded set.
    data: Any = None
    # How text data named in ``data`` is read (a data.text.TextOptions: the text column,
    # the token length, the label column); None: the defaults.
    text: Any = None
    # Training events of a pass's fine-tuning (pruning's live loss), each ``f(event)``.
    train_listeners: list[Callable[[Any], None]] = field(default_factory=list)
    # Distillation's live events, ``f(phase, event)``, and its Pause/Resume control.
    listener: Callable[[str, Any], None] | None = None
    control: TrainControl | None = None
    # Where a long training keeps its epoch checkpoints, and whether to resume from them.
    run_dir: Path | None = None
    resume: bool = False

    def report(self, fraction: float | None, message: str = "") -> None:
        self.progress(fraction, message)

    def check(self) -> None:
        """Raise ``Cancelled`` if the user asked to stop."""
        self.cancel.check()
