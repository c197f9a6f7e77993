"""Where the time goes: ONNX Runtime's session profiler as per-node and per-op tables.

The profiler writes a Chrome-trace JSON with one ``model_run`` event per run and one
``*_kernel_time`` event per node executed. Warm-up runs are profiled too (the profiler
starts with the session), so node events are assigned to runs by timestamp and the
warm-up runs dropped. ``attribute_to_graph`` maps the runtime's node names (after
fusions such as Conv+Relu, renamed by the layout pass) back to the model's own nodes
for the graph's "latency share" overlay.
"""

from __future__ import annotations

import bisect
import json
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from workbench.core.context import RunContext
from workbench.core.measure.metrics import NodeTime, OpTypeTime, ProfileTable
from workbench.core.measure.providers import create_session, quiet_session_options
from workbench.core.measure.runners import onnx_for

KERNEL_SUFFIX = "_kernel_time"
# Suffixes ORT's graph transformers append to the tensor a rewritten node is named after.
RENAMED_SUFFIXES = ("_nchwc",)
# Ops ORT fuses into the preceding heavy op; their time belongs to that op.
FUSED_TAILS = {
    "Relu",
    "Clip",
    "LeakyRelu",
    "Sigmoid",
    "HardSigmoid",
    "Tanh",
    "Add",
    "Mul",
    "BatchNormalization",
    "Sum",
}
HEAVY = {"Conv", "ConvTranspose", "Gemm", "MatMul", "QLinearConv", "QLinearMatMul"}


def profile_model(
    loaded: Any,
    feed: dict[str, Any],
    *,
    label: str,
    device: str = "cpu",
    threads: int | None = None,
    runs: int = 20,
    warmup: int = 5,
    optimization: str = "all",
    ctx: RunContext | None = None,
    span: tuple[float, float] = (0.0, 1.0),
) -> ProfileTable:
    """Profile ``runs`` runs of the model on ``feed`` (after ``warmup`` runs).

    ``optimization`` is ONNX Runtime's graph optimisation level: "all" (what the
    benchmark times; node names are the optimised graph's), or "basic"/"disable",
    whose node names are the model's own at the price of timing a less fused graph.
    """
    import onnxruntime as ort

    ctx = ctx or RunContext()
    levels = {
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    }
    with tempfile.TemporaryDirectory(prefix="workbench-profile-") as folder:
        options = quiet_session_options(threads)
        options.graph_optimization_level = levels[optimization]
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(folder) / "ort")
        session = create_session(onnx_for(loaded, label=label), device=device, options=options)
        names = [i.name for i in session.get_inputs()]
        prepared = {name: feed[name] for name in names}
        low, high = span
        total = warmup + runs
        for index in range(total):
            ctx.check()
            session.run(None, prepared)
            ctx.report(low + (high - low) * (index + 1) / total, f"{label}: profiling")
        trace = Path(session.end_profiling())
        events = json.loads(trace.read_text())
    return table_from_trace(events, skip_runs=warmup, optimization=optimization)


def table_from_trace(
    events: list[dict[str, Any]], *, skip_runs: int = 0, optimization: str = "all"
) -> ProfileTable:
    """Per-node and per-op-type mean times from profiler events, after ``skip_runs``."""
    runs = sorted((e for e in events if e.get("name") == "model_run"), key=lambda e: e["ts"])
    kept = runs[skip_runs:] or runs
    starts = [r["ts"] for r in kept]
    per_node: dict[str, float] = defaultdict(float)
    per_run = [0.0] * len(kept)
    info: dict[str, tuple[str, str]] = {}
    for event in events:
        name = event.get("name", "")
        if event.get("cat") != "Node" or not name.endswith(KERNEL_SUFFIX):
            continue
        slot = bisect.bisect_right(starts, event["ts"]) - 1
        if slot < 0 or event["ts"] > kept[slot]["ts"] + kept[slot]["dur"]:
            continue  # a warm-up run's node
        node = name[: -len(KERNEL_SUFFIX)]
        per_node[node] += event["dur"]
        per_run[slot] += event["dur"]
        args = event.get("args", {})
        info[node] = (args.get("op_name", "?"), args.get("provider", "?"))
    count = max(1, len(kept))
    total_us = sum(per_node.values())
    nodes = [
        NodeTime(
            name=node,
            op_type=info[node][0],
            provider=info[node][1],
            mean_ms=us / count / 1e3,
            share=us / total_us if total_us else 0.0,
        )
        for node, us in sorted(per_node.items(), key=lambda item: -item[1])
    ]
    by_op: dict[str, list[NodeTime]] = defaultdict(list)
    for node in nodes:
        by_op[node.op_type].append(node)
    op_types = [
        OpTypeTime(op, len(group), sum(n.mean_ms for n in group), sum(n.share for n in group))
        for op, group in sorted(by_op.items(), key=lambda item: -sum(n.share for n in item[1]))
    ]
    # Medians, like the benchmark's p50: one run disturbed by another process moves a
    # mean a lot on a shared machine, a median hardly.
    return ProfileTable(
        runs=len(kept),
        nodes=nodes,
        op_types=op_types,
        node_total_ms=_median(per_run) / 1e3,
        run_ms=_median([r["dur"] for r in kept]) / 1e3,
        optimization=optimization,
    )


def _median(values: list[float]) -> float:
    import statistics

    return float(statistics.median(values)) if values else 0.0


def attribute_to_graph(table: ProfileTable, graph: Any) -> dict[str, float]:
    """Graph node id -> share of the profiled time, for the "latency share" overlay.

    A runtime node is matched by name; failing that (ORT names rewritten nodes after
    their output tensor, e.g. ``/stem/Relu_output_0_nchwc``) by that tensor's producer,
    then walked back over fused activations/adds to the Conv/Gemm/MatMul that did the
    work. Time that matches nothing (layout reorders) is left out, so shares sum to
    at most 1 and ``1 - sum`` is the unattributed rest. Node names match when the graph
    is the ONNX model that was profiled (an ONNX variant, or a PyTorch variant's export).
    Feed the result to the graph view's ``set_overlay("Latency share", shares, ...)``.
    """
    by_name = {node.name: node for node in graph.nodes if node.name}
    producer = {tensor: node for node in graph.nodes for tensor in node.outputs}
    shares: dict[str, float] = defaultdict(float)
    for entry in table.nodes:
        node = by_name.get(entry.name)
        if node is None:
            tensor = entry.name
            for suffix in RENAMED_SUFFIXES:
                tensor = tensor.removesuffix(suffix)
            node = producer.get(tensor)
            if node is not None and entry.op_type in HEAVY:
                node = _heavy_ancestor(node, producer)
        if node is not None:
            shares[node.id] += entry.share
    return dict(shares)


def _heavy_ancestor(node: Any, producer: dict[str, Any], depth: int = 4) -> Any:
    """The Conv/Gemm a fused chain (Conv -> Add -> Relu) starts from, or ``node`` itself."""
    current = node
    for _ in range(depth):
        if current.op_type in HEAVY:
            return current
        if current.op_type not in FUSED_TAILS:
            return node
        parents = [producer[t] for t in current.inputs if t in producer]
        heavy = [p for p in parents if p.op_type in HEAVY]
        if heavy:
            return heavy[0]
        if not parents:
            return node
        current = parents[0]
    return node
