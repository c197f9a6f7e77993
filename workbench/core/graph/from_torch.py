"""Translate PyTorch models into the one graph model.

- ``nn.Module``: ``torch.export`` gives an aten-level graph; its ``call_function``
  nodes are our nodes, ``nn_module_stack`` gives each node its module path, and
  ``node.meta["val"]`` its output shape.
- ``.pt2`` (an ExportedProgram) goes the same way, with example inputs taken from the
  program itself.
- TorchScript cannot go through torch.export; its inlined graph is walked instead
  (``from_torchscript.py``, which shares the helpers here).

MACs always come from ``torch.utils.flop_counter.FlopCounterMode`` run on each node
(flops / 2), never from formulas of our own. The parameter count is what torch counts:
``sum(p.numel() for p in module.parameters())``; buffers are WeightInfos with
``trainable=False``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from workbench.core.errors import ModelLoadError
from workbench.core.graph.model import Dim, Graph, Node, TensorInfo, WeightInfo
from workbench.core.io.loaded import InputSpec
from workbench.core.torch_tracing import TRACING

SEED = 0
INT_HIGH = 2  # integer example inputs are drawn from [0, 2): valid token ids and masks


def short_reason(exc: BaseException) -> str:
    """The first line of an exception, for one-line messages."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def example_inputs(inputs: Sequence[InputSpec]) -> tuple[Any, ...]:
    """Seeded example tensors for InputSpecs (floats ~ N(0,1), integers in {0, 1})."""
    import torch

    generator = torch.Generator().manual_seed(SEED)
    tensors = []
    for spec in inputs:
        dtype = getattr(torch, spec.dtype)
        if dtype.is_floating_point:
            tensors.append(torch.randn(spec.shape, generator=generator, dtype=dtype))
        else:
            values = torch.randint(0, INT_HIGH, spec.shape, generator=generator)
            tensors.append(values.to(dtype))
    return tuple(tensors)


def from_torch(module: Any, inputs: list[InputSpec], name: str = "") -> Graph:
    """Describe an ``nn.Module`` by exporting it with ``torch.export`` at the given inputs."""
    import torch

    name = name or type(module).__name__
    if not inputs:
        raise ModelLoadError(f"could not trace {name} with torch.export: no input shape is known")
    args = example_inputs(inputs)
    with TRACING:  # another thread may be exporting the same module
        was_training = module.training
        module.eval()
        try:
            ep = torch.export.export(module, args)
        except Exception as exc:
            raise ModelLoadError(
                f"could not trace {name} with torch.export: {short_reason(exc)}", details=str(exc)
            ) from exc
        finally:
            module.train(was_training)
    return _from_exported(ep, args, name, module=module)


def from_exported_program(ep: Any, name: str = "", inputs: list[InputSpec] | None = None) -> Graph:
    """Describe a ``torch.export`` ExportedProgram (a loaded ``.pt2``).

    MACs are counted at ``inputs`` when given (a program with dynamic dims accepts other
    shapes), else at the example inputs saved in the program.
    """
    args = example_inputs(inputs) if inputs else _program_example_args(ep)
    return _from_exported(ep, args, name or "exported_program", module=None)


def _from_exported(ep: Any, args: tuple[Any, ...], name: str, module: Any) -> Graph:
    import torch
    from torch.export.graph_signature import InputKind, OutputKind

    graph = Graph(name=name, framework="pytorch", producer=f"torch {torch.__version__}")
    if module is not None:
        graph.weights = module_weights(module)
        canonical = _canonical_names(module)
    else:
        graph.weights = _program_weights(ep)
        canonical = {}

    weight_of: dict[str, str] = {}  # placeholder name -> weight name
    placeholder_values: dict[str, Any] = {}
    user_args = iter(args)
    for spec in ep.graph_signature.input_specs:
        placeholder = spec.arg.name
        if spec.kind in (InputKind.PARAMETER, InputKind.BUFFER):
            weight_of[placeholder] = canonical.get(spec.target, spec.target)
            source = ep.state_dict if spec.target in ep.state_dict else ep.constants
            placeholder_values[placeholder] = source[spec.target]
        elif spec.kind == InputKind.USER_INPUT:
            placeholder_values[placeholder] = next(user_args, None)
            graph.inputs.append(placeholder)
        elif spec.target is not None and spec.target in ep.constants:
            placeholder_values[placeholder] = ep.constants[spec.target]
    graph.outputs = [
        s.arg.name for s in ep.graph_signature.output_specs if s.kind == OutputKind.USER_OUTPUT
    ]

    for weight in graph.weights.values():
        graph.tensors[weight.name] = TensorInfo(weight.name, weight.shape, weight.dtype)
    for fx_node in ep.graph.nodes:
        if fx_node.op == "placeholder" and fx_node.name not in weight_of:
            graph.tensors[fx_node.name] = tensor_info(fx_node.name, fx_node.meta.get("val"))
        elif fx_node.op == "call_function":
            graph.tensors[fx_node.name] = tensor_info(fx_node.name, fx_node.meta.get("val"))
            graph.nodes.append(_node(fx_node, weight_of, graph.weights))

    macs = _count_macs(ep, placeholder_values, graph.notes)
    for node in graph.nodes:
        node.macs = macs.get(node.id, 0)
    return graph


def _node(fx_node: Any, weight_of: dict[str, str], weights: dict[str, WeightInfo]) -> Node:
    inputs = [weight_of.get(a.name, a.name) for a in fx_node.all_input_nodes]
    read = list(dict.fromkeys(w for w in inputs if w in weights))
    scope, name = _scope_and_name(fx_node.meta.get("nn_module_stack"), fx_node.name)
    return Node(
        id=fx_node.name,
        name=name,
        op_type=op_name(fx_node.target),
        scope=scope,
        attributes=_attributes(fx_node),
        inputs=inputs,
        outputs=[fx_node.name],
        weights=read,
        params=sum(weights[w].numel for w in read),
    )


def op_name(target: Any) -> str:
    """A readable op name: aten.conv2d.default -> "conv2d", operator.getitem -> "getitem"."""
    schema = getattr(target, "_schema", None)
    if schema is not None:
        namespace, _, op = schema.name.partition("::")
        return op if namespace == "aten" else f"{namespace}.{op}"
    return getattr(target, "__name__", None) or getattr(target, "name", None) or str(target)


def _scope(stack: dict[str, tuple[str, Any]] | None) -> tuple[str, ...]:
    """The innermost module path, "layer1.0.conv1" -> ("layer1", "0", "conv1")."""
    if not stack:
        return ()
    path = list(stack.values())[-1][0]
    path = re.sub(r"^L\['self'\]\.?", "", path)  # strict-mode paths
    path = re.sub(r"\[['\"]?([^\]'\"]+)['\"]?\]", r".\1", path).strip(".")
    return tuple(p for p in path.split(".") if p)


_CONTAINERS = ("Sequential", "ModuleList", "ModuleDict")


def _scope_and_name(stack: dict[str, tuple[str, Any]] | None, fx_name: str) -> tuple:
    """Group by container modules; name a built-in leaf module's op by the module's path.

    As in Netron, ``layer1.0.conv1`` is a node inside the group ``layer1/0``, not a group
    of its own holding one ``conv2d``; ops written in a block's own forward (a residual
    ``add``) are named ``layer1.0/add`` inside that block's group.
    """
    scope = _scope(stack)
    if not scope or not stack:
        return scope, fx_name
    module_type = list(stack.values())[-1][1]
    qualified = (
        module_type
        if isinstance(module_type, str)
        else (
            f"{getattr(module_type, '__module__', '')}.{getattr(module_type, '__qualname__', '')}"
        )
    )
    is_leaf = qualified.startswith("torch.nn.") and not qualified.endswith(_CONTAINERS)
    if is_leaf:
        return scope[:-1], ".".join(scope)
    return scope, f"{'.'.join(scope)}/{fx_name}"


def _attributes(fx_node: Any) -> dict[str, Any]:
    """Non-tensor arguments by their schema names (stride, padding, dim, ...)."""
    import torch

    names = (
        [a.name for a in fx_node.target._schema.arguments]
        if hasattr(fx_node.target, "_schema")
        else []
    )
    attributes: dict[str, Any] = {}
    for index, value in enumerate(fx_node.args):
        key = names[index] if index < len(names) else f"arg{index}"
        attributes[key] = value
    attributes.update(fx_node.kwargs)
    plain = {}
    for key, value in attributes.items():
        if isinstance(value, torch.fx.Node) or (
            isinstance(value, (list, tuple)) and any(isinstance(v, torch.fx.Node) for v in value)
        ):
            continue
        plain[key] = _plain(value)
    return plain


def _plain(value: Any) -> Any:
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value).removeprefix("torch.")


def tensor_info(name: str, value: Any) -> TensorInfo:
    import torch

    if isinstance(value, torch.Tensor):
        dims: tuple[Dim, ...] = tuple(d if isinstance(d, int) else str(d) for d in value.shape)
        return TensorInfo(name, dims, str(value.dtype).removeprefix("torch."))
    return TensorInfo(name, None, None)


def _weight_info(name: str, tensor: Any, trainable: bool) -> WeightInfo:
    dtype = str(tensor.dtype).removeprefix("torch.")
    return WeightInfo(name, tuple(tensor.shape), dtype, tensor.numel(), trainable)


def module_weights(module: Any) -> dict[str, WeightInfo]:
    """Parameters (trainable) and buffers (not), once each, named as in the state_dict."""
    weights: dict[str, WeightInfo] = {}
    for items, trainable in ((module.named_parameters(), True), (module.named_buffers(), False)):
        for weight_name, tensor in items:
            weights[weight_name] = _weight_info(weight_name, tensor, trainable)
    return weights


def _canonical_names(module: Any) -> dict[str, str]:
    """Every name of a tied tensor -> the one name ``named_parameters`` keeps."""
    first: dict[int, str] = {}
    aliases: dict[str, str] = {}
    for getter in (module.named_parameters, module.named_buffers):
        for weight_name, tensor in getter(remove_duplicate=False):
            aliases[weight_name] = first.setdefault(id(tensor), weight_name)
    return aliases


def _program_weights(ep: Any) -> dict[str, WeightInfo]:
    from torch.export.graph_signature import InputKind

    weights: dict[str, WeightInfo] = {}
    for spec in ep.graph_signature.input_specs:
        if spec.kind not in (InputKind.PARAMETER, InputKind.BUFFER):
            continue
        tensor = ep.state_dict.get(spec.target)
        if tensor is None:
            tensor = ep.constants[spec.target]
        trainable = spec.kind == InputKind.PARAMETER
        weights[spec.target] = _weight_info(spec.target, tensor, trainable)
    return weights


def _program_example_args(ep: Any) -> tuple[Any, ...]:
    """The program's saved example inputs, or seeded tensors shaped like its placeholders."""
    import torch
    from torch.export.graph_signature import InputKind

    saved = getattr(ep, "example_inputs", None)
    if saved is not None:
        args, kwargs = saved
        flat = torch.utils._pytree.tree_leaves((args, kwargs))
        if all(isinstance(x, torch.Tensor) for x in flat):
            return tuple(flat)
    specs = []
    placeholders = {n.name: n for n in ep.graph.nodes if n.op == "placeholder"}
    for spec in ep.graph_signature.input_specs:
        if spec.kind != InputKind.USER_INPUT:
            continue
        value = placeholders[spec.arg.name].meta.get("val")
        shape = tuple(_hint(d) for d in value.shape)
        specs.append(InputSpec(spec.arg.name, shape, str(value.dtype).removeprefix("torch.")))
    return example_inputs(specs)


def _hint(dim: Any) -> int:
    if isinstance(dim, int):
        return dim
    hint = getattr(getattr(dim, "node", None), "hint", None)
    return int(hint) if hint is not None else 1


def flop_counter() -> Any:
    """FlopCounterMode that also knows CPU's fused attention kernel.

    torch's registry covers the CUDA attention kernels but not
    ``_scaled_dot_product_flash_attention_for_cpu``; it gets torch's own sdpa formula.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

    def cpu_sdpa(query, key, value, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
        return sdpa_flop_count(query, key, value)

    mapping = {}
    cpu_kernel = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    if cpu_kernel is not None:
        mapping[cpu_kernel] = cpu_sdpa
    return FlopCounterMode(display=False, custom_mapping=mapping)


def _count_macs(ep: Any, placeholder_values: dict[str, Any], notes: list[str]) -> dict[str, int]:
    """Run the exported graph once, each node under the flop counter; node name -> MACs."""
    import torch

    macs: dict[str, int] = {}

    class Counting(torch.fx.Interpreter):
        def run_node(self, n: Any) -> Any:
            if n.op != "call_function":
                return super().run_node(n)
            before = counter.get_total_flops()
            result = super().run_node(n)
            macs[n.name] = (counter.get_total_flops() - before) // 2
            return result

    placeholders = [n.name for n in ep.graph.nodes if n.op == "placeholder"]
    try:
        values = [placeholder_values[p] for p in placeholders]
        with torch.no_grad(), flop_counter() as counter:
            Counting(ep.graph_module).run(*values)
    except Exception as exc:
        notes.append(f"MACs could not be counted: {short_reason(exc)}")
        return {}
    return macs
