"""A run's record: the loss and learning rate of every step, the figures of every epoch.

Kept in checkpoints (plain lists, so ``torch.load(weights_only=True)`` reads them) and
written beside the trained variant as JSON and CSV.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.project import atomic_write_text
from workbench.core.train.events import Epoch, Step

EPOCH_FIELDS = (
    "epoch",
    "step",
    "train_loss",
    "train_accuracy",
    "val_loss",
    "val_accuracy",
    "lr",
    "seconds",
)
LM_FIELDS = ("train_perplexity", "val_perplexity")  # columns only a language model's run has


@dataclass
class TrainHistory:
    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
    epochs: list[dict[str, Any]] = field(default_factory=list)

    def add_step(self, event: Step) -> None:
        self.steps.append(event.step)
        self.losses.append(event.loss)
        self.lrs.append(event.lr)

    def add_epoch(self, event: Epoch) -> None:
        record = asdict(event)
        record.pop("improved", None)
        self.epochs.append(record)

    def best(self, metric: str = "val_accuracy") -> dict[str, Any] | None:
        """The epoch record with the best ``metric`` (highest accuracy, lowest loss)."""
        rows = [r for r in self.epochs if r.get(metric) is not None]
        if not rows:
            return None
        sign = -1.0 if metric.endswith("loss") else 1.0
        return max(rows, key=lambda r: sign * r[metric])

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": list(self.steps),
            "losses": list(self.losses),
            "lrs": list(self.lrs),
            "epochs": [dict(r) for r in self.epochs],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainHistory:
        return cls(
            steps=[int(s) for s in data.get("steps", [])],
            losses=[float(v) for v in data.get("losses", [])],
            lrs=[float(v) for v in data.get("lrs", [])],
            epochs=[dict(r) for r in data.get("epochs", [])],
        )

    def epochs_csv(self) -> str:
        out = io.StringIO()
        lm = any(r.get("val_perplexity") is not None for r in self.epochs)
        fields = EPOCH_FIELDS + LM_FIELDS if lm else EPOCH_FIELDS
        writer = csv.DictWriter(out, fields, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.epochs)
        return out.getvalue()

    def steps_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("step", "loss", "lr"))
        writer.writerows(zip(self.steps, self.losses, self.lrs, strict=True))
        return out.getvalue()

    def write(self, folder: Path) -> dict[str, Path]:
        """``history.json``, ``history.csv`` (per epoch) and ``steps.csv``, atomically."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {
            "history_json": folder / "history.json",
            "history_csv": folder / "history.csv",
            "steps_csv": folder / "steps.csv",
        }
        atomic_write_text(paths["history_json"], json.dumps(self.to_dict()))
        atomic_write_text(paths["history_csv"], self.epochs_csv())
        atomic_write_text(paths["steps_csv"], self.steps_csv())
        return paths

    @classmethod
    def read(cls, path: Path) -> TrainHistory:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
