"""Compute-device choice, one place for every step that runs a model.

The device is always a parameter (``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``,
``"mps"``); ``auto`` takes the first CUDA device, then Apple's MPS, then the CPU.
``torch_devices`` and ``onnxruntime_devices`` list what a chooser offers (each GPU
with its name and memory) and say why CUDA is absent when it is.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workbench.core.errors import WorkbenchError
from workbench.core.units import human_bytes


@dataclass(frozen=True)
class DeviceChoice:
    name: str  # what a config takes: "cuda:0"
    label: str  # what the user reads: "cuda:0 — NVIDIA H200, 139.7 GiB"


@dataclass(frozen=True)
class DeviceList:
    """What a device chooser offers, and why no CUDA device is among them (or None)."""

    choices: tuple[DeviceChoice, ...]
    cuda_missing: str | None = None

    @property
    def names(self) -> list[str]:
        return [choice.name for choice in self.choices]


def resolve_device(requested: str = "auto") -> Any:
    """Return a ``torch.device`` for ``requested``, refusing one this machine lacks."""
    import torch

    name = (requested or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", 0)
        if _mps_available(torch):
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise WorkbenchError(
            f"{requested!r} is not a device (use auto, cpu, cuda:N or mps)"
        ) from None
    if device.type == "cuda":
        missing = cuda_missing(torch)
        if missing:
            raise WorkbenchError(f"device {requested!r} is not available here ({missing})")
        count = torch.cuda.device_count()
        if (device.index or 0) >= count:
            raise WorkbenchError(
                f"device {requested!r} is not available here ({count} CUDA device(s) found)"
            )
    elif device.type == "mps" and not _mps_available(torch):
        raise WorkbenchError("device 'mps' is not available here")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise WorkbenchError(f"device {requested!r} is not supported")
    return device


def describe_device(requested: str = "auto") -> str:
    """A label for the status bar: "CPU (2 threads)" or the CUDA device's name."""
    import torch

    device = resolve_device(requested)
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"


def _mps_available(torch: Any) -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def cuda_missing(torch: Any) -> str | None:
    """Why PyTorch has no CUDA device here, in the user's words; None when it has one."""
    if torch.version.cuda is None:
        return f"PyTorch {torch.__version__} is built without CUDA"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # "Found no NVIDIA driver on your system ..."
        available = torch.cuda.is_available() and torch.cuda.device_count() > 0
    if available:
        return None
    said = next((str(w.message).split(". ")[0] for w in caught if "CUDA" in str(w.message)), "")
    return said.removeprefix("CUDA initialization: ") or "no NVIDIA GPU or driver found"


def gpu_choices(gpus: Sequence[tuple[str, int]]) -> list[DeviceChoice]:
    """``cuda:N — NAME, MEMORY`` for each (name, total memory in bytes), in index order."""
    return [
        DeviceChoice(f"cuda:{index}", f"cuda:{index} — {name}, {human_bytes(total)}")
        for index, (name, total) in enumerate(gpus)
    ]


def torch_devices() -> DeviceList:
    """The devices PyTorch can train and run on here: auto, cpu, each GPU, mps."""
    import torch

    missing = cuda_missing(torch)
    gpus = [] if missing else _gpus(torch)
    auto = resolve_device("auto")
    choices = [DeviceChoice("auto", f"auto ({auto.type} here)"), DeviceChoice("cpu", "cpu")]
    choices += gpu_choices(gpus)
    if _mps_available(torch):
        choices.append(DeviceChoice("mps", "mps — Apple GPU"))
    return DeviceList(tuple(choices), missing)


def onnxruntime_devices() -> DeviceList:
    """Where ONNX Runtime can measure here: the CPU, and the GPUs when its CUDA provider
    loads (named as PyTorch sees them); else why it does not."""
    # Here, not at the top: the measure package's __init__ reaches this module.
    from workbench.core.measure.providers import CUDA, why_not

    choices = [DeviceChoice("cpu", "cpu")]
    missing = why_not(CUDA)
    if missing is None:
        import torch

        gpus = [] if cuda_missing(torch) else _gpus(torch)
        choices += gpu_choices(gpus) or [DeviceChoice("cuda:0", "cuda:0")]
    return DeviceList(tuple(choices), missing)


def _gpus(torch: Any) -> list[tuple[str, int]]:
    properties = (torch.cuda.get_device_properties(i) for i in range(torch.cuda.device_count()))
    return [(p.name, int(p.total_memory)) for p in properties]
