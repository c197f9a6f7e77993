"""A speed ratio and how far it can be trusted: the before/after ratio of each
interleaved round, their median, and a flag when they disagree.

Both models are timed in every round, one right after the other, so load from other
processes on a shared machine usually slows both alike and cancels in the round's
ratio. When it does not (a burst hit one side only), that round's ratio stands out:
the median of the rounds is what we report, and the spread (max/min - 1) says how much
the rounds disagreed. Above ``UNSTEADY_SPREAD`` the figure is flagged "unsteady" with
the range, so a 40x that one slow round produced is not read as a speed-up.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

# Rounds whose ratios differ by more than this (max/min - 1) are flagged. On the shared
# 2-core machine the rounds of a steady pair (digits_cnn vs its 50% channel prune, ORT
# CPU, 1 thread, 0.1-0.2 s a round) spread 2-10%; the same pair on the default threads
# at batch 32 spread 50-170%, and a neighbour's burst on one side gives 2x and more.
# 25% sits well above the steady case: a flagged figure needs a second look.
UNSTEADY_SPREAD = 0.25


@dataclass
class SpeedRatio:
    """before / after latency, one ratio per interleaved round (above 1: faster)."""

    rounds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.rounds)

    @property
    def low(self) -> float:
        return min(self.rounds)

    @property
    def high(self) -> float:
        return max(self.rounds)

    @property
    def spread(self) -> float | None:
        """max/min - 1 over the rounds; None with one round (nothing to compare)."""
        return self.high / self.low - 1 if len(self.rounds) > 1 else None

    @property
    def unsteady(self) -> bool:
        return self.spread is not None and self.spread > UNSTEADY_SPREAD

    def describe(self) -> str:
        """ "2.10x faster (1.95x-2.20x over 5 rounds)", then the flag when unsteady."""
        from workbench.core.units import speed_change

        text = speed_change(self.median)
        if len(self.rounds) > 1:
            text += f" (median of {len(self.rounds)} rounds, {self.low:.2f}x-{self.high:.2f}x)"
        flag = self.flag()
        return f"{text}; {flag}" if flag else text

    def flag(self) -> str | None:
        """The warning a wide spread earns, or None."""
        if not self.unsteady:
            return None
        return (
            f"unsteady: the ratio ranged {self.low:.2f}x-{self.high:.2f}x over "
            f"{len(self.rounds)} rounds; measure again"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "median": self.median,
            "low": self.low,
            "high": self.high,
            "spread": self.spread,
            "rounds": list(self.rounds),
            "unsteady": self.unsteady,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SpeedRatio:
        return cls([float(r) for r in data.get("rounds", [])])


def speed_ratios(
    before: dict[int, list[float]], after: dict[int, list[float]]
) -> dict[int, SpeedRatio]:
    """Per batch, the ratio of each round's before and after p50 (rounds paired in order)."""
    out: dict[int, SpeedRatio] = {}
    for batch, times in before.items():
        pairs = [(b, a) for b, a in zip(times, after.get(batch, []), strict=False) if a > 0]
        if pairs:
            out[batch] = SpeedRatio([b / a for b, a in pairs])
    return out
