"""What a training run is told: one dataclass, read by the CLI flags, the tab's form and
the checkpoint, so each setting is declared once and recorded with the run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from workbench.core.errors import WorkbenchError

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "step", "cosine", "one-cycle")
AMP_MODES = ("off", "bf16", "fp16")
EARLY_METRICS = ("val_accuracy", "val_loss")


class ConfigError(WorkbenchError):
    """A training setting out of range, named with the allowed values."""


@dataclass
class AugmentConfig:
    """Image augmentation, each part switched on by a non-zero value (images only)."""

    crop_padding: int = 0  # random crop after zero-padding this many pixels per side
    hflip: bool = False  # horizontal flip with probability 1/2
    rotation: float = 0.0  # uniform rotation within ±degrees
    brightness: float = 0.0  # add a uniform offset within ±brightness
    contrast: float = 0.0  # scale around the image mean by 1 ± contrast

    @property
    def enabled(self) -> bool:
        return bool(
            self.crop_padding or self.hflip or self.rotation or self.brightness or self.contrast
        )

    def describe(self) -> str:
        parts = []
        if self.crop_padding:
            parts.append(f"crop±{self.crop_padding}px")
        if self.hflip:
            parts.append("h-flip")
        if self.rotation:
            parts.append(f"rotate±{self.rotation:g}°")
        if self.brightness:
            parts.append(f"brightness±{self.brightness:g}")
        if self.contrast:
            parts.append(f"contrast±{self.contrast:g}")
        return ", ".join(parts) or "none"


@dataclass
class TrainConfig:
    """Every setting of a run. Defaults train the demo digits CNN well in seconds."""

    optimizer: str = "adamw"
    lr: float = 2e-3
    weight_decay: float = 1e-4
    momentum: float = 0.9  # SGD only
    schedule: str = "cosine"
    warmup_epochs: float = 0.0  # linear warm-up; one-cycle uses 30 % of the run when 0
    step_epochs: int = 0  # "step" schedule: multiply by step_gamma every N epochs (0: a third)
    step_gamma: float = 0.1
    epochs: int = 10
    batch_size: int = 64
    seed: int = 0
    device: str = "auto"
    amp: str = "off"  # CUDA only: bf16 autocast, or fp16 autocast with a gradient scaler
    grad_clip: float = 0.0  # max global gradient norm; 0 = off
    label_smoothing: float = 0.0
    early_stopping: int = 0  # patience in epochs without improvement; 0 = off
    early_metric: str = "val_accuracy"
    min_delta: float = 0.0
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    loader_workers: int = 0  # 0: batches sliced from tensors in memory (fastest for small data)
    eval_batch_size: int = 512

    def validate(self) -> TrainConfig:
        """Return self, or raise ConfigError naming the first bad setting."""
        for name, allowed in (
            ("optimizer", OPTIMIZERS),
            ("schedule", SCHEDULES),
            ("amp", AMP_MODES),
            ("early_metric", EARLY_METRICS),
        ):
            if getattr(self, name) not in allowed:
                raise ConfigError(
                    f"{name} {getattr(self, name)!r} is not one of {', '.join(allowed)}"
                )
        positive = {"lr": self.lr, "epochs": self.epochs, "batch_size": self.batch_size}
        positive["eval_batch_size"] = self.eval_batch_size
        for name, value in positive.items():
            if not value > 0:
                raise ConfigError(f"{name} must be positive, not {value}")
        non_negative = {
            "weight_decay": self.weight_decay,
            "momentum": self.momentum,
            "warmup_epochs": self.warmup_epochs,
            "step_epochs": self.step_epochs,
            "grad_clip": self.grad_clip,
            "early_stopping": self.early_stopping,
            "min_delta": self.min_delta,
            "loader_workers": self.loader_workers,
            "crop_padding": self.augment.crop_padding,
            "rotation": self.augment.rotation,
            "brightness": self.augment.brightness,
            "contrast": self.augment.contrast,
        }
        for name, value in non_negative.items():
            if value < 0:
                raise ConfigError(f"{name} must not be negative, not {value}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ConfigError(f"label_smoothing must be in [0, 1), not {self.label_smoothing}")
        if self.warmup_epochs >= self.epochs:
            raise ConfigError(
                f"warm-up ({self.warmup_epochs:g} epochs) must be shorter than the run "
                f"({self.epochs} epochs)"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """The inverse of ``to_dict``; unknown keys are refused, not ignored."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown training settings: {', '.join(unknown)}")
        values = dict(data)
        augment = values.pop("augment", None) or {}
        if isinstance(augment, dict):
            aug_known = {f.name for f in fields(AugmentConfig)}
            bad = sorted(set(augment) - aug_known)
            if bad:
                raise ConfigError(f"unknown augmentation settings: {', '.join(bad)}")
            augment = AugmentConfig(**augment)
        return cls(augment=augment, **values)


def suggest_config(model: str | None = None, dataset: str | None = None) -> TrainConfig:
    """Defaults for a variant, by its architecture and dataset names.

    The figures are the ones the benchmarks reach their targets with: digits in seconds,
    the shapes models in a few epochs, the transformer on sequences.
    """
    model = (model or "").removeprefix("zoo:").partition(":")[0]
    if dataset == "shapes" or model in ("resnet_shapes", "mobilenet_shapes"):
        return TrainConfig(
            optimizer="adamw",
            lr=3e-3,
            weight_decay=5e-4,
            schedule="one-cycle",
            epochs=6,
            batch_size=128,
            augment=AugmentConfig(crop_padding=2, hflip=True),
        )
    if dataset == "sequences" or model == "transformer_seq":
        return TrainConfig(
            optimizer="adamw", lr=1e-3, weight_decay=1e-2, epochs=20, batch_size=128,
            warmup_epochs=1,
        )  # fmt: skip
    if dataset == "digits" or model in ("digits_cnn", "digits_mlp"):
        return TrainConfig(optimizer="adamw", lr=3e-3, epochs=15, batch_size=64)
    return TrainConfig()
