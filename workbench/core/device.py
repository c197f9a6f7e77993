"""Compute-device choice, one place for every step that runs a model.

The device is always a parameter (``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``,
``"mps"``); ``auto`` takes the first CUDA device, then Apple's MPS, then the CPU.
"""

from __future__ import annotations

from typing import Any

from workbench.core.errors import WorkbenchError


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
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = device.index or 0
        if index >= count:
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
