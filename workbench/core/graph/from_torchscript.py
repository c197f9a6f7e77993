"""Translate a TorchScript module into the one graph model by walking its inlined graph.

TorchScript cannot go through torch.export (``from_torch.py`` handles ``nn.Module`` and
``.pt2``); the nodes here are what TorchScript itself runs, and shapes and MACs come
from replaying each node on meta tensors under the same flop counter.
"""

from __future__ import annotations

import re
from typing import Any

from workbench.core.graph.from_torch import (
    example_inputs,
    flop_counter,
    module_weights,
    short_reason,
    tensor_info,
)
from workbench.core.graph.model import Graph, Node, TensorInfo
from workbench.core.io.loaded import InputSpec


def from_torchscript(module: Any, inputs: list[InputSpec], name: str = "") -> Graph:
    """Describe a TorchScript module by walking its inlined graph.

    TorchScript cannot go through torch.export, so this counts what TorchScript itself
    runs: every top-level non-``prim::`` node of ``module.inlined_graph``. ``prim::``
    bookkeeping (constants, attribute reads, list/tuple packing) is not an operation and
    is skipped; ops inside control-flow blocks (``prim::If``/``prim::Loop``) are not
    expanded (noted). Scopes come from the module hierarchy TorchScript records on each
    node (or, when a file lost it, from the weights a node reads). Shapes come from
    running the graph once on example inputs with every node's values exposed as extra
    outputs; each node is then replayed on meta tensors under FlopCounterMode for MACs.
    """
    import torch

    name = name or getattr(module, "original_name", None) or type(module).__name__
    graph = Graph(
        name=name, framework="pytorch", producer=f"torch {torch.__version__} (TorchScript)"
    )
    graph.weights = module_weights(module)
    ts_graph = module.inlined_graph  # a fresh copy: safe to extend for probing
    ts_inputs = list(ts_graph.inputs())
    weight_of = _attribute_weights(ts_graph, ts_inputs[0], graph.weights)

    graph.inputs = [v.debugName() for v in ts_inputs[1:]]
    graph.outputs = [v.debugName() for v in ts_graph.outputs()]
    counted, blocked, seen = [], 0, {}
    for ts_node in ts_graph.nodes():
        kind = ts_node.kind()
        if kind in ("prim::If", "prim::Loop") and any(
            not n.kind().startswith("prim::") for b in ts_node.blocks() for n in b.nodes()
        ):
            blocked += 1
        if kind.startswith("prim::"):
            continue
        namespace, _, op = kind.partition("::")
        op_type = op if namespace == "aten" else f"{namespace}.{op}"
        index = seen.get(op_type, 0)
        seen[op_type] = index + 1
        node_id = op_type if index == 0 else f"{op_type}_{index}"
        node_inputs = [weight_of.get(v.debugName(), v.debugName()) for v in ts_node.inputs()]
        read = list(dict.fromkeys(t for t in node_inputs if t in graph.weights))
        scope = _hierarchy_scope(ts_node.getModuleHierarchy())
        if not scope and read:
            scope = tuple(read[0].split(".")[:-1])
        graph.nodes.append(
            Node(
                id=node_id,
                name=node_id,
                op_type=op_type,
                scope=scope,
                inputs=node_inputs,
                outputs=[v.debugName() for v in ts_node.outputs()],
                weights=read,
                params=sum(graph.weights[w].numel for w in read),
            )
        )
        counted.append(ts_node)
    if blocked:
        graph.notes.append(
            f"{blocked} TorchScript control-flow block(s) (prim::If/Loop) are not expanded"
        )
    for weight in graph.weights.values():
        graph.tensors[weight.name] = TensorInfo(weight.name, weight.shape, weight.dtype)
    if not inputs:
        graph.notes.append("no input shapes given: shapes and MACs are not known")
        return graph
    _probe_torchscript(module, ts_graph, counted, inputs, graph)
    return graph


def _attribute_weights(ts_graph: Any, self_value: Any, weights: dict[str, Any]) -> dict[str, str]:
    """Value name -> weight name, following ``prim::GetAttr`` chains from ``self``."""
    paths = {self_value.debugName(): ""}
    weight_of = {}
    for ts_node in ts_graph.nodes():
        if ts_node.kind() != "prim::GetAttr":
            continue
        parent = paths.get(ts_node.input().debugName())
        if parent is None:
            continue
        path = f"{parent}.{ts_node.s('name')}".lstrip(".")
        out = ts_node.output().debugName()
        paths[out] = path
        if path in weights:
            weight_of[out] = path
    return weight_of


def _hierarchy_scope(hierarchy: str) -> tuple[str, ...]:
    """ "layer1(Sequential).0(Conv2d)" -> ("layer1", "0").

    Type names may hold dots; TorchScript marks calls of a module's own methods "SELF"
    and of free functions "UNKNOWN_INSTANCE", which are not module names.
    """
    names, current, depth = [], "", 0
    for char in hierarchy:
        if char in "()":
            if char == "(" and depth == 0:
                names.append(current.strip("."))
                current = ""
            depth += 1 if char == "(" else -1
        elif depth == 0:
            current += char
    return tuple(n for n in names if n and n not in ("SELF", "UNKNOWN_INSTANCE"))


def _probe_torchscript(
    module: Any, ts_graph: Any, counted: list[Any], inputs: list[InputSpec], graph: Graph
) -> None:
    """Run the graph once exposing every counted node's values; fill shapes and MACs."""
    import torch

    values = list({v.debugName(): v for n in counted for v in (*n.inputs(), *n.outputs())}.values())
    outputs = list(ts_graph.outputs())
    bundle = ts_graph.create("prim::TupleConstruct", outputs + values)
    bundle.output().setType(torch._C.TupleType([v.type() for v in outputs + values]))
    bundle.insertBefore(ts_graph.return_node())
    for _ in outputs:
        ts_graph.eraseOutput(0)
    ts_graph.registerOutput(bundle.output())
    was_training = module.training
    try:
        probe = torch._C._create_function_from_graph("workbench_probe", ts_graph)
        module.eval()
        with torch.no_grad():
            results = probe(module._c, *example_inputs(inputs))
    except Exception as exc:
        graph.notes.append(f"TorchScript shapes and MACs are not known: {short_reason(exc)}")
        return
    finally:
        module.train(was_training)
    found = {v.debugName(): r for v, r in zip(values, results[len(outputs) :], strict=True)}
    for value_name, result in found.items():
        if isinstance(result, torch.Tensor):
            graph.tensors.setdefault(value_name, tensor_info(value_name, result))
    with flop_counter() as counter:
        for node, ts_node in zip(graph.nodes, counted, strict=True):
            before = counter.get_total_flops()
            if _replay_on_meta(ts_node, found):
                node.macs = (counter.get_total_flops() - before) // 2


def _replay_on_meta(ts_node: Any, found: dict[str, Any]) -> bool:
    """Call the node's aten overload again on meta tensors of the same shapes."""
    import torch

    match = re.match(r"(\w+)::(\w+)(?:\.(\w+))?\(", ts_node.schema())
    if match is None:
        return False
    namespace, op, overload = match.groups()
    try:
        packet = getattr(getattr(torch.ops, namespace), op)
        target = getattr(packet, overload or "default")
        args = [found[v.debugName()] for v in ts_node.inputs()]
        meta = torch.utils._pytree.tree_map_only(torch.Tensor, lambda t: t.to("meta"), args)
        target(*meta)
    except Exception:  # ops without meta kernels or odd arguments: no MACs for them
        return False
    return True
