"""What the ONNX Runtime passes share: the float ONNX to start from, quiet ORT, results.

ONNX Runtime's quantization tools work on files, log advice to the root logger ("Please
consider to run pre-processing"), print, and let the C++ runtime warn per node. A pass
runs them in a temporary folder it owns, inside ``quiet_ort()``, and turns their
exceptions into one-line ``WorkbenchError``s.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import io
import logging
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel, ModelFormat

_ORT_ERROR = 3  # ORT severities: 0 verbose .. 3 error


@contextlib.contextmanager
def quiet_ort() -> Iterator[None]:
    """Silence ORT's quantization logging, prints (stdout and stderr) and C++ warnings
    for a block."""
    import onnxruntime as ort

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    ort.set_default_logger_severity(_ORT_ERROR)
    try:
        # stderr too: quant_pre_process prints a traceback when its optimisation step
        # fails, then goes on without it.
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def float_onnx(model: LoadedModel, *, notes: list[str]) -> Any:
    """The model as a float ONNX proto: its own, or a torch.onnx export with a free batch.

    The export goes through ``workbench.core.export`` like ``workbench export``; a model
    it cannot export raises its one-line WorkbenchError.
    """
    if model.onnx_model is not None:
        return model.onnx_model
    from workbench.core.measure.runners import flush_denormals
    from workbench.core.measure.torch_to_onnx import fit_ir_version, torch_to_onnx

    with flush_denormals():
        converted = torch_to_onnx(model, label=model.display_name, dynamic_batch=True)
    fit_ir_version(converted.model, notes)
    notes.append(f"exported to ONNX first ({converted.exporter})")
    return converted.model


def save(proto: Any, path: Path) -> Path:
    import onnx

    if proto.ByteSize() >= 2**31 - 1:
        raise WorkbenchError(
            "models over 2 GB (external data) are not supported by the quantization passes yet"
        )
    onnx.save_model(proto, str(path))
    return path


def pre_process(source: Path, out: Path, notes: list[str]) -> Path:
    """ORT's ``quant_pre_process``: shape inference and graph optimisation before quantizing.

    Symbolic shape inference fails on some exported graphs (a Reshape whose target shape
    is computed); ONNX's own shape inference is then used alone, and the note says so.
    """
    from onnxruntime.quantization.shape_inference import quant_pre_process

    try:
        quant_pre_process(str(source), str(out))
        return out
    except Exception:  # symbolic inference's asserts carry no message worth showing
        pass
    try:
        quant_pre_process(str(source), str(out), skip_symbolic_shape=True)
    except Exception as exc:
        raise WorkbenchError(
            f"ONNX Runtime's pre-processing failed on this model ({first_line(exc)})"
        ) from exc
    notes.append("symbolic shape inference failed; pre-processed with ONNX shape inference")
    return out


def check_node_names(proto: Any, names: Iterable[str], *, what: str = "exclude") -> list[str]:
    """``names`` if every one is a node of ``proto``; else a WorkbenchError with close names."""
    names = list(names)
    known = [node.name for node in proto.graph.node if node.name]
    known_set = set(known)
    for name in names:
        if name not in known_set:
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            raise WorkbenchError(
                f"{what}: the model has no node named {name!r}{hint}; the per-node error "
                "table lists the names"
            )
    return names


def float_weight_bytes(proto: Any) -> int:
    """Bytes of the float32 weights, initializers and Constant nodes (from their shapes:
    nothing is decoded)."""
    import math

    import onnx

    tensors = list(proto.graph.initializer)
    tensors += [
        attr.t
        for node in proto.graph.node
        if node.op_type == "Constant"
        for attr in node.attribute
        if attr.name == "value"
    ]
    return sum(4 * math.prod(t.dims) for t in tensors if t.data_type == onnx.TensorProto.FLOAT)


def onnx_result(source: LoadedModel, proto: Any, notes: list[str]) -> LoadedModel:
    """A new ONNX ``LoadedModel`` for ``proto``, keeping the source's inputs and dataset."""
    return dataclasses.replace(
        source,
        format=ModelFormat.ONNX,
        path=None,
        module=None,
        onnx_model=proto,
        exported_program=None,
        file_size=proto.ByteSize(),
        inputs=list(source.inputs),
        notes=[*source.notes, *notes],
    )


def load_proto(path: Path) -> Any:
    import onnx

    return onnx.load_model(str(path))


MATMUL_OPS = ("MatMul", "MatMulNBits", "MatMulInteger", "Gemm")


def matmul_weight_bytes(proto: Any) -> int:
    """Bytes of the constant weights matrix multiplications read: a float MatMul's
    matrix, a MatMulNBits node's packed blocks, scales and zero points, MatMulInteger's
    int8 matrix (from the initializers' shapes and types: nothing is decoded). The
    figure weight-only quantization shrinks, whatever else the model holds."""
    import math

    from onnx import helper

    sizes = {
        t.name: math.prod(t.dims) * helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
        for t in proto.graph.initializer
    }
    seen: set[str] = set()  # a weight shared by two nodes counts once
    for node in proto.graph.node:
        if node.op_type in MATMUL_OPS:
            seen.update(name for name in node.input[1:] if name in sizes)
    return sum(sizes[name] for name in seen)
