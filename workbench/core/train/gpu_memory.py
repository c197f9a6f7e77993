"""GPU memory during a training run, sampled beside it rather than inside its step loop.

``MemorySampler`` is a Trainer listener: it runs on the thread that trains (the GUI's
worker), reads PyTorch's allocator counters at most every ``interval_s`` and hands a
``DeviceMemory`` event to the same stream as the trainer's own events. On the CPU (or
MPS) it stays silent, so a view that shows these events shows nothing GPU-related there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workbench.core.units import human_bytes

SAMPLE_INTERVAL_S = 0.5  # a readable rate for a label; the counters cost microseconds


@dataclass(frozen=True, slots=True)
class DeviceMemory:
    """What PyTorch's allocator holds on one GPU: now, the most since the run started,
    and the device's whole memory (bytes)."""

    device: str
    allocated: int
    peak: int
    total: int

    def describe(self) -> str:
        return (
            f"GPU memory {human_bytes(self.allocated)} in use · peak "
            f"{human_bytes(self.peak)} of {human_bytes(self.total)}"
        )


def device_memory(device: str) -> DeviceMemory | None:
    """The allocator's figures for a CUDA ``device`` ("cuda", "cuda:N"); None for any
    other device, or while CUDA is not in use in this process."""
    name = (device or "").strip().lower()
    if not name.startswith("cuda"):
        return None
    import torch

    if not (torch.cuda.is_available() and torch.cuda.is_initialized()):
        return None
    index = _index(torch, name)
    return DeviceMemory(
        device=f"cuda:{index}",
        allocated=int(torch.cuda.memory_allocated(index)),
        peak=int(torch.cuda.max_memory_allocated(index)),
        total=int(torch.cuda.get_device_properties(index).total_memory),
    )


def reset_peak(device: str) -> None:
    """Start the peak afresh for a new run (CUDA only; nothing elsewhere)."""
    name = (device or "").strip().lower()
    if not name.startswith("cuda"):
        return
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.reset_peak_memory_stats(_index(torch, name))


class MemorySampler:
    """Listen to a Trainer and ``emit`` a ``DeviceMemory`` after ``Progress`` events,
    at most every ``interval_s`` (and once more when the run ends); silent on the CPU.

    ``sample`` reads one device's figures (``device_memory``; ``reset`` starts its peak
    afresh when a run starts).
    """

    def __init__(
        self,
        emit: Callable[[Any], None],
        interval_s: float = SAMPLE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        sample: Callable[[str], DeviceMemory | None] = device_memory,
        reset: Callable[[str], None] = reset_peak,
    ) -> None:
        self.emit = emit
        self.interval_s = interval_s
        self.clock = clock
        self.sample = sample
        self.reset = reset
        self.device: str | None = None
        self.last = float("-inf")

    def __call__(self, event: Any) -> None:
        kind = type(event).__name__
        if kind == "Started":
            device = str(event.device)
            self.device = device if device.startswith("cuda") else None
            self.last = float("-inf")
            if self.device:
                self.reset(self.device)
            return
        if self.device is None:
            return
        ending = kind in ("Finished", "Failed", "Cancelled")
        if kind != "Progress" and not ending:
            return
        now = self.clock()
        if ending or now - self.last >= self.interval_s:
            self.last = now
            sample = self.sample(self.device)
            if sample is not None:
                self.emit(sample)


def _index(torch: Any, name: str) -> int:
    _, _, number = name.partition(":")
    return int(number) if number else torch.cuda.current_device()
