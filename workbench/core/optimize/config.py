"""The settings of a search, declared once: the CLI flags are generated from them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from workbench.core.compress.pruning.config import MAX_AMOUNT

RECOVERIES = ("finetune", "distill")
QUANTIZATIONS = ("auto", "none", "int8", "fp16")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_budget(text: str) -> float:
    """``"15m"`` -> 900.0, ``"40s"`` / ``"40"`` -> 40.0, ``"1h"`` -> 3600.0."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(text))
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"budget {text!r} is not a time such as 90s, 15m or 1h")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


@dataclass
class OptimizeConfig:
    """What to optimize for, within which accuracy drop, on which device, for how long."""

    objective: Literal["latency", "size"] = field(
        default="latency",
        metadata={"help": "latency: lowest ONNX Runtime latency at the first batch size; "
                  "size: smallest model file"},
    )  # fmt: skip
    max_drop: float = field(
        default=1.0,
        metadata={"help": "accuracy floor: at most this many top-1 points below the original",
                  "min": 0.0, "max": 100.0},
    )  # fmt: skip
    device: str = field(default="cpu", metadata={"help": "target device: cpu or cuda[:N]"})
    batch: list[int] = field(
        default_factory=lambda: [1, 32],
        metadata={"help": "batch sizes every candidate is timed at (the first one ranks)"},
    )
    budget: str = field(
        default="15m",
        metadata={"help": "wall-clock budget (90s, 15m, 1h): no candidate starts after it"},
    )
    threads: int | None = field(
        default=None,
        metadata={"help": "intra-op threads for timing (none: 1 on machines with 4 cores "
                  "or fewer, where more threads measure the neighbours; else the runtime's)",
                  "min": 1, "max": 256},
    )  # fmt: skip
    ratios: list[float] = field(
        default_factory=lambda: [0.5, 0.75, 0.875, 0.9375],
        metadata={"help": "channel-pruning ratios to try (fraction of channels removed)"},
    )
    round_to: int = field(
        default=0,
        metadata={"help": "channel counts a multiple of this (0: 8 on a CPU, 16 on a GPU)",
                  "min": 0, "max": 64},
    )  # fmt: skip
    drop_blocks: list[int] = field(
        default_factory=lambda: [0, 1],
        metadata={"help": "blocks a distilled candidate also leaves out, each value its own "
                  "candidate (0: none): blocks that keep their input's shape, the least "
                  "harmful first; at batch 1 fewer layers beat thinner ones"},
    )  # fmt: skip
    recovery: list[str] = field(
        default_factory=lambda: ["distill", "finetune"],
        metadata={"help": "how a pruned model recovers: distill (from the original, into "
                  "the pruned copy) and/or finetune (on the labels)", "choices": RECOVERIES},
    )  # fmt: skip
    quantization: list[str] = field(
        default_factory=lambda: ["auto"],
        metadata={"help": "quantizations tried on each candidate: int8 (static, ONNX "
                  "Runtime, auto-excluding the worst nodes), fp16 (GPUs), none; auto: "
                  "none and int8 on a CPU, none and fp16 on a GPU", "choices": QUANTIZATIONS},
    )  # fmt: skip
    epochs: int = field(
        default=3, metadata={"help": "epochs of full recovery training", "min": 1, "max": 1000}
    )
    proxy_epochs: int = field(
        default=1,
        metadata={"help": "epochs of the short fine-tune that screens each ratio first "
                  "(0: screen by the pruned accuracy alone)", "min": 0, "max": 100},
    )  # fmt: skip
    proxy_margin: float = field(
        default=15.0,
        metadata={"help": "a ratio whose screened accuracy is more than the allowed drop plus this "
                  "many points below the original is not trained further", "min": 0.0,
                  "max": 100.0},
    )  # fmt: skip
    sensitivity: bool = field(
        default=True,
        metadata={"help": "scan each layer's sensitivity once and prune sensitive layers "
                  "less (fine-tuned candidates)"},
    )  # fmt: skip
    auto_exclude: int = field(
        default=1,
        metadata={"help": "INT8: keep this many of the worst nodes in float", "min": 0,
                  "max": 20},
    )  # fmt: skip
    seconds: float = field(
        default=0.3,
        metadata={"help": "least time each model is timed per batch size and round",
                  "min": 0.01, "max": 60.0},
    )  # fmt: skip
    rounds: int = field(
        default=2,
        metadata={"help": "interleaved timing rounds (original, candidate, original, ...)",
                  "min": 1, "max": 20},
    )  # fmt: skip
    seed: int = field(default=0, metadata={"help": "seed of every pass (the recipe's)", "min": 0})

    def __post_init__(self) -> None:
        parse_budget(self.budget)
        if not self.batch or any(b < 1 for b in self.batch):
            raise ValueError("batch sizes must be whole numbers of at least 1")
        if not self.drop_blocks or any(not 0 <= d <= 64 for d in self.drop_blocks):
            raise ValueError("blocks to drop must be whole numbers from 0 to 64 (0: none)")
        if any(not 0.0 < r <= MAX_AMOUNT for r in self.ratios):
            raise ValueError(f"ratios must be fractions above 0 and at most {MAX_AMOUNT:g}, as "
                             "channel pruning takes (0.5 = half the channels)")  # fmt: skip

    @property
    def budget_s(self) -> float:
        return parse_budget(self.budget)

    @property
    def gpu(self) -> bool:
        return self.device.startswith("cuda")

    def quantizations(self) -> list[str]:
        """The methods tried, ``auto`` resolved for the device; "none" first."""
        chosen: list[str] = []
        for item in self.quantization:
            expanded = (
                (["none", "fp16"] if self.gpu else ["none", "int8"]) if item == "auto" else [item]
            )
            chosen += [q for q in expanded if q not in chosen]
        return sorted(chosen, key=lambda q: q != "none")

    def channel_multiple(self) -> int:
        return self.round_to or (16 if self.gpu else 8)
