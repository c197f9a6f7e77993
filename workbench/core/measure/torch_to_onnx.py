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
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel
from workbench.core.measure.inputs import Shapes, concrete_shapes, feed_for
from workbench.core.measure.providers import max_ir_version

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
    """torch.onnx export of a PyTorch variant into an in-memory ModelProto."""
    import onnx
    import torch

    if loaded.module is None:
        raise WorkbenchError(f"{label} is not a PyTorch model")
    if exporter not in ("auto", "torchscript", "dynamo"):
        raise WorkbenchError(f"unknown exporter {exporter!r} (use torchscript or dynamo)")
    use_dynamo = exporter == "dynamo" or (
        exporter == "auto" and not hasattr(torch.onnx, "TrainingMode")  # TorchScript exporter gone
    )
    opset = opset or (DYNAMO_MIN_OPSET if use_dynamo else DEFAULT_OPSET)
    # torch.export treats a size-1 dimension as fixed: trace a dynamic batch at 2.
    example_batch = 2 if dynamic_batch else None
    wanted = concrete_shapes(
        loaded, label=label, batch=example_batch, shapes=shapes, sample_shape=sample_shape
    )
    feed = feed_for(wanted)
    names = list(wanted)
    args = tuple(torch.from_numpy(feed[name]) for name in names)
    module = loaded.module
    was_training = getattr(module, "training", False)
    module.eval()
    try:
        with torch.inference_mode():
            count = len(flatten_outputs(module(*args)))
        outputs = ["output"] if count == 1 else [f"output_{i}" for i in range(count)]
        buffer = io.BytesIO()
        with (
            warnings.catch_warnings(),
            native_stdout_silenced(),  # first: it needs the real sys.stdout's descriptor
            contextlib.redirect_stdout(io.StringIO()),
        ):
            warnings.simplefilter("ignore")  # deprecation and tracer notices, not for users
            if use_dynamo:
                dims = {0: torch.export.Dim("batch")} if dynamic_batch else None
                program = torch.onnx.export(
                    module,
                    args,
                    dynamo=True,
                    opset_version=opset,
                    input_names=names,
                    output_names=outputs,
                    verbose=False,
                    dynamic_shapes=tuple(dims for _ in names) if dims else None,
                )
                model = program.model_proto
            else:
                axes = {n: {0: "batch"} for n in [*names, *outputs]} if dynamic_batch else None
                torch.onnx.export(
                    module,
                    args,
                    buffer,
                    dynamo=False,
                    opset_version=opset,
                    input_names=names,
                    output_names=outputs,
                    dynamic_axes=axes,
                )
                model = onnx.load_from_string(buffer.getvalue())
    except WorkbenchError:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WorkbenchError(f"{label} cannot be exported to ONNX: {first}") from exc
    finally:
        module.train(was_training)
    kind = "torch.onnx dynamo" if use_dynamo else "torch.onnx TorchScript-based (dynamo=False)"
    return Converted(model, kind, len(model.graph.node))


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
