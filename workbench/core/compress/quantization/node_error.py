"""Where quantization loses accuracy: float and quantized activations, tensor by tensor.

Built on ``onnxruntime.quantization.qdq_loss_debug``: both models are augmented to output
every intermediate tensor (``modify_model_output_intermediate_tensors``), run on the
same samples (``collect_activations``), matched (``create_activation_matching``) and
compared as signal-to-quantization-noise ratios (``compute_activation_error``). For
QDQ models each activation's figure is the whole model's drift up to it (float
model vs quantized model, ORT's "xmodel_err"). Models without QDQ pairs (dynamic INT8,
float16) are matched by tensor name.

Each row names the node that writes the tensor in the quantized model, which is the
pre-processed model's name ``nodes_to_exclude`` takes, with the error at its output and
the error it adds (output error minus its inputs' worst): rows are ranked by the
latter, so the table points at where accuracy is lost rather than at the last nodes,
where all earlier error has piled up. (Hand-written, this small step: ORT's tools give
the per-tensor figures, not this difference.)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.compress.quantization.block_error import Block, BlockError, block_errors
from workbench.core.context import RunContext
from workbench.core.graph.overlays import value_overlay
from workbench.core.measure.providers import CPU, quiet_session_options

MEMORY_BUDGET = 1 << 30  # bytes of activations both models may hold for the comparison
SKIP_OPS = (
    "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "Cast", "Constant",
    "Identity",
)  # fmt: skip


@dataclass
class NodeError:
    """One node's output compared between the float and the quantized model."""

    node: str  # node name (what exclude takes)
    op_type: str
    tensor: str  # the output compared
    sqnr_db: float  # float vs quantized model at this tensor: all error accumulated so far
    error: float  # the same as a relative error, noise / signal = 10^(-SQNR/20)
    added: float  # error added here: ``error`` minus the largest ``error`` of its inputs


@dataclass
class ErrorTable:
    """Per-node quantization error, worst first."""

    rows: list[NodeError]  # by ``added``, largest first: where the error comes from
    samples: int
    basis: str  # "qdq" (ORT's QDQ matching) or "names" (tensors matched by name)
    notes: list[str] = field(default_factory=list)
    blocks: list[BlockError] = field(default_factory=list)  # per repeated block, model order

    def by_node(self) -> dict[str, float]:
        """Node name -> relative error at its output: the "Quantization error" overlay."""
        values: dict[str, float] = {}
        for row in self.rows:
            values[row.node] = max(values.get(row.node, 0.0), row.error)
        return values

    def worst(self, count: int) -> list[str]:
        """The names of the ``count`` nodes with the largest error, worst first."""
        names: list[str] = []
        for row in self.rows:
            if row.node not in names:
                names.append(row.node)
        return names[:count]

    def by_block_node(self) -> dict[str, float]:
        """Node name -> its block's relative error at the block's output: the
        "Block error" overlay (a folded block shows its own figure)."""
        return {name: row.error for row in self.blocks for name in row.nodes}

    def to_json(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "basis": self.basis,
            "notes": list(self.notes),
            "rows": [asdict(row) for row in self.rows],
            "blocks": [asdict(row) for row in self.blocks],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ErrorTable:
        return cls(
            rows=[NodeError(**row) for row in data.get("rows", [])],
            samples=int(data.get("samples", 0)),
            basis=str(data.get("basis", "")),
            notes=list(data.get("notes", [])),
            blocks=[BlockError(**row) for row in data.get("blocks", [])],
        )


def _relative(sqnr_db: float) -> float:
    return 10 ** (-sqnr_db / 20.0) if math.isfinite(sqnr_db) else 0.0


def _producers(quantized: Any, original: Any) -> dict[str, Any]:
    """Tensor -> the node writing it, named as in the model that was quantized.

    The quantized model's writer when that node exists in the original (a QDQ Conv that
    absorbed its ReLU), else the original's writer (dynamic INT8 splits a Gemm into
    MatMulInteger + "Gemm_Add"; exclude takes the Gemm's name).
    """
    names = {node.name for node in original.graph.node}
    result = {out: node for node in original.graph.node for out in node.output}
    for node in quantized.graph.node:
        if node.name in names:
            result.update({out: node for out in node.output})
    return result


def _float_inputs(node: Any, producer: dict[str, Any], depth: int = 3) -> list[str]:
    """The activations a node reads, looking through Q/DQ pairs to the tensor they carry."""
    names = []
    for name in node.input:
        current, steps = name, 0
        while steps < depth and current in producer:
            parent = producer[current]
            if parent.op_type not in ("QuantizeLinear", "DequantizeLinear"):
                break
            current, steps = parent.input[0], steps + 1
        names.append(current)
    return names


def _fit_memory(float_path: Path, work: Path, reader: Any) -> list[str]:
    """Fewer samples when keeping every activation of both models would take more than
    ``MEMORY_BUDGET`` (a ResNet-50 holds ~100 MB of activations per image): measured
    on one batch of the float model first."""
    first = reader.samples[: reader.batch]
    probe = type(reader)(reader.input_name, first, dtype=str(first.dtype), batch=len(first))
    per_sample = sum(
        a.nbytes
        for values in intermediate_activations(float_path, work / "probe.onnx", probe).values()
        for a in values
    ) / max(len(first), 1)  # fmt: skip
    fits = int(MEMORY_BUDGET // max(2 * per_sample, 1))  # both models' activations
    if fits >= len(reader.samples):
        return []
    keep = max(reader.batch, fits - fits % reader.batch)
    reader.samples = reader.samples[:keep]
    return [f"per-node error on {keep} samples: more would hold over "
            f"{MEMORY_BUDGET // 2**20} MB of activations"]  # fmt: skip


def intermediate_activations(model_path: Path, out: Path, reader: Any) -> dict[str, list[Any]]:
    """Every node output of ``model_path`` (rewritten to ``out`` to expose them) per batch
    of ``reader``, on ORT's CPU provider with no graph rewrites (names stay as written)."""
    import onnxruntime as ort
    from onnxruntime.quantization.qdq_loss_debug import (
        collect_activations,
        modify_model_output_intermediate_tensors,
    )

    modify_model_output_intermediate_tensors(str(model_path), str(out))
    options = quiet_session_options()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    reader.rewind()
    return collect_activations(str(out), reader, options, [CPU])


def node_error_table(
    float_path: Path,
    quantized_path: Path,
    reader: Any,
    *,
    work: Path,
    ctx: RunContext | None = None,
    blocks: list[Block] | None = None,
) -> ErrorTable:
    """Compare the two ONNX files on ``reader``'s samples (a ``DatasetReader``).

    ``float_path`` must be the model that was quantized (after pre-processing), so
    tensor names match. ``work`` is a folder for the augmented copies. ``blocks``
    (``block_error.decoder_blocks``) adds each block's output SQNR to the table.
    """
    import onnx
    from onnxruntime.quantization.qdq_loss_debug import (
        compute_activation_error,
        compute_signal_to_quantization_noice_ratio,
        create_activation_matching,
    )

    ctx = ctx or RunContext()
    notes = _fit_memory(float_path, work, reader)
    reader.span, reader.message = (0.0, 0.5), "per-node error: float model"
    reader.ctx = ctx
    float_acts = intermediate_activations(float_path, work / "float_debug.onnx", reader)
    reader.span, reader.message = (0.5, 0.95), "per-node error: quantized model"
    quant_acts = intermediate_activations(quantized_path, work / "quant_debug.onnx", reader)
    ctx.check()
    quantized = onnx.load_model(str(quantized_path), load_external_data=False)
    original = onnx.load_model(str(float_path), load_external_data=False)
    producer = _producers(quantized, original)
    writers = {out: node for node in quantized.graph.node for out in node.output}
    matching = create_activation_matching(quant_acts, float_acts)
    drift: dict[str, float] = {}  # tensor -> SQNR (dB), float vs quantized model
    if matching:
        # QDQ: compare the float tensor with its dequantized twin (ORT's "xmodel_err"),
        # which also sees the ReLU that QDQ folds into the range.
        basis = "qdq"
        complete = {k: v for k, v in matching.items() if v.get("float")}
        for tensor, err in compute_activation_error(complete).items():
            if "xmodel_err" in err:
                drift[tensor] = float(err["xmodel_err"])
    else:
        basis = "names"
        for tensor, values in quant_acts.items():
            reference = float_acts.get(tensor)
            if reference is None or [v.shape for v in values] != [r.shape for r in reference]:
                continue
            drift[tensor] = compute_signal_to_quantization_noice_ratio(
                [r.astype("float32") for r in reference], [v.astype("float32") for v in values]
            )
    relative = {tensor: _relative(db) for tensor, db in drift.items()}
    rows: list[NodeError] = []
    for tensor, db in drift.items():
        node = producer.get(tensor)
        if node is None or node.op_type in SKIP_OPS:
            continue  # a graph input, or a tensor the quantizer itself made
        upstream = [relative[t] for t in _float_inputs(node, writers) if t in relative]
        added = max(0.0, relative[tensor] - max(upstream, default=0.0))
        rows.append(NodeError(node.name, node.op_type, tensor, db, relative[tensor], added))
    rows.sort(key=lambda r: (-r.added, -r.error, r.node))
    ctx.report(1.0, "per-node error measured")
    return ErrorTable(
        rows,
        samples=len(reader.samples),
        basis=basis,
        notes=notes,
        blocks=block_errors(blocks or [], float_acts, quant_acts),
    )


def overlay_values(error_by_node: dict[str, float], graph: Any) -> dict[str, float]:
    """Graph node id -> relative error, for the graph view's "Quantization error" overlay.

    ``error_by_node`` is ``ErrorTable.by_node()`` (node names); ``graph`` is the
    quantized variant's graph (``core.graph.from_model``), whose ONNX node names match.
    """
    ids = {node.name: node.id for node in graph.nodes if node.name}
    return {ids[name]: value for name, value in error_by_node.items() if name in ids}


def error_overlay(error_by_node: dict[str, float], graph: Any) -> Any:
    """The ``Overlay`` to hand to ``GraphWidget.add_overlay``: worst node in a group shows."""

    return value_overlay(
        "Quantization error",
        overlay_values(error_by_node, graph),
        "Relative error at the node's output",
        aggregate="max",
        kind="percent",
    )


def block_error_overlay(error_by_block_node: dict[str, float], graph: Any) -> Any:
    """The "Block error" overlay: every node of a decoder block coloured by the relative
    error at the block's output (``ErrorTable.by_block_node``)."""
    return value_overlay(
        "Block error",
        overlay_values(error_by_block_node, graph),
        "Relative error at the output of the node's block",
        aggregate="max",
        kind="percent",
    )
