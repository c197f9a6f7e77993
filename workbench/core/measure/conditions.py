"""The conditions a latency was measured under, and which figures compare.

A latency means something only beside another taken the same way: the same runtime
(ort, torch), execution provider (CPUExecutionProvider, CUDAExecutionProvider; for
torch the device), device (cpu, cuda:0), intra-op threads and batch size. A 0.5 ms on a
GPU and a 2 ms on a CPU say nothing about two models, so figures are matched on all
five and never across them.

Records written before the device was stored get it from the provider where that is
unambiguous (ONNX Runtime's CPU provider runs on the CPU; a torch provider is its
device); elsewhere it is unknown, and an unknown device matches no known one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol


class _Reported(Protocol):
    """What ``Conditions.of`` reads of a ``metrics.LatencyReport`` (which builds on this
    module, so it is named by shape here, not imported)."""

    runtime: str
    provider: str
    threads: int | None


CPU_PROVIDER = "CPUExecutionProvider"
CUDA_PROVIDER = "CUDAExecutionProvider"
TENSORRT_PROVIDER = "TensorrtExecutionProvider"
GPU_PROVIDERS = (CUDA_PROVIDER, TENSORRT_PROVIDER)
RUNTIME_NAMES = {"ort": "ORT", "torch": "PyTorch eager"}


@dataclass(frozen=True)
class Conditions:
    """Runtime, provider, device and threads of one latency report (batch is per point)."""

    runtime: str
    provider: str | None  # None: not recorded
    device: str | None  # "cpu", "cuda:0", "mps"; None: not recorded
    threads: int | None  # intra-op threads asked for; None: the runtime's default

    @classmethod
    def of(cls, report: _Reported) -> Conditions:
        provider = report.provider or None
        device = getattr(report, "device", None) or infer_device(report.runtime, provider)
        return cls(report.runtime, provider, device, report.threads or None)

    @property
    def on_gpu(self) -> bool:
        return self.provider in GPU_PROVIDERS or (self.device or "").startswith("cuda")

    @property
    def key(self) -> str:
        """How ``Metrics.latency`` files the report: "ort" or "torch" on the CPU (what
        every older file holds), "ort@cuda:0", "torch@cuda:0",
        "ort@cuda:0[TensorrtExecutionProvider]". A CPU and a GPU figure of one variant
        stay side by side; a new thread count replaces the old one (the report says
        which it was)."""
        key = self.runtime
        if self.device != "cpu":
            key += f"@{self.device or '?'}"
        if self.provider != default_provider(self.runtime, self.device):
            key += f"[{self.provider or '?'}]"
        return key

    @property
    def row_key(self) -> str:
        """``key`` with the thread count: figures in one table row share all of these."""
        return self.key + (f"/{self.threads}t" if self.threads else "")

    def label(self, batch: int | None = None) -> str:
        """Short, for table rows: "ort/CPU b1", "torch/cuda:0 b256", "ort/CUDA cuda:0 4t b1"
        (ONNX Runtime's provider without its "ExecutionProvider" suffix: the row labels
        are the table's widest column)."""
        provider = (self.provider or "?").removesuffix("ExecutionProvider")
        text = f"{self.runtime}/{provider}"
        if self.device != "cpu" and self.device != self.provider:
            text += f" {self.device or 'device ?'}"
        if self.threads:
            text += f" {self.threads}t"
        return text + (f" b{batch}" if batch is not None else "")

    def short(self) -> str:
        """Beside a printed figure: "ORT CPU, 1 thread", "PyTorch eager CPU, default
        threads", "ORT CUDA cuda:0, 4 threads"."""
        runtime = RUNTIME_NAMES.get(self.runtime, self.runtime)
        provider = (self.provider or "?").removesuffix("ExecutionProvider")
        where = provider.upper() if self.runtime == "torch" else provider
        if self.runtime == "ort" and self.device not in (None, "cpu"):
            where += f" {self.device}"
        threads = (
            f"{self.threads} thread{'s' if self.threads > 1 else ''}"
            if self.threads
            else "default threads"
        )
        return f"{runtime} {where}, {threads}"

    def describe(self, batches: Iterable[int] = ()) -> str:
        """For sentences: "ort on CUDAExecutionProvider (cuda:0), default threads, batch 1, 256"."""
        where = f"{self.runtime} on {self.provider or 'an unrecorded provider'}"
        if self.device != self.provider:
            where += f" ({self.device or 'device not recorded'})"
        if self.threads:
            where += f", {self.threads} thread{'s' if self.threads > 1 else ''}"
        else:
            where += ", default threads"
        shown = sorted(set(batches))
        if shown:
            where += f", batch {', '.join(map(str, shown))}"
        return where


def infer_device(runtime: str, provider: str | None) -> str | None:
    """The device an older record's provider implies, or None when it does not say."""
    if provider is None:
        return None
    if runtime == "torch":
        return provider  # TorchRunner's provider is str(torch.device)
    if provider == CPU_PROVIDER:
        return "cpu"
    return None  # a CUDA provider on which GPU: not recorded


def default_provider(runtime: str, device: str | None) -> str | None:
    """The provider a runtime uses on ``device`` unless told otherwise."""
    if runtime == "torch":
        return device
    if device == "cpu":
        return CPU_PROVIDER
    if device is not None and device.startswith("cuda"):
        return CUDA_PROVIDER
    return None


def ort_device(provider: str, options: dict[str, Any] | None) -> str:
    """The device an ONNX Runtime session runs on, from its first provider's options."""
    if provider in GPU_PROVIDERS:
        return f"cuda:{int((options or {}).get('device_id', 0) or 0)}"
    return "cpu"


class FiledByConditions:
    """A timing report's conditions and the key ``Metrics`` files it under; latency and
    generation reports share them, so the same run's figures sit under one key."""

    @property
    def conditions(self: _Reported) -> Conditions:
        """Runtime, provider, device and threads: what a figure compares only within."""
        return Conditions.of(self)

    @property
    def key(self) -> str:
        """The key ``Metrics.latency`` files this report under (see ``Conditions.key``)."""
        return self.conditions.key


def preference(conditions: Conditions) -> tuple[int, int, str]:
    """Order for picking one figure to lead with: ONNX Runtime before torch, default
    threads before pinned ones; the rest alphabetical, so the choice is stable."""
    return (conditions.runtime != "ort", conditions.threads is not None, conditions.key)
