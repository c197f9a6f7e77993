"""Multiply-accumulate counts for ONNX nodes, from their inferred shapes.

Why hand-written: none of our dependencies counts MACs on an ONNX graph (onnx and
onnxruntime do not, and the ONNX profilers on PyPI are unmaintained or pull in their
own runtimes). Only the ops that carry the multiply-accumulates of a network are
counted, and the formulas are the textbook ones:

- Conv / QLinearConv / ConvInteger / com.microsoft.FusedConv: every output element
  takes ``C_in/groups * prod(kernel)`` MACs, so ``N * prod(out_spatial) * prod(W.shape)``.
- ConvTranspose: every input element is scattered through ``C_out/groups * prod(kernel)``
  weights, so ``N * prod(in_spatial) * prod(W.shape)``.
- Gemm: ``M * K * N``.
- MatMul / MatMulInteger / QLinearMatMul: ``batch * M * K * N`` (batched, broadcast,
  numpy 1-D rules).
- com.microsoft.MatMulNBits (weight-only INT4): its ``K`` and ``N`` attributes give the
  unpacked weight, so ``rows of A * K * N``: the same figure as the float MatMul it
  replaced (the packed blocks hide the shape; their bytes are not the MACs).

Every other op counts 0 (element-wise ops, normalisation, pooling, softmax: cheap next
to the above, and counting them would not be comparable with torch's FlopCounterMode,
which also counts only matmuls and convolutions). Symbolic or unknown dimensions count
as 1, so a dynamic batch is batch 1; a node whose shapes are unknown counts 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from workbench.core.graph.model import Dim

ShapeOf = Callable[[str], "tuple[Dim, ...] | None"]

# Ops with real arithmetic that these formulas do not cover (reported in graph notes).
UNCOUNTED_HEAVY_OPS = frozenset(
    {
        "LSTM",
        "GRU",
        "RNN",
        "Einsum",
        "Attention",
        "com.microsoft.Attention",
        "com.microsoft.MultiHeadAttention",
        "com.microsoft.FusedMatMul",
    }
)

# op type -> (index of the data input, index of the weight input)
_CONV_LIKE = {
    "Conv": (0, 1),
    "com.microsoft.FusedConv": (0, 1),
    "ConvInteger": (0, 1),
    "QLinearConv": (0, 3),
}
# op type -> (index of A, index of B)
_MATMUL_LIKE = {"MatMul": (0, 1), "MatMulInteger": (0, 1), "QLinearMatMul": (0, 3)}
_NBITS = ("com.microsoft.MatMulNBits", "MatMulNBits")


def packed_weight_counts(graph: Any) -> dict[str, int]:
    """Initializer name -> how many weights it holds, for the packed ones whose element
    count is not that (a MatMulNBits ``B``: two 4-bit weights a byte, in blocks; its
    ``K x N`` attributes say how many). ``graph`` is an ``onnx.GraphProto``."""
    counts = {}
    for node in graph.node:
        if node.op_type == "MatMulNBits" and len(node.input) > 1:
            attrs = {a.name: a.i for a in node.attribute}
            if "K" in attrs and "N" in attrs:
                counts[node.input[1]] = int(attrs["K"]) * int(attrs["N"])
    return counts


def _size(d: Dim) -> int:
    """A concrete dimension, or 1 for a symbolic/unknown one."""
    return d if isinstance(d, int) and d > 0 else 1


def _prod(dims: Sequence[Dim]) -> int:
    return math.prod(_size(d) for d in dims)


def _shape(shape_of: ShapeOf, names: Sequence[str], index: int) -> tuple[Dim, ...] | None:
    if index >= len(names) or not names[index]:
        return None
    return shape_of(names[index])


def node_macs(
    op_type: str,
    inputs: Sequence[str],
    outputs: Sequence[str],
    attributes: dict[str, Any],
    shape_of: ShapeOf,
) -> int:
    """MACs of one node (batch of symbolic size counted as 1); 0 for other ops."""
    if op_type in _CONV_LIKE:
        _, w_index = _CONV_LIKE[op_type]
        weight = _shape(shape_of, inputs, w_index)
        out = _shape(shape_of, outputs, 0)
        if weight is None or out is None or len(out) < 2:
            return 0
        return _size(out[0]) * _prod(out[2:]) * _prod(weight)
    if op_type == "ConvTranspose":
        x = _shape(shape_of, inputs, 0)
        weight = _shape(shape_of, inputs, 1)
        if x is None or weight is None or len(x) < 2:
            return 0
        return _size(x[0]) * _prod(x[2:]) * _prod(weight)
    if op_type == "Gemm":
        a = _shape(shape_of, inputs, 0)
        b = _shape(shape_of, inputs, 1)
        if a is None or b is None or len(a) != 2 or len(b) != 2:
            return 0
        m, k = (a[1], a[0]) if attributes.get("transA", 0) else (a[0], a[1])
        n = b[0] if attributes.get("transB", 0) else b[1]
        return _size(m) * _size(k) * _size(n)
    if op_type in _NBITS:
        a, out = _shape(shape_of, inputs, 0), _shape(shape_of, outputs, 0)
        k, n = attributes.get("K"), attributes.get("N")
        if not isinstance(k, int) or not isinstance(n, int):
            return 0
        # rows of A: from A or the output, whichever knows each size (as for MatMul)
        rows = [d for d in (a, out) if d]
        if not rows:
            return 0
        lead = [r[:-1] for r in rows]
        return math.prod(_known(*(r[i] for r in lead if len(r) > i))
                         for i in range(max(map(len, lead)))) * k * n  # fmt: skip
    if op_type in _MATMUL_LIKE:
        a_index, b_index = _MATMUL_LIKE[op_type]
        return _matmul_macs(
            _shape(shape_of, inputs, a_index),
            _shape(shape_of, inputs, b_index),
            _shape(shape_of, outputs, 0),
        )
    return 0


def _matmul_macs(
    a: tuple[Dim, ...] | None, b: tuple[Dim, ...] | None, out: tuple[Dim, ...] | None
) -> int:
    """numpy.matmul semantics: (..., M, K) @ (..., K, N), 1-D operands promoted.

    Each size is taken from whichever of output, A or B knows it, since inference often
    leaves a dim unknown on one side only (a weight's shape is always known).
    """
    if a is None or b is None or not a or not b:
        return 0
    a2 = tuple(a) if len(a) >= 2 else (1, a[0])
    b2 = tuple(b) if len(b) >= 2 else (b[0], 1)
    out2 = tuple(out) if out is not None and len(out) >= 2 else None
    m = _known(a2[-2], out2[-2] if out2 else None)
    n = _known(b2[-1], out2[-1] if out2 else None)
    k = _known(a2[-1], b2[-2])
    batch_a, batch_b = a2[:-2], b2[:-2]
    batch_out = out2[:-2] if out2 else ()
    rank = max(len(batch_a), len(batch_b), len(batch_out))
    batch = 1
    for i in range(1, rank + 1):
        sizes = [d[-i] for d in (batch_a, batch_b, batch_out) if len(d) >= i]
        batch *= max(_size(d) for d in sizes)
    return batch * m * k * n


def _known(*candidates: Dim | None) -> int:
    """The first concrete size among candidates, else 1."""
    for dim in candidates:
        if isinstance(dim, int) and dim > 0:
            return dim
    return 1
