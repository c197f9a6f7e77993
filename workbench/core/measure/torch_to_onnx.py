"""PyTorch module -> in-memory ONNX ModelProto: the one converter measure and export share.

The benchmarks and the ORT quantization passes run a PyTorch variant on ONNX Runtime
through it; ``workbench export`` writes what it makes (after simplification and a
parity check). It lives in the measure package, which never imports the exporter (the
exporter measures: parity runs the model on ONNX Runtime), so neither package's
``__init__`` can meet the other half-imported.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel
from workbench.core.measure.inputs import Shapes, concrete_shapes, feed_for
from workbench.core.measure.providers import max_ir_version
from workbench.core.torch_tracing import TRACING

DEFAULT_OPSET = 17
DYNAMO_MIN_OPSET = 18


@dataclass
class Converted:
    model: Any  # onnx.ModelProto
    exporter: str
    nodes_before: int
    notes: list[str] = field(default_factory=list)


@contextlib.contextmanager
def native_stdout_silenced() -> Iterator[None]:
    """File descriptor 1 to /dev/null for a block: torch's TorchScript exporter prints
    the whole IR graph from C++ (``_jit_onnx_log``) when an op cannot be exported, which
    ``redirect_stdout`` cannot catch. The message that matters comes back as the error."""
    import os
    import sys

    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # no real stdout (GUI, captured)
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, fd)
        os.close(saved)


def torch_to_onnx(
    loaded: LoadedModel,
    *,
    label: str,
    opset: int | None = None,
    dynamic_batch: bool = False,
    exporter: str = "auto",
    shapes: Shapes | None = None,
    sample_shape: tuple[int, ...] | None = None,
) -> Converted:
    """torch.onnx export of a PyTorch variant into an in-memory ModelProto.

    With the TorchScript-based exporter ("auto"), a model it cannot export (GPT-2's
    ``aten::diff`` in older transformers) is exported by dynamo instead, with a note.
    """
    import torch

    if loaded.module is None:
        raise WorkbenchError(f"{label} is not a PyTorch model")
    if exporter not in ("auto", "torchscript", "dynamo"):
        raise WorkbenchError(f"unknown exporter {exporter!r} (use torchscript or dynamo)")
    use_dynamo = exporter == "dynamo" or (
        exporter == "auto" and not hasattr(torch.onnx, "TrainingMode")  # TorchScript exporter gone
    )
    # A model that declares its dynamic axes (a Hugging Face folder's batch and
    # sequence) keeps them; others get a dynamic batch when asked.
    axes = dict(loaded.dynamic_axes) or None
    # torch.export treats a size-1 dimension as fixed: trace a dynamic batch at 2.
    batch_free = dynamic_batch or any(
        0 in loaded.dynamic_axes.get(s.name, {}) for s in loaded.inputs
    )
    wanted = concrete_shapes(
        loaded,
        label=label,
        batch=2 if batch_free else None,
        shapes=shapes,
        sample_shape=sample_shape,
    )
    feed = feed_for(wanted)
    names = list(wanted)
    args = tuple(torch.from_numpy(feed[name]) for name in names)
    # One tracer at a time, and no other thread's export between eval() and train().
    with TRACING:
        module = loaded.module
        was_training = getattr(module, "training", False)
        module.eval()
        notes: list[str] = []
        try:
            with torch.inference_mode():
                count = len(flatten_outputs(module(*args)))
            outputs = ["output"] if count == 1 else [f"output_{i}" for i in range(count)]
            if loaded.output_names and len(loaded.output_names) == count:
                outputs = list(loaded.output_names)
            if axes is None and dynamic_batch:
                axes = {name: {0: "batch"} for name in [*names, *outputs]}
            export = _Export(module, args, names, outputs, axes)
            if use_dynamo:
                model = export.dynamo(opset or DYNAMO_MIN_OPSET)
            else:
                try:
                    model = export.torchscript(opset or DEFAULT_OPSET)
                except Exception as exc:
                    if exporter == "torchscript":
                        raise WorkbenchError(
                            f"{label} cannot be exported to ONNX by the TorchScript-based "
                            f"exporter: {_first_line(exc)} (the dynamo exporter may handle it: "
                            "--exporter dynamo)"
                        ) from exc
                    notes.append(
                        "the TorchScript-based exporter failed "
                        f"({_first_line(exc)}); exported with dynamo instead"
                    )
                    use_dynamo = True
                    try:
                        model = export.dynamo(max(opset or 0, DYNAMO_MIN_OPSET))
                    except Exception as second:
                        # The first exporter's reason names the op; dynamo's first line
                        # is a generic "Failed to convert the exported program".
                        raise WorkbenchError(
                            f"{label} cannot be exported to ONNX: {_first_line(exc)} (the "
                            f"dynamo exporter failed too: {_first_line(second)})"
                        ) from second
        except WorkbenchError:
            raise
        except Exception as exc:
            raise WorkbenchError(f"{label} cannot be exported to ONNX: {_first_line(exc)}") from exc
        finally:
            module.train(was_training)
    kind = "torch.onnx dynamo" if use_dynamo else "torch.onnx TorchScript-based (dynamo=False)"
    return Converted(model, kind, len(model.graph.node), notes)


@dataclass
class _Export:
    """One module and its example inputs, exported by either of torch.onnx's exporters."""

    module: Any
    args: tuple[Any, ...]
    names: list[str]
    outputs: list[str]
    axes: dict[str, dict[int, str]] | None  # by input/output name: {axis: dim name}

    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        # dynamo's op registry warns, per run, that torchvision's ops are not installed
        registry = logging.getLogger("torch.onnx._internal.exporter._registration")
        level = registry.level
        registry.setLevel(logging.ERROR)
        try:
            with self._silenced():
                yield
        finally:
            registry.setLevel(level)

    @contextlib.contextmanager
    def _silenced(self) -> Iterator[None]:
        with (
            warnings.catch_warnings(),
            native_stdout_silenced(),  # first: it needs the real sys.stdout's descriptor
            contextlib.redirect_stdout(io.StringIO()),
        ):
            warnings.simplefilter("ignore")  # deprecation and tracer notices, not for users
            yield

    def torchscript(self, opset: int) -> Any:
        import onnx
        import torch

        buffer = io.BytesIO()
        with self._quiet():
            torch.onnx.export(
                self.module,
                self.args,
                buffer,
                dynamo=False,
                opset_version=opset,
                input_names=self.names,
                output_names=self.outputs,
                dynamic_axes=self.axes,
            )
        return onnx.load_from_string(buffer.getvalue())

    def dynamo(self, opset: int) -> Any:
        import torch

        dynamic = None
        if self.axes:  # one Dim per axis name, shared by every input that has it
            dims = {n: torch.export.Dim(n) for a in self.axes.values() for n in a.values()}
            dynamic = tuple(
                {axis: dims[dim] for axis, dim in self.axes.get(name, {}).items()} or None
                for name in self.names
            )
        with self._quiet():
            program = torch.onnx.export(
                self.module,
                self.args,
                dynamo=True,
                opset_version=opset,
                input_names=self.names,
                output_names=self.outputs,
                verbose=False,
                dynamic_shapes=dynamic,
            )
        return program.model_proto


def _first_line(exc: BaseException) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()  # torch.onnx colours its errors
    return text.splitlines()[0] if text else type(exc).__name__


def flatten_outputs(result: Any) -> list[Any]:
    """A module's return value as a flat list of tensors (tuple, list, dict or one tensor)."""
    import torch

    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, dict):
        result = list(result.values())
    if isinstance(result, (tuple, list)):
        return [t for item in result for t in flatten_outputs(item)]
    if hasattr(result, "to_tuple"):  # transformers' ModelOutput
        return flatten_outputs(result.to_tuple())
    raise WorkbenchError(f"the model returns a {type(result).__name__}, not tensors")


def fit_ir_version(model: Any, notes: list[str]) -> None:
    """Lower the IR version to the newest this onnxruntime reads, when it is newer."""
    limit = max_ir_version()
    if model.ir_version > limit:
        notes.append(f"IR version lowered from {model.ir_version} to {limit} for onnxruntime")
        model.ir_version = limit
