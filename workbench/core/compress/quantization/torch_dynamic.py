"""PyTorch dynamic quantization of Linear / LSTM / GRU layers (torch.ao.quantization).

``quantize_dynamic`` swaps the chosen layers for int8 (or float16) kernels that quantize
activations on the fly: no calibration, the model stays a PyTorch module, and it runs
in PyTorch on the CPU (the quantized kernels are CPU-only). Layers are chosen by name,
so ``exclude`` keeps named modules (and everything under them) in float.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import warnings
from typing import Any

from workbench.core.compress.base import Pass, PassResult
from workbench.core.compress.quantization.common import first_line
from workbench.core.compress.quantization.configs import TorchDynamicConfig
from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel


def _layer_types(kinds: list[str]) -> tuple[type, ...]:
    from torch import nn

    table = {"Linear": nn.Linear, "LSTM": nn.LSTM, "GRU": nn.GRU}
    return tuple(table[k] for k in kinds)


def _check_excluded(module: Any, exclude: list[str]) -> None:
    names = [name for name, _ in module.named_modules() if name]
    for name in exclude:
        if name not in names:
            close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            raise WorkbenchError(f"exclude: the model has no module named {name!r}{hint}")


def _excluded(name: str, exclude: list[str]) -> bool:
    return any(name == e or name.startswith(e + ".") for e in exclude)


class TorchDynamicInt8(Pass):
    name = "quantize-torch-dynamic"
    title = "Dynamic INT8 (PyTorch)"
    description = (
        "Replaces Linear and LSTM layers with PyTorch's int8 versions, which quantize "
        "activations as they run: no calibration data needed, and the model stays a PyTorch "
        "model for PyTorch deployment on CPUs (fbgemm/oneDNN on x86, qnnpack on ARM). Linear "
        "and LSTM weights become about 4x smaller; speed gains grow with layer size."
    )
    config_class = TorchDynamicConfig
    frameworks = ("pytorch",)

    def apply(self, model: LoadedModel, config: Any, ctx: RunContext) -> PassResult:
        import torch
        from torch.ao.quantization import (
            default_dynamic_qconfig,
            float16_dynamic_qconfig,
            quantize_dynamic,
        )

        ctx.report(0.0, "copying the model")
        module = copy.deepcopy(model.module).cpu().eval()  # the input is never changed
        _check_excluded(module, config.exclude)
        wanted = _layer_types(config.layers)
        targets = [
            name
            for name, layer in module.named_modules()
            if name and isinstance(layer, wanted) and not _excluded(name, config.exclude)
        ]
        if not targets:
            raise WorkbenchError(
                f"{model.display_name} has no {' or '.join(config.layers)} layers to quantize "
                "(outside the excluded modules)"
            )
        notes: list[str] = []
        if config.engine != "auto":
            if config.engine not in torch.backends.quantized.supported_engines:
                raise WorkbenchError(f"the {config.engine} quantized engine is not available here")
            torch.backends.quantized.engine = config.engine  # process-wide, as torch has it
            notes.append(f"quantized engine set to {config.engine} for this process")
        qconfig = default_dynamic_qconfig if config.dtype == "qint8" else float16_dynamic_qconfig
        dtype = torch.qint8 if config.dtype == "qint8" else torch.float16
        ctx.check()
        ctx.report(0.3, f"quantizing {len(targets)} layers")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao's deprecation notice, not for users
            quantized = quantize_dynamic(
                module, {name: qconfig for name in targets}, dtype=dtype, inplace=True
            )
        swapped = [
            name
            for name, layer in quantized.named_modules()
            if name in targets and type(layer).__module__.startswith("torch.ao.nn.quantized")
        ]
        _check_runs(quantized, model)
        notes.append(
            f"quantize-torch-dynamic: {len(swapped)} of {len(targets)} chosen layers in "
            f"{config.dtype} (torch.ao.quantization.quantize_dynamic, engine "
            f"{torch.backends.quantized.engine})"
        )
        skipped = sorted(set(targets) - set(swapped))
        if skipped:
            notes.append(
                "left in float (no dynamic kernel for their class): " + ", ".join(skipped[:5])
            )
        result = dataclasses.replace(
            model,
            module=quantized,
            exported_program=None,
            inputs=list(model.inputs),
            notes=[*model.notes, *notes],
        )
        ctx.report(1.0, "quantized")
        return PassResult(
            model=result,
            metrics={"quantized_layers": swapped, "nodes_kept_float": list(config.exclude)},
            notes=[
                *notes,
                "Runs in PyTorch on the CPU; ONNX export of dynamically quantized layers is "
                "not supported by torch.onnx (use quantize-dynamic on the ONNX model for ORT).",
            ],
        )


def _check_runs(module: Any, model: LoadedModel) -> None:
    """One forward on example inputs: some layers (a TransformerEncoderLayer's fast path
    reads ``linear1.weight.device``) break once their Linears are swapped."""
    import torch

    from workbench.core.measure.inputs import concrete_shapes, feed_for

    shapes = concrete_shapes(model, label=model.display_name, batch=1)
    feed = feed_for(shapes)
    args = [torch.from_numpy(feed[spec.name]) for spec in model.inputs]
    try:
        with torch.inference_mode():
            module(*args)
    except Exception as exc:
        raise WorkbenchError(
            f"{model.display_name}: the quantized model fails to run ({first_line(exc)}); "
            "keep the module holding those layers in float with exclude"
        ) from exc
