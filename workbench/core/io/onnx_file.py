"""Opening ONNX models: external data read only from the model's own folder, sizes checked first.

Every external-data reference is checked (path stays inside the folder, the file exists,
offset and length fit it, and the declared tensor size equals the bytes there) before a
single byte of it is read; only then does onnx load it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workbench.core.errors import ModelLoadError, UnsafeModelError
from workbench.core.io.confine import OutsideFolder, confined
from workbench.core.io.inputs import Shapes, apply_shapes
from workbench.core.io.limits import require_memory
from workbench.core.io.loaded import InputSpec, LoadedModel, ModelFormat
from workbench.core.units import format_shape

# onnx.TensorProto data types stored packed below one byte per element.
_PACKED_BITS = {21: 4, 22: 4, 23: 4, 25: 2, 26: 2}  # UINT4, INT4, FLOAT4E2M1, UINT2, INT2
_STRING = 8


def load_onnx(path: Path, model: Any, shapes: Shapes | None, size: int) -> LoadedModel:
    """A LoadedModel from a parsed ModelProto whose external data is still on disk."""
    from onnx import TensorProto
    from onnx.external_data_helper import load_external_data_for_model

    label = path.name
    tensors = list(_all_tensors(model))
    external = [t for t in tensors if t.data_location == TensorProto.EXTERNAL]
    for tensor in tensors:
        if tensor.data_location != TensorProto.EXTERNAL:
            _check_inline(label, tensor)
    external_bytes = sum(_check_external(label, path.parent, tensor) for tensor in external)
    if external:
        require_memory(label, external_bytes, "to read its external data")
        try:
            load_external_data_for_model(model, str(path.parent))
        except Exception as exc:
            raise ModelLoadError(f"{label}: its external data cannot be read ({exc})") from None
    notes: list[str] = []
    inputs = _input_specs(label, model, shapes, notes)
    return LoadedModel(
        format=ModelFormat.ONNX,
        path=path,
        inputs=inputs,
        onnx_model=model,
        file_size=size,
        notes=notes,
    )


def _all_tensors(model: Any) -> Iterator[Any]:
    """Every TensorProto in the model: initializers, attributes, subgraphs, functions."""

    def in_graph(graph: Any) -> Iterator[Any]:
        yield from graph.initializer
        for sparse in graph.sparse_initializer:
            yield sparse.values
            yield sparse.indices
        for node in graph.node:
            yield from in_node(node)

    def in_node(node: Any) -> Iterator[Any]:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("sparse_tensor"):
                yield attr.sparse_tensor.values
                yield attr.sparse_tensor.indices
            if attr.HasField("g"):
                yield from in_graph(attr.g)
            for graph in attr.graphs:
                yield from in_graph(graph)

    yield from in_graph(model.graph)
    for function in model.functions:
        for node in function.node:
            yield from in_node(node)


def _declared(label: str, tensor: Any) -> tuple[int | None, str]:
    """Bytes the tensor's dims and type call for (None for strings), and a description."""
    from onnx import helper

    dims = list(tensor.dims)
    if any(d < 0 for d in dims):
        raise ModelLoadError(
            f"{label}: tensor {tensor.name!r} has a negative dimension {dims}; the file is corrupt"
        )
    count = math.prod(dims)
    if tensor.data_type == _STRING:
        return None, f"{format_shape(dims) or 'scalar'} string"
    try:
        dtype = helper.tensor_dtype_to_np_dtype(tensor.data_type)
    except Exception:
        raise ModelLoadError(
            f"{label}: tensor {tensor.name!r} has unknown data type {tensor.data_type}; "
            "the file is corrupt or from a newer ONNX"
        ) from None
    bits = _PACKED_BITS.get(tensor.data_type, dtype.itemsize * 8)
    return (count * bits + 7) // 8, f"{format_shape(dims) or 'scalar'} {dtype.name}"


def _check_inline(label: str, tensor: Any) -> None:
    """Inline tensors must hold exactly the data their dims declare."""
    if tensor.HasField("raw_data"):
        expected, what = _declared(label, tensor)
        if expected is not None and len(tensor.raw_data) != expected:
            raise ModelLoadError(
                f"{label}: tensor {tensor.name!r} declares {what} ({expected} bytes) but holds "
                f"{len(tensor.raw_data)} bytes; the file is corrupt"
            )
        return
    typed = {1: "float_data", 6: "int32_data", 7: "int64_data", 11: "double_data"}
    field = typed.get(tensor.data_type)
    if field is not None:
        held = len(getattr(tensor, field))
        count = math.prod(tensor.dims)
        if held != count:
            _, what = _declared(label, tensor)
            raise ModelLoadError(
                f"{label}: tensor {tensor.name!r} declares {what} ({count} values) but holds "
                f"{held}; the file is corrupt"
            )


def _external_fields(label: str, tensor: Any) -> tuple[str, int, int | None]:
    location, offset, length = "", 0, None
    for entry in tensor.external_data:
        if entry.key == "location":
            location = entry.value
        elif entry.key in ("offset", "length"):
            try:
                value = int(entry.value)
            except ValueError:
                raise ModelLoadError(
                    f"{label}: tensor {tensor.name!r} has an external data {entry.key} that is "
                    f"not a number ({entry.value!r}); the file is corrupt"
                ) from None
            if value < 0:
                raise ModelLoadError(
                    f"{label}: tensor {tensor.name!r} has a negative external data {entry.key} "
                    f"({value}); the file is corrupt"
                )
            if entry.key == "offset":
                offset = value
            else:
                length = value
    if not location or "\x00" in location:
        raise ModelLoadError(
            f"{label}: tensor {tensor.name!r} is stored externally but names no usable file; "
            "the file is corrupt"
        )
    return location, offset, length


def _check_external(label: str, folder: Path, tensor: Any) -> int:
    """Refuse a reference that leaves the folder or does not fit its file; read nothing.

    Returns the bytes the tensor will read.
    """
    location, offset, length = _external_fields(label, tensor)
    name = tensor.name
    try:
        confined(folder, location)
    except OutsideFolder as outside:
        raise UnsafeModelError(_outside_message(label, name, outside)) from None
    root = os.path.realpath(folder)
    target = os.path.realpath(os.path.join(root, location))
    if os.path.islink(os.path.join(root, location)):
        raise ModelLoadError(
            f"{label}: tensor {name!r} external data {location!r} is a symbolic link, which "
            "ONNX does not follow; put the file itself in the model's folder"
        )
    if not os.path.isfile(target):
        raise ModelLoadError(
            f"{label}: external data file {location!r} for tensor {name!r} is missing; "
            "put it next to the model"
        )
    file_size = os.path.getsize(target)
    available = file_size - offset
    if offset > file_size or (length is not None and length > available):
        span = f"offset {offset}" + (f", length {length}" if length is not None else "")
        raise ModelLoadError(
            f"{label}: tensor {name!r} external data ({span}) runs past the end of "
            f"{location!r} ({file_size} bytes); the data file is truncated or not this model's"
        )
    held = length if length is not None else available
    expected, what = _declared(label, tensor)
    if expected is None:
        raise ModelLoadError(
            f"{label}: tensor {name!r} ({what}) is stored externally, which ONNX does not "
            "allow for strings; the file is corrupt"
        )
    if held != expected:
        raise ModelLoadError(
            f"{label}: tensor {name!r} declares {what} ({expected} bytes) but its external "
            f"data in {location!r} holds {held} bytes; the data file does not match the model"
        )
    return held


def _outside_message(label: str, name: str, outside: OutsideFolder) -> str:
    location = outside.location
    if outside.kind == "absolute":
        return (
            f"{label}: tensor {name!r} points to external data at an absolute path "
            f"({location}); only files inside the model's folder are read"
        )
    if outside.kind == "climbing":
        return (
            f"{label}: tensor {name!r} points to external data {location!r}, which leaves the "
            "model's folder; only files inside it are read"
        )
    return (
        f"{label}: tensor {name!r} external data {location!r} is a link leading outside "
        f"the model's folder (to {outside.target}); copy the file into the folder instead"
    )


def _input_specs(
    label: str, model: Any, shapes: Shapes | None, notes: list[str]
) -> list[InputSpec]:
    """Graph inputs that are not initializers; symbolic dims resolved as far as honest."""
    from onnx import helper

    graph = model.graph
    constant = {t.name for t in graph.initializer}
    constant |= {s.values.name for s in graph.sparse_initializer}
    shapes = shapes or {}
    specs: list[InputSpec] = []
    for value in graph.input:
        if value.name in constant:
            continue
        if not value.type.HasField("tensor_type"):
            notes.append(f"input {value.name!r} is not a tensor; it is listed without a shape")
            specs.append(InputSpec(value.name, (), "object"))
            continue
        tensor_type = value.type.tensor_type
        try:
            dtype = helper.tensor_dtype_to_np_dtype(tensor_type.elem_type).name
        except Exception:
            dtype = f"onnx-type-{tensor_type.elem_type}"
        dims: list[int | str | None] = []
        if tensor_type.HasField("shape"):
            for dim in tensor_type.shape.dim:
                if dim.HasField("dim_value") and dim.dim_value > 0:
                    dims.append(dim.dim_value)
                else:
                    dims.append(dim.dim_param or None)
        given = shapes.get(value.name)
        if given is not None:
            _check_given(label, value.name, dims, given, tensor_type.HasField("shape"))
            specs.append(InputSpec(value.name, given, dtype))
            continue
        specs.append(InputSpec(value.name, _best_effort(value.name, dims, notes), dtype))
        if not tensor_type.HasField("shape"):
            notes.append(
                f"input {value.name!r} declares no shape; pass --shape {value.name}=1x3x224x224"
            )
    # Every --shape was used above; this only rejects names that match no input.
    return apply_shapes(label, specs, shapes)


def _check_given(
    label: str, name: str, dims: list[int | str | None], given: tuple[int, ...], ranked: bool
) -> None:
    if not ranked:
        return
    if len(given) != len(dims):
        raise ModelLoadError(
            f"{label}: --shape {name}={format_shape(given)} has {len(given)} dimensions but "
            f"input {name!r} has {len(dims)}"
        )
    for index, (declared, value) in enumerate(zip(dims, given, strict=True)):
        if isinstance(declared, int) and declared != value:
            raise ModelLoadError(
                f"{label}: --shape {name}={format_shape(given)} sets dimension {index} to "
                f"{value}, but the model fixes it at {declared}"
            )


def _best_effort(name: str, dims: list[int | str | None], notes: list[str]) -> tuple[int, ...]:
    """Concrete shape: a symbolic leading (batch) dim becomes 1; others too, with a note."""
    shape: list[int] = []
    unresolved: list[str] = []
    for index, dim in enumerate(dims):
        if isinstance(dim, int):
            shape.append(dim)
            continue
        shape.append(1)
        if index > 0:
            unresolved.append(f"{index} ({dim})" if dim else str(index))
    if unresolved:
        notes.append(
            f"input {name!r} has symbolic dimension(s) {', '.join(unresolved)}, assumed 1 "
            f"here; pass --shape {name}=<real shape> (e.g. {format_shape(shape)} with the "
            "real sizes)"
        )
    return tuple(shape)
