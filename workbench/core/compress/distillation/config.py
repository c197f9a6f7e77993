"""What a distillation run is told, declared once: the wizard pages, the CLI flags and the
recipe step are all read from ``DistillConfig`` (see ``workbench.core.config_schema``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

STUDENT_HELP = (
    "zoo:NAME[:width=0.5,depth=0.5] (a smaller architecture), pruned:RATIO (a copy of "
    "the teacher with that fraction of its channels removed), module:factory, or an "
    "existing PyTorch variant: its folder or model file (e.g. a pruned copy, kept as it is)"
)

# Which fields each wizard page shows (the run reads them all from one config).
STUDENT_FIELDS = ("student", "init", "round_to", "drop_blocks")
LOSS_FIELDS = ("alpha", "temperature", "alpha_end", "hint_layers", "hint_weight", "cache_teacher")
BUDGET_FIELDS = (
    "data",
    "train_samples",
    "epochs",
    "batch_size",
    "lr",
    "augment",
    "seed",
    "baseline",
    "measure",
)


@dataclass
class DistillConfig:
    """A teacher (the input model) teaching a smaller student on labelled data."""

    student: str = field(
        default="pruned:0.5", metadata={"help": STUDENT_HELP, "label": "Student", "arch": True}
    )
    round_to: int = field(
        default=1,
        metadata={
            "help": "a pruned:RATIO student keeps each layer's channel count a multiple of "
            "this (8 suits CPU vector units and tensor cores: 9/19/38 channels can run "
            "slower than 16/24/40); 1: any count; other students ignore it",
            "min": 1,
            "max": 64,
            "label": "Channels a multiple of",
        },
    )
    drop_blocks: int = field(
        default=0,
        metadata={
            "help": "a pruned:RATIO student also leaves out this many of the teacher's "
            "blocks that keep their input's shape (a ResNet stage's later blocks), those "
            "whose absence costs least on validation data; fewer layers run faster at "
            "batch 1 than thinner ones; other students ignore it",
            "min": 0,
            "max": 64,
            "label": "Blocks to drop",
        },
    )
    init: Literal["teacher", "scratch"] = field(
        default="teacher",
        metadata={
            "help": "teacher: start from the teacher's weights wherever a layer has the same "
            "name and shape (a pruned copy keeps its remaining weights); scratch: fresh "
            "seeded weights",
            "label": "Start from",
        },
    )
    alpha: float = field(
        default=0.5,
        metadata={
            "help": "weight of the ordinary loss on the true labels; the rest (1 - alpha) "
            "goes to copying the teacher's softened answers",
            "min": 0.0,
            "max": 1.0,
            "label": "Alpha (labels vs teacher)",
        },
    )
    temperature: float = field(
        default=4.0,
        metadata={
            "help": "how much both models' answers are softened before they are compared: "
            "higher shows the student more of the teacher's second choices",
            "min": 0.5,
            "max": 20.0,
            "label": "Temperature",
        },
    )
    alpha_end: float | None = field(
        default=None,
        metadata={
            "help": "alpha at the end of training, reached linearly (none: alpha throughout); "
            "e.g. 0.9 leans on the teacher early and on the labels late",
            "min": 0.0,
            "max": 1.0,
            "label": "Alpha at the end",
        },
    )
    hint_layers: list[str] = field(
        default_factory=list,
        metadata={
            "help": "feature hints: student_layer=teacher_layer pairs (module names, e.g. "
            "stages.2=stages.2); the student's output there learns, through a learned "
            "projection, to match the teacher's",
            "label": "Hint layer pairs",
        },
    )
    hint_weight: float = field(
        default=1.0,
        metadata={"help": "weight of the feature hint loss", "min": 0.0, "label": "Hint weight"},
    )
    cache_teacher: Literal["auto", "on", "off"] = field(
        default="auto",
        metadata={
            "help": "run the teacher once over the training set and reuse its answers: "
            "faster, and only correct when every epoch sees the same images (no "
            "augmentation, no hints); auto caches when it is correct",
            "label": "Cache teacher answers",
        },
    )
    data: str | None = field(
        default=None,
        metadata={"help": "dataset name or path (none: the teacher's own)", "label": "Data"},
    )
    train_samples: int | None = field(
        default=None,
        metadata={
            "help": "train on a seeded random subset of this many samples (none: all)",
            "min": 2,
            "label": "Training samples",
        },
    )
    epochs: int = field(default=5, metadata={"help": "training epochs", "min": 1, "max": 1000})
    batch_size: int = field(default=64, metadata={"min": 2, "max": 65536, "label": "Batch size"})
    lr: float = field(
        default=3e-3,
        metadata={"help": "peak learning rate (AdamW, one-cycle)", "min": 1e-6, "max": 10.0,
                  "label": "Learning rate"},
    )  # fmt: skip
    augment: bool = field(
        default=False,
        metadata={"help": "random crops and flips (images only; turns off the teacher cache)"},
    )
    seed: int = field(default=0, metadata={"help": "seed for weights and batch order", "min": 0})
    baseline: bool = field(
        default=False,
        metadata={
            "help": "also train the same student without the teacher (same epochs and seed), "
            "to show what the teacher added; doubles the time",
            "label": "Train a baseline",
        },
    )
    measure: bool = field(
        default=True,
        metadata={"help": "measure student and teacher latency at batch 1 afterwards"},
    )

    def __post_init__(self) -> None:
        if self.cache_teacher == "on" and self.augment:
            raise ValueError(
                "cache_teacher on needs augmentation off: cached teacher answers are for "
                "the original images, not the augmented ones"
            )
        if self.cache_teacher == "on" and self.hint_layers:
            raise ValueError(
                "cache_teacher on cannot be used with hint layers: the teacher must run "
                "every step for its features"
            )
        for pair in self.hint_layers:
            student, eq, teacher = pair.partition("=")
            if not eq or not student.strip() or not teacher.strip():
                raise ValueError(
                    f"hint layer {pair!r} is not of the form student_layer=teacher_layer"
                )

    @property
    def hint_pairs(self) -> list[tuple[str, str]]:
        return [tuple(p.strip() for p in pair.split("=", 1)) for pair in self.hint_layers]  # type: ignore[misc]

    def alpha_at(self, fraction: float) -> float:
        """Alpha ``fraction`` (0..1) of the way through training."""
        if self.alpha_end is None:
            return self.alpha
        return self.alpha + (self.alpha_end - self.alpha) * min(max(fraction, 0.0), 1.0)
