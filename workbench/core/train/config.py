"""What a training run is told: one schema config (``workbench.core.config_schema``),
from which the CLI flags, the Training tab's form and the recipe step are generated, and
which the checkpoint records, so each setting is declared once with its limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from workbench.core.config_schema import config_from_dict, config_to_dict, validate_config
from workbench.core.errors import WorkbenchError

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "step", "cosine", "one-cycle")
AMP_MODES = ("off", "bf16", "fp16")
EARLY_METRICS = ("val_accuracy", "val_loss")
OFF = ("off-at-min",)  # the form shows 0 as "off"


class ConfigError(WorkbenchError):
    """A training setting out of range, named with the allowed values."""


def _setting(default: Any, label: str, help_text: str = "", **meta: Any) -> Any:
    """A field with its schema metadata (``workbench.core.config_schema``)."""
    return field(default=default, metadata={"label": label, "help": help_text, **meta})


@dataclass
class AugmentConfig:
    """Image augmentation, each part switched on by a non-zero value (images only)."""

    crop_padding: int = _setting(
        0, "Crop padding", "random crop after zero-padding this many pixels per side",
        min=0, form_max=64, display=OFF, suffix=" px", aliases=("--crop",), bare=4,
    )  # fmt: skip
    hflip: bool = _setting(False, "Horizontal flip", "flip half the images left to right")
    rotation: float = _setting(
        0.0, "Rotation ±", "uniform rotation within ±degrees",
        min=0, form_max=180, display=OFF, suffix="°", aliases=("--rotate",), decimals=1,
    )  # fmt: skip
    brightness: float = _setting(
        0.0,
        "Brightness ±",
        "add a uniform offset within ±brightness",
        min=0,
        form_max=1,
        display=OFF,
    )
    contrast: float = _setting(
        0.0,
        "Contrast ±",
        "scale around the image mean by 1 ± contrast",
        min=0,
        form_max=1,
        display=OFF,
    )

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


OPT, SCHED, REG, RUN = "Optimizer", "Schedule", "Regularisation", "Run"


@dataclass
class TrainConfig:
    """Every setting of a run. Defaults train the demo digits CNN well in seconds.

    A schema config: the CLI flags, the Training tab's form and a recipe's train step
    are generated from these fields, and validated by their declared limits.
    """

    optimizer: Literal["sgd", "adam", "adamw"] = _setting(
        "adamw",
        "Optimizer",
        "how the weights follow the gradients",
        group=OPT,
        labels={"sgd": "SGD", "adam": "Adam", "adamw": "AdamW"},
    )
    lr: float = _setting(
        2e-3, "Learning rate", "peak learning rate", group=OPT, above=0, form_max=10, decimals=6,
        metavar="X",
    )  # fmt: skip
    weight_decay: float = _setting(
        1e-4, "Weight decay", "decoupled for AdamW", group=OPT, min=0, form_max=1, decimals=6
    )
    momentum: float = _setting(
        0.9, "Momentum (SGD)", "SGD momentum", group=OPT, min=0, form_max=0.999, decimals=3
    )
    schedule: Literal["constant", "step", "cosine", "one-cycle"] = _setting(
        "cosine", "Schedule", "how the learning rate changes over the run", group=SCHED
    )
    warmup_epochs: float = _setting(
        0.0, "Warm-up epochs", "linear warm-up; one-cycle uses 30 % of the run when 0",
        group=SCHED, min=0, form_max=10_000, flag="--warmup", aliases=("--warmup-epochs",),
        metavar="EPOCHS",
    )  # fmt: skip
    step_epochs: int = _setting(
        0, "Step every", "'step' schedule: multiply the rate by the step factor every N "
        "epochs (0: a third of the run)", group=SCHED, min=0, form_max=10_000, suffix=" epochs",
    )  # fmt: skip
    step_gamma: float = _setting(
        0.1, "Step factor", "'step' schedule: the rate is multiplied by this at each step",
        group=SCHED, min=0, form_max=1,
    )  # fmt: skip
    epochs: int = _setting(
        10, "Epochs", "passes over the training data", group=SCHED, above=0, form_max=100_000
    )
    batch_size: int = _setting(
        64, "Batch size", "samples per step", group=SCHED, above=0, form_max=65_536, metavar="N"
    )
    grad_clip: float = _setting(
        0.0, "Gradient clip", "max global gradient norm (0: off)", group=REG, min=0, form_max=1000,
        display=OFF, metavar="NORM",
    )  # fmt: skip
    label_smoothing: float = _setting(
        0.0,
        "Label smoothing",
        "the share of each target spread over the other classes",
        group=REG,
        min=0,
        below=1,
        decimals=3,
    )
    early_stopping: int = _setting(
        0, "Early stop after", "stop after this many epochs without improvement (0: off)",
        group=REG, min=0, form_max=1000, display=OFF, suffix=" epochs", metavar="PATIENCE",
    )  # fmt: skip
    early_metric: Literal["val_accuracy", "val_loss"] = _setting(
        "val_accuracy", "Watching", "what early stopping watches", group=REG,
        labels={"val_accuracy": "validation accuracy", "val_loss": "validation loss"},
    )  # fmt: skip
    min_delta: float = _setting(
        0.0, "Least improvement", "a change smaller than this is no improvement", group=REG,
        min=0, form_max=1000, decimals=4,
    )  # fmt: skip
    augment: AugmentConfig = field(
        default_factory=AugmentConfig,
        metadata={
            "label": "Augmentation (images)",
            "group": "Augmentation",
            "help": "image augmentation, e.g. crop=2,hflip,rotate=10,brightness=0.2,"
            "contrast=0.2 (or 'none')",
            "metavar": "LIST",
        },
    )
    seed: int = _setting(0, "Seed", "the run's random seed (shuffling, augmentation)", group=RUN,
                         min=0, form_max=2**31 - 1)  # fmt: skip
    device: str = _setting(
        "auto", "Device", "auto, cpu, cuda:N or mps", group=RUN, metavar="DEVICE"
    )
    amp: Literal["off", "bf16", "fp16"] = _setting(
        "off", "Mixed precision", "mixed precision: CUDA only; ignored (with a note) elsewhere",
        group=RUN,
    )  # fmt: skip
    loader_workers: int = _setting(
        0, "Loader workers", "data loader workers (0: batches sliced from tensors in memory, "
        "fastest for small data)", group=RUN, min=0, form_max=64, flag="--workers",
    )  # fmt: skip
    eval_batch_size: int = _setting(
        512, "Evaluation batch", "samples per batch when measuring", group=RUN, above=0,
        form_max=65_536,
    )  # fmt: skip

    def __post_init__(self) -> None:
        """The one rule between fields (config_from_dict reports it as one line)."""
        numbers = (int, float)
        if (
            isinstance(self.warmup_epochs, numbers)
            and isinstance(self.epochs, numbers)
            and self.warmup_epochs >= self.epochs > 0
        ):
            raise ValueError(
                f"warm-up ({self.warmup_epochs:g} epochs) must be shorter than the run "
                f"({self.epochs} epochs)"
            )

    def validate(self) -> TrainConfig:
        """Return self, or raise ConfigError naming the first bad setting."""
        try:
            validate_config(self)
            self.__post_init__()
        except (WorkbenchError, ValueError) as exc:
            raise ConfigError(str(exc)) from None
        return self

    def to_dict(self) -> dict[str, Any]:
        return config_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """The inverse of ``to_dict``; unknown keys are refused, not ignored."""
        try:
            return config_from_dict(cls, data, where="training settings")
        except WorkbenchError as exc:
            raise ConfigError(exc.message) from None


def suggest_config(
    model: str | None = None, dataset: str | None = None, *, texts: bool = False
) -> TrainConfig:
    """Defaults for a variant, by its architecture and dataset names.

    The figures are the ones the benchmarks reach their targets with: digits in seconds,
    the shapes models in a few epochs, the transformer on sequences. ``texts``: a text
    model (a Hugging Face folder) on labelled texts, fine-tuned as transformers are.
    """
    model = (model or "").removeprefix("zoo:").partition(":")[0]
    if texts:
        # The usual transformer fine-tune (AdamW, small batches, warm-up, a few epochs):
        # the lr suits a pretrained model; a small one trained from scratch wants ~2e-3.
        return TrainConfig(
            optimizer="adamw", lr=5e-5, weight_decay=0.01, epochs=3, batch_size=16,
            warmup_epochs=0.1,
        )  # fmt: skip
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
    if dataset == "stdlib-text" or model == "tiny_lm":
        # A decoder LM: AdamW with decay, a short warm-up into a cosine, clipped
        # gradients; early stopping (when asked) watches the loss (perplexity).
        # 6 epochs of all of stdlib-text: about 5 minutes on 2 cores (the benchmark).
        return TrainConfig(
            optimizer="adamw", lr=3e-3, weight_decay=0.1, schedule="cosine", epochs=6,
            batch_size=32, warmup_epochs=0.1, grad_clip=1.0, early_metric="val_loss",
            eval_batch_size=64,
        )  # fmt: skip
    if dataset == "digits" or model in ("digits_cnn", "digits_mlp"):
        return TrainConfig(optimizer="adamw", lr=3e-3, epochs=15, batch_size=64)
    return TrainConfig()
