"""Translate an ``onnx.ModelProto`` into the one graph model.

Counts follow what onnx itself holds: one Node per node of the main graph (the bodies
of If/Loop/Scan are subgraphs and are not counted, only noted), one WeightInfo per
initializer (all of them count as parameters, as onnx does), Constant nodes stay nodes.
Shapes come from onnx's own shape inference with data propagation; torch is never
imported on this path, so ``workbench inspect model.onnx`` starts fast.

Inference runs on sizes the file merely declares, so it is bounded: data propagation is
left out where a declared 1-D tensor is longer than any shape vector, and a heap budget
turns any other blow-up into a one-line error instead of an exhausted machine.
"""

from __future__ import annotations

import ast
import contextlib
import math
from collections.abc import Sequence
from typing import Any

from workbench.core.errors import ModelLoadError
from workbench.core.graph.macs_onnx import UNCOUNTED_HEAVY_OPS, node_macs
from workbench.core.graph.model import Dim, Graph, Node, TensorInfo, WeightInfo
from workbench.core.io.limits import heap_budget
from workbench.core.io.loaded import InputSpec
from workbench.core.units import human_bytes

DEFAULT_DOMAINS = ("", "ai.onnx")
# Initializers up to this many elements stay real during shape inference: shape-like
# constants (Reshape targets, Slice bounds) are small, and data propagation needs them.
SMALL_INITIALIZER = 1024
PROTOBUF_LIMIT = 2**31 - 1
# onnx's data propagation turns every 1-D tensor of known length N that a shape op reads
# into N values (about 150 bytes each); real shape vectors hold a handful. A declared
# (not stored) tensor longer than this turns data propagation off.
SHAPE_VECTOR_LIMIT = 1 << 16
# Memory shape inference may take: a floor, plus room for graphs that are large for real
# (measured: about 40 bytes per byte of graph, 30 MB for 25,000 shape-heavy nodes).
INFERENCE_HEAP = 512 << 20
INFERENCE_HEAP_PER_GRAPH_BYTE = 64
SMALL_TENSOR_VALUES = 16  # tensor attributes this small show their values


def from_onnx(model: Any, name: str = "", inputs: Sequence[InputSpec] | None = None) -> Graph:
    """Describe an ONNX model: nodes, tensors with inferred shapes, weights, MACs.

    ``inputs`` (the loader's concrete shapes, ``--shape``) give symbolic input dims a
    size for shapes and MACs; without them symbolic dims count as 1.
    """
    graph_proto = model.graph
    graph = Graph(
        name=name or graph_proto.name or "model",
        framework="onnx",
        opset=_default_opset(model),
        producer=" ".join(p for p in (model.producer_name, model.producer_version) if p),
    )
    sizes = _chosen_sizes(graph_proto, inputs or ())
    inferred = _infer_shapes(model, graph.notes, sizes, graph.name)
    if sizes:
        chosen = ", ".join(f"{n}={'x'.join(str(d) for d in s)}" for n, s in sizes.items())
        graph.notes.append(f"shapes and MACs are for {chosen}")

    for init in graph_proto.initializer:
        shape = tuple(int(d) for d in init.dims)
        graph.weights[init.name] = WeightInfo(
            name=init.name, shape=shape, dtype=_dtype_name(init.data_type), numel=math.prod(shape)
        )
    for sparse in graph_proto.sparse_initializer:
        values = sparse.values
        graph.weights[values.name] = WeightInfo(
            name=values.name,
            shape=tuple(int(d) for d in sparse.dims),
            dtype=_dtype_name(values.data_type),
            numel=math.prod(int(d) for d in values.dims),  # stored (non-zero) elements
        )

    source = inferred.graph if inferred is not None else graph_proto
    for value_info in (*graph_proto.input, *source.output, *source.value_info):
        graph.tensors[value_info.name] = _tensor_info(value_info)
    for weight in graph.weights.values():
        graph.tensors.setdefault(weight.name, TensorInfo(weight.name, weight.shape, weight.dtype))
    graph.inputs = [i.name for i in graph_proto.input if i.name not in graph.weights]
    graph.outputs = [o.name for o in graph_proto.output]

    graph.nodes = _nodes(graph_proto, graph)
    _note_uncounted(graph_proto, graph, sizes)
    return graph


def _nodes(graph_proto: Any, graph: Graph) -> list[Node]:
    """One Node per node of the main graph (subgraph bodies are not walked)."""
    import onnx

    def shape_of(tensor: str) -> tuple[Dim, ...] | None:
        info = graph.tensors.get(tensor)
        return info.shape if info is not None else None

    nodes: list[Node] = []
    used_ids: set[str] = set()
    for index, proto in enumerate(graph_proto.node):
        op_type = proto.op_type
        if proto.domain not in DEFAULT_DOMAINS:
            op_type = f"{proto.domain}.{op_type}"
        attributes = {a.name: _plain(onnx.helper.get_attribute_value(a)) for a in proto.attribute}
        inputs = list(proto.input)
        weights = list(dict.fromkeys(t for t in inputs if t in graph.weights))
        node = Node(
            id=_unique_id(proto.name or f"{proto.op_type}_{index}", index, used_ids),
            name=proto.name,
            op_type=op_type,
            scope=_scope(proto.name) or _scope_from_metadata(proto),
            attributes=attributes,
            inputs=inputs,
            outputs=list(proto.output),
            weights=weights,
            params=sum(graph.weights[w].numel for w in weights),
        )
        node.macs = node_macs(op_type, node.inputs, node.outputs, attributes, shape_of)
        nodes.append(node)
    return nodes


def _unique_id(candidate: str, index: int, used: set[str]) -> str:
    node_id = candidate if candidate not in used else f"{candidate}#{index}"
    while node_id in used:  # a name that happens to look like "x#3" already
        node_id += "'"
    used.add(node_id)
    return node_id


def _scope(node_name: str) -> tuple[str, ...]:
    """torch.onnx names "/layer1/layer1.0/conv1/Conv" -> ("layer1", "layer1.0", "conv1")."""
    if "/" not in node_name:
        return ()
    parts = [p for p in node_name.split("/") if p]
    return tuple(parts[:-1])


NAME_SCOPES = "pkg.torch.onnx.name_scopes"  # torch.onnx's dynamo exporter: module paths
_MAX_SCOPES_TEXT = 8192  # a hostile file's metadata is not parsed at any length


def _scope_from_metadata(proto: Any) -> tuple[str, ...]:
    """The dynamo exporter names nodes "node_MatMul_44" and keeps the module path in
    metadata instead: "['', 'bert', 'bert.encoder', 'bert.encoder.layer.0', ...,
    'matmul']" (each entry a module's full path, the last the node's own name) ->
    ("bert", "encoder", "layer.0", ...), the scope the TorchScript exporter's names give."""
    raw = next((p.value for p in proto.metadata_props if p.key == NAME_SCOPES), None)
    if not raw or len(raw) > _MAX_SCOPES_TEXT:
        return ()
    try:
        paths = ast.literal_eval(raw)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return ()  # not the exporter's list: no scope rather than a wrong one
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        return ()
    parts: list[str] = []
    parent = ""
    for path in paths[:-1]:
        if not path:
            continue
        if parent and not path.startswith(parent + "."):
            break  # not nested in the one before: not a module path
        parts.append(path[len(parent) + 1 :] if parent else path)
        parent = path
    return tuple(parts)


def _chosen_sizes(graph_proto: Any, inputs: Sequence[InputSpec]) -> dict[str, tuple[int, ...]]:
    """Input name -> concrete shape, for inputs whose symbolic dims get a size above 1."""
    declared = {i.name: _tensor_info(i).shape for i in graph_proto.input}
    sizes = {}
    for spec in inputs:
        shape = declared.get(spec.name)
        if shape is None or len(shape) != len(spec.shape):
            continue
        pairs = zip(shape, spec.shape, strict=True)
        if any(not isinstance(d, int) and size != 1 for d, size in pairs):
            sizes[spec.name] = tuple(spec.shape)
    return sizes


def _infer_shapes(
    model: Any, notes: list[str], sizes: dict[str, tuple[int, ...]], label: str
) -> Any:
    """onnx shape inference on a copy whose large initializers became typed inputs.

    Inference only needs the types of large weights, so they are not serialised for
    it: inference stays fast on big models and works on models over protobuf's 2 GB.
    Running out of its heap budget is a ModelLoadError, never a note.
    """
    import onnx

    skeleton = _skeleton(model, sizes)
    graph_bytes = skeleton.ByteSize()
    if graph_bytes > PROTOBUF_LIMIT:
        notes.append("shapes were not inferred: the graph itself is over 2 GB")
        return None
    too_long = _declared_too_long(skeleton.graph, {i.name for i in model.graph.initializer})
    if too_long:
        notes.append(
            f"shapes were inferred without data propagation: {too_long}, more than a shape "
            f"vector holds ({SHAPE_VECTOR_LIMIT:,}); shapes computed from shapes stay unknown"
        )
    budget = INFERENCE_HEAP + INFERENCE_HEAP_PER_GRAPH_BYTE * graph_bytes
    try:
        with heap_budget(budget):
            return onnx.shape_inference.infer_shapes(skeleton, data_prop=not too_long)
    except MemoryError:
        pass  # raised below, outside the handler: no MemoryError context to misread
    except Exception as exc:  # onnx raises several types; any failure means "no shapes"
        text = str(exc).strip()
        reason = text.splitlines()[0] if text else type(exc).__name__
        notes.append(f"shape inference failed, shapes are partial: {reason}")
        return None
    raise ModelLoadError(
        f"{label}: shape inference needed more than {human_bytes(budget)} of memory for a "
        f"{human_bytes(graph_bytes)} graph; the file looks crafted to exhaust memory "
        "and was not opened"
    )


def _skeleton(model: Any, sizes: dict[str, tuple[int, ...]]) -> Any:
    """The model without its large weights' data (typed inputs instead), sizes applied."""
    import onnx

    skeleton = onnx.ModelProto()
    skeleton.ir_version = model.ir_version
    skeleton.opset_import.extend(model.opset_import)
    skeleton.functions.extend(model.functions)
    source = model.graph
    target = skeleton.graph
    target.name = source.name
    target.node.extend(_standard_stand_ins(source, target))
    target.input.extend(source.input)
    for value_info in target.input:
        if value_info.name in sizes:  # same rank, checked by _chosen_sizes
            dims = value_info.type.tensor_type.shape.dim
            for dim, size in zip(dims, sizes[value_info.name], strict=True):
                dim.Clear()
                dim.dim_value = size
    target.output.extend(source.output)
    target.value_info.extend(source.value_info)
    declared = {i.name for i in source.input}
    for init in source.initializer:
        if math.prod(init.dims) <= SMALL_INITIALIZER:
            target.initializer.append(init)
        elif init.name not in declared:
            target.input.append(
                onnx.helper.make_tensor_value_info(init.name, init.data_type, list(init.dims))
            )
    target.sparse_initializer.extend(source.sparse_initializer)
    return skeleton


def _standard_stand_ins(source: Any, target: Any) -> list[Any]:
    """``source``'s nodes with each com.microsoft.MatMulNBits (INT4 weight-only, which onnx's
    inference does not know, so every shape after the first one stayed unknown) as a
    plain MatMul by a typed (K, N) weight declared on ``target``: the same output
    shape, so inference carries on through the rest of the model."""
    import onnx

    # the weight's type is A's, which the scales (input 2) share: float or float16
    types = {init.name: init.data_type for init in source.initializer}
    out = []
    for node in source.node:
        attrs = {a.name: a.i for a in node.attribute}
        if node.op_type != "MatMulNBits" or "K" not in attrs or "N" not in attrs:
            out.append(node)
            continue
        weight = f"{node.name or node.output[0]}::unpacked_weight"
        target.input.append(
            onnx.helper.make_tensor_value_info(
                weight,
                types.get(node.input[2] if len(node.input) > 2 else "", onnx.TensorProto.FLOAT),
                [attrs["K"], attrs["N"]],
            )
        )
        out.append(onnx.helper.make_node("MatMul", [node.input[0], weight], [node.output[0]],
                                         name=node.name))  # fmt: skip
    return out


def _declared_too_long(graph: Any, stored: set[str]) -> str:
    """The first 1-D tensor declared (not stored) longer than SHAPE_VECTOR_LIMIT, described.

    Stored initializers are exempt: their length is paid for in the file's bytes.
    """
    for value_info in (*graph.input, *graph.value_info, *graph.output):
        if value_info.name in stored or value_info.type.WhichOneof("value") != "tensor_type":
            continue
        dims = value_info.type.tensor_type.shape.dim
        if len(dims) == 1 and dims[0].dim_value > SHAPE_VECTOR_LIMIT:
            return f"{value_info.name!r} is declared with {dims[0].dim_value:,} values"
    return ""


def _note_uncounted(graph_proto: Any, graph: Graph, sizes: dict[str, Any]) -> None:
    with_subgraphs = sum(
        1 for n in graph_proto.node if any(a.type in (5, 10) for a in n.attribute)
    )  # AttributeProto.GRAPH = 5, GRAPHS = 10
    if with_subgraphs:
        graph.notes.append(
            f"{with_subgraphs} node(s) hold subgraphs (If/Loop/Scan bodies); "
            "their inner nodes are not counted"
        )
    symbolic = sorted(
        {
            str(d)
            for name in graph.inputs
            if name not in sizes
            for d in (graph.tensors[name].shape or ())
            if not isinstance(d, int)
        }
    )
    if symbolic and any(n.macs for n in graph.nodes):
        graph.notes.append(f"MACs count symbolic dimensions ({', '.join(symbolic)}) as 1")
    heavy = sorted({n.op_type for n in graph.nodes if n.op_type in UNCOUNTED_HEAVY_OPS})
    if heavy:
        graph.notes.append(f"MACs do not include {', '.join(heavy)} nodes (no formula)")


def _default_opset(model: Any) -> int | None:
    for entry in model.opset_import:
        if entry.domain in DEFAULT_DOMAINS:
            return int(entry.version)
    return None


def _tensor_info(value_info: Any) -> TensorInfo:
    type_proto = value_info.type
    kind = type_proto.WhichOneof("value")
    if kind != "tensor_type":
        return TensorInfo(value_info.name, None, kind.replace("_type", "") if kind else None)
    tensor_type = type_proto.tensor_type
    dtype = _dtype_name(tensor_type.elem_type) if tensor_type.elem_type else None
    if not tensor_type.HasField("shape"):
        return TensorInfo(value_info.name, None, dtype)
    dims: list[Dim] = []
    for dim in tensor_type.shape.dim:
        if dim.HasField("dim_value"):
            dims.append(int(dim.dim_value))
        elif dim.HasField("dim_param"):
            dims.append(dim.dim_param)
        else:
            dims.append(None)
    return TensorInfo(value_info.name, tuple(dims), dtype)


def _dtype_name(data_type: int) -> str:
    """numpy's name for an ONNX element type ("float32"), or onnx's own when numpy has none."""
    import onnx

    try:
        return str(onnx.helper.tensor_dtype_to_np_dtype(data_type).name)
    except Exception:  # types numpy lacks (bfloat16, float8) raise various errors
        return onnx.TensorProto.DataType.Name(data_type).lower()


def _plain(value: Any) -> Any:
    """An attribute value as plain Python (JSON-friendly), tensors summarised."""
    import onnx

    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, onnx.TensorProto):
        summary: dict[str, Any] = {
            "shape": [int(d) for d in value.dims],
            "dtype": _dtype_name(value.data_type),
        }
        if math.prod(value.dims) <= SMALL_TENSOR_VALUES and not value.external_data:
            with contextlib.suppress(Exception):  # odd encodings: no values then
                summary["value"] = onnx.numpy_helper.to_array(value).tolist()
        return summary
    if isinstance(value, onnx.SparseTensorProto):
        return {"shape": [int(d) for d in value.dims], "dtype": _dtype_name(value.values.data_type)}
    if isinstance(value, onnx.GraphProto):
        return {"graph": value.name, "nodes": len(value.node)}
    if isinstance(value, onnx.TypeProto):
        return str(value).strip()
    return value
