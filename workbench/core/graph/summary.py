"""The figures ``workbench inspect --json`` prints, as one JSON-serialisable dict."""

from __future__ import annotations

from typing import Any

from workbench.core.graph.model import Graph, TensorInfo
from workbench.core.io.loaded import LoadedModel
from workbench.core.named_sources import LIBRARY_PREFIXES


def summarize(graph: Graph, loaded: LoadedModel | None = None, top: int = 10) -> dict[str, Any]:
    """Describe a model in plain JSON types.

    Fields:
      name          the model's name (file name, or the graph's own name)
      format        file format ("onnx", "torchscript", "exported-program", "state-dict",
                    ...); the graph's framework when no LoadedModel is given
      framework     "onnx" or "pytorch"
      file_size     bytes on disk (0 when the model did not come from a file)
      inputs        [{"name", "shape", "dtype"}]: shape is a list whose entries are
                    ints, strings (symbolic dims such as "batch") or null (unknown);
                    the whole shape is null when even the rank is unknown
      outputs       the same for the outputs
      node_count    operations: ONNX nodes of the main graph, or torch.export's
                    call_function nodes (TorchScript: top-level aten nodes)
      op_histogram  {op_type: count}, most common first; sums to node_count
      parameters    trainable elements: torch's sum(p.numel() for p in parameters());
                    for ONNX every initializer element, as onnx counts
      buffers       elements of torch buffers (BatchNorm running stats...); 0 for ONNX
      weights_count number of weight tensors (initializers, or parameters + buffers)
      macs          multiply-accumulates of convolutions and matrix products for one
                    example input; symbolic ONNX dims count as 1 unless sizes were given
      top_layers    [{"name", "op_type", "params", "macs"}]: up to `top` nodes that
                    read weights, most parameters first (ties: most MACs)
      repeated_blocks [{"label", "count", "nodes", "params", "macs"}]: each run of
                    identical blocks the graph view folds ("blocks ×4"), with one
                    block's nodes, parameters and MACs
      opset         ONNX default-domain opset (null for torch)
      producer      the program that wrote the model ("pytorch 2.13.0", ...)
      notes         what could not be described (failed shape inference, uncounted
                    subgraphs, ...), from loading and from translation
    """
    by_params = sorted(graph.nodes, key=lambda n: (n.params, n.macs), reverse=True)[:top]
    weights = graph.weights.values()
    return {
        "name": loaded.display_name if loaded is not None else graph.name,
        "format": _format(loaded) if loaded is not None else graph.framework,
        "framework": graph.framework,
        "file_size": loaded.file_size if loaded is not None else 0,
        "inputs": [_tensor(graph, name) for name in graph.inputs],
        "outputs": _outputs(graph, loaded),
        "node_count": len(graph.nodes),
        "op_histogram": graph.op_histogram(),
        "parameters": sum(w.numel for w in weights if w.trainable),
        "buffers": sum(w.numel for w in weights if not w.trainable),
        "weights_count": len(graph.weights),
        "macs": graph.macs,
        "top_layers": [
            {"name": n.name or n.id, "op_type": n.op_type, "params": n.params, "macs": n.macs}
            for n in by_params
            if n.params > 0
        ],
        "repeated_blocks": _repeated_blocks(graph),
        "opset": graph.opset,
        "producer": graph.producer,
        "notes": [*(loaded.notes if loaded is not None else []), *graph.notes],
    }


def _repeated_blocks(graph: Graph) -> list[dict[str, Any]]:
    """Per-block figures of the outermost runs the graph view folds (a decoder's layers)."""
    from workbench.core.graph.hierarchy import Hierarchy
    from workbench.core.graph.repeated_blocks import find_runs

    runs = find_runs(Hierarchy(graph))
    firsts = [run.members[0] for run in runs]
    rows = []
    for run, first in zip(runs, firsts, strict=True):
        if any(other != first and first[: len(other)] == other for other in firsts):
            continue  # a run inside another's block: the outer one says enough
        inside = [n for n in graph.nodes if tuple(n.scope[: len(first)]) == first]
        rows.append(
            {
                "label": run.label,
                "count": len(run.members),
                "nodes": len(inside),
                "params": sum(n.params for n in inside),
                "macs": sum(n.macs for n in inside),
            }
        )
    return rows


def _outputs(graph: Graph, loaded: LoadedModel | None) -> list[dict[str, Any]]:
    """The graph's outputs, under the names the model gives them (a Hugging Face model's
    ``logits``) where it names them all, rather than the tracer's node names."""
    entries = [_tensor(graph, name) for name in graph.outputs]
    names = loaded.output_names if loaded is not None else None
    if names and len(names) == len(entries):
        for entry, name in zip(entries, names, strict=True):
            entry["name"] = name
    return entries


def _tensor(graph: Graph, name: str) -> dict[str, Any]:
    info = graph.tensors.get(name) or TensorInfo(name)
    shape = None if info.shape is None else [d for d in info.shape]
    return {"name": name, "shape": shape, "dtype": info.dtype}


def _format(loaded: LoadedModel) -> str:
    """The format's name; a library backbone built fresh says which library (not "zoo")."""
    arch = loaded.arch or ""
    if loaded.format.value == "zoo" and arch.startswith(LIBRARY_PREFIXES):
        return {"tv": "torchvision", "timm": "timm"}[arch.partition(":")[0]]
    return loaded.format.value
