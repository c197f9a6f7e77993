"""Per-block error: how far each repeated block's output (a decoder layer's) drifts
between the float and the quantized model, as an SQNR in dB.

The blocks are the graph module's repeated runs (``repeated_blocks.find_runs``: GPT-2's
``h.0`` … ``h.N``, tiny_lm's ``blocks.0`` …), outermost ones only; a block's output is
the last tensor it writes that something outside it reads. The figures come from the
same activations the per-node error table collects, so no extra inference runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from workbench.core.io.loaded import LoadedModel


@dataclass
class Block:
    label: str  # "blocks.0"
    tensor: str  # its output, by name
    nodes: list[str] = field(default_factory=list)  # ONNX node names inside it


@dataclass
class BlockError:
    block: str
    tensor: str
    sqnr_db: float  # float vs quantized model at the block's output
    error: float  # the same as noise / signal
    nodes: list[str] = field(default_factory=list)


def decoder_blocks(model: LoadedModel) -> list[Block]:
    """The outermost repeated blocks of an ONNX ``model``, in model order (empty when
    its graph repeats nothing)."""
    from workbench.core.graph import from_model
    from workbench.core.graph.hierarchy import Hierarchy
    from workbench.core.graph.repeated_blocks import find_runs

    graph = from_model(model)
    members = [m for run in find_runs(Hierarchy(graph), min_nodes=0) for m in run.members]
    outer = [m for m in members if not any(o != m and m[: len(o)] == o for o in members)]
    blocks = []
    outputs = set(graph.outputs)
    for path in outer:
        inside = [n for n in graph.nodes if tuple(n.scope[: len(path)]) == path]
        written = {t for n in inside for t in n.outputs}
        names = {n.name for n in inside}
        read_outside = {
            t for n in graph.nodes if n.name not in names for t in n.inputs if t in written
        }
        leaving = [t for n in inside for t in n.outputs if t in read_outside or t in outputs]
        if leaving:
            blocks.append(Block("/".join(path), leaving[-1], sorted(names)))
    return blocks


def block_errors(blocks: list[Block], float_acts: dict, quant_acts: dict) -> list[BlockError]:
    """Each block's output compared (ORT's SQNR over all samples), in model order."""
    from onnxruntime.quantization.qdq_loss_debug import (
        compute_signal_to_quantization_noice_ratio as sqnr,
    )

    rows = []
    for block in blocks:
        ref, got = float_acts.get(block.tensor), quant_acts.get(block.tensor)
        if not ref or not got or [r.shape for r in ref] != [g.shape for g in got]:
            continue
        db = float(sqnr([r.astype("float32") for r in ref], [g.astype("float32") for g in got]))
        error = 10 ** (-db / 20.0) if math.isfinite(db) else 0.0
        rows.append(BlockError(block.label, block.tensor, db, error, list(block.nodes)))
    return rows
