"""One way to run a model on numpy inputs, whichever runtime executes it.

Latency, accuracy and export parity all call a model many times; a runner hides
whether that is an ONNX Runtime session or a PyTorch module on some device, and splits
``prepare`` (copying inputs to the device, done once) from the timed call.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Iterator
from typing import Any

from workbench.core.device import resolve_device
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel
from workbench.core.measure.conditions import ort_device
from workbench.core.measure.providers import create_session
from workbench.core.measure.torch_to_onnx import flatten_outputs, torch_to_onnx

_PROTOBUF_LIMIT = 2**31 - 1  # bytes: protobuf cannot serialise a larger message


class OrtRunner:
    """An InferenceSession called with numpy arrays."""

    runtime = "ort"

    def __init__(self, session: Any) -> None:

        self.session = session
        self.provider = session.get_providers()[0]
        # Where it runs, for the record ("cuda:1"): a provider name alone lacks the index.
        self.where = ort_device(self.provider, session.get_provider_options().get(self.provider))
        self.input_names = [i.name for i in session.get_inputs()]
        self.output_names = [o.name for o in session.get_outputs()]

    def prepare(self, feed: dict[str, Any]) -> dict[str, Any]:
        return {name: feed[name] for name in self.input_names}

    def __call__(self, prepared: dict[str, Any]) -> Any:
        return self.session.run(None, prepared)

    def outputs(self, feed: dict[str, Any]) -> list[Any]:
        return list(self(self.prepare(feed)))


class TorchRunner:
    """A torch module in eval mode under ``inference_mode``, on one device."""

    runtime = "torch"

    def __init__(self, module: Any, input_names: list[str], device: Any) -> None:
        import torch

        self.device = torch.device(device)
        current = next((p.device for p in module.parameters()), self.device)
        # Never move the variant's own module: a copy goes to another device.
        self.module = module if current == self.device else copy.deepcopy(module).to(self.device)
        self.input_names = input_names
        self.provider = str(self.device)
        self.where = str(self.device)
        self.output_names: list[str] = []
        self._sync = torch.cuda.synchronize if self.device.type == "cuda" else None

    def prepare(self, feed: dict[str, Any]) -> list[Any]:
        import numpy as np
        import torch

        arrays = [feed[name] for name in self.input_names]
        # torch.from_numpy shares memory and refuses read-only (cached dataset) arrays.
        arrays = [a if a.flags.writeable else np.array(a) for a in arrays]
        return [torch.from_numpy(a).to(self.device) for a in arrays]

    def __call__(self, prepared: list[Any]) -> Any:
        import torch

        with torch.inference_mode():
            result = self.module(*prepared)
        if self._sync is not None:
            self._sync(self.device)  # CUDA runs asynchronously: time the work, not the launch
        return result

    def outputs(self, feed: dict[str, Any]) -> list[Any]:
        """Outputs as numpy, for parity and accuracy (untimed: denormals flushed, see below)."""
        with flush_denormals():
            tensors = flatten_outputs(self(self.prepare(feed)))
        if not self.output_names:
            self.output_names = (
                ["output"] if len(tensors) == 1 else [f"output_{i}" for i in range(len(tensors))]
            )
        return [
            t.detach().float().cpu().numpy() if t.is_floating_point() else t.cpu().numpy()
            for t in tensors
        ]


_flushing = threading.local()


@contextlib.contextmanager
def flush_denormals() -> Iterator[None]:
    """Treat denormal floats as zero while computing outputs (never while timing).

    Real data through untrained or pruned weights produces denormal activations, which
    x86 CPUs handle ~50x slower (digits_cnn: 30 ms instead of 0.6 ms per forward).
    Flushing changes values by < 1e-37, far below any tolerance. The flag lives in each
    thread's MXCSR and OpenMP's threads copy it when they are created, so callers wrap a
    whole operation, from before its first torch op (export, evaluation). Re-entrant.
    """
    import torch

    depth = getattr(_flushing, "depth", 0)
    supported = torch.set_flush_denormal(True) if depth == 0 else True
    _flushing.depth = depth + 1
    try:
        yield
    finally:
        _flushing.depth = depth
        if depth == 0 and supported:
            torch.set_flush_denormal(False)  # torch's default; it offers no getter


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run with ``threads`` intra-op threads, restoring torch's setting afterwards."""
    import torch

    if not threads:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def onnx_for(loaded: LoadedModel, *, label: str, dynamic_batch: bool = True) -> Any:
    """The model as ONNX: its own proto, or an export of the PyTorch module."""
    if loaded.onnx_model is not None:
        return loaded.onnx_model
    return torch_to_onnx(loaded, label=label, dynamic_batch=dynamic_batch).model


def make_runner(
    loaded: LoadedModel,
    runtime: str,
    *,
    label: str,
    device: str = "cpu",
    threads: int | None = None,
    tensorrt: bool = False,
    spin: bool = True,
) -> OrtRunner | TorchRunner:
    """A runner for ``runtime`` ("ort" or "torch"); PyTorch models are exported for ORT.

    ``spin=False`` when PyTorch work alternates with ORT runs (see quiet_session_options).
    """
    if runtime == "torch":
        if loaded.module is None:
            raise WorkbenchError(
                f"{label} is an ONNX model; it runs on ONNX Runtime only (use --runtime ort)"
            )

        names = [spec.name for spec in loaded.inputs]
        return TorchRunner(loaded.module, names, resolve_device(device))
    if runtime != "ort":
        raise WorkbenchError(f"unknown runtime {runtime!r} (use ort or torch)")

    source: Any = onnx_for(loaded, label=label)
    if source.ByteSize() >= _PROTOBUF_LIMIT and loaded.path is not None:
        source = loaded.path  # too big to serialise; ORT reads the file (already checked)
    try:
        session = create_session(
            source, device=device, threads=threads, tensorrt=tensorrt, spin=spin
        )
    except WorkbenchError:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WorkbenchError(f"{label}: ONNX Runtime cannot run this model ({first})") from exc
    return OrtRunner(session)
