"""Runs of a variant on disk (``runs_dir/run-*``) and the finished run the tab hands over."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.io.variant_folder import is_variant_folder
from workbench.core.train.control import TrainResult


@dataclass
class TrainingRun:
    """A finished (or early-stopped) run, for the window to add as a new variant."""

    key: str  # the variant that was trained
    result: TrainResult  # .model (CPU), .history, .metrics, .config, .status
    run_dir: Path
    kind: str  # "trained" (fresh zoo weights) or "fine-tuned"
    dataset: str
    arch: str | None
    source: str
    paths: dict[str, Path] = field(default_factory=dict)  # model.pt, variant.json, history…
    text: dict[str, Any] | None = None  # how texts were read (TextOptions.to_dict()), if set
    spec: str | None = None  # the data as the user named it (a name or path): the child's


def read_runs(runs_dir: Path) -> list[dict[str, Any]]:
    """Earlier runs in ``runs_dir``, oldest first: folder, history, finished, resumable."""
    runs = []
    for folder in sorted(p for p in Path(runs_dir).glob("run-*") if p.is_dir()):
        entry: dict[str, Any] = {
            "dir": folder,
            "finished": is_variant_folder(folder),
            "resumable": (folder / "checkpoint.pt").is_file() and not is_variant_folder(folder),
            "history": None,
        }
        with contextlib.suppress(OSError, ValueError):
            entry["history"] = json.loads((folder / "history.json").read_text(encoding="utf-8"))
        runs.append(entry)
    return runs
