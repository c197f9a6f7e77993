"""Quantization passes on ONNX Runtime and torch.ao, and the per-node error table.

- ``quantize-static``: ORT static INT8 in QDQ format, calibrated on the variant's data
- ``quantize-dynamic``: ORT dynamic INT8 (MatMul/Attention/LSTM-heavy models)
- ``quantize-fp16``: float16 for GPUs (onnxruntime.transformers.float16)
- ``quantize-int4``: ORT weight-only INT4 (MatMulNBits: RTN, HQQ or GPTQ), for LMs
- ``quantize-torch-dynamic``: torch.ao.quantization.quantize_dynamic (Linear/LSTM)

``workflow.quantize_variant`` runs one with before/after measurements (what the CLI
and the wizard call). Importing this package imports neither torch nor onnxruntime.
"""

from __future__ import annotations

from workbench.core.compress.quantization.configs import (
    DynamicInt8Config,
    Fp16Config,
    Int4Config,
    StaticInt8Config,
    TorchDynamicConfig,
)
from workbench.core.registry import PassEntry

# --method NAME (CLI, wizard) -> the pass's registered name
METHODS = {
    "static": "quantize-static",
    "dynamic": "quantize-dynamic",
    "fp16": "quantize-fp16",
    "torch-dynamic": "quantize-torch-dynamic",
    "int4": "quantize-int4",
}

# --method NAME -> its config class (the CLI's flags and the wizard's forms)
CONFIGS: dict[str, type] = {
    "static": StaticInt8Config,
    "dynamic": DynamicInt8Config,
    "fp16": Fp16Config,
    "torch-dynamic": TorchDynamicConfig,
    "int4": Int4Config,
}

_HERE = "workbench.core.compress.quantization"
# Declarations for workbench.core.compress.BUILTIN_PASSES (listing them imports nothing).
QUANTIZATION_PASSES = (
    PassEntry(
        "quantize-static",
        f"{_HERE}.ort_passes:OrtStaticInt8",
        "Static INT8 (ONNX Runtime, QDQ)",
        "8-bit weights and activations, ranges calibrated on your data: about 4x smaller "
        "and 2-4x faster for CNNs on CPUs with VNNI or AMX.",
    ),
    PassEntry(
        "quantize-dynamic",
        f"{_HERE}.ort_passes:OrtDynamicInt8",
        "Dynamic INT8 (ONNX Runtime)",
        "8-bit MatMul weights, activations quantized as the model runs; no calibration. "
        "For transformers and Linear-heavy models on CPUs.",
    ),
    PassEntry(
        "quantize-fp16",
        f"{_HERE}.ort_passes:Fp16Conversion",
        "Float16 (for GPUs)",
        "16-bit float weights and compute: half the size, faster on GPUs with tensor cores.",
    ),
    PassEntry(
        "quantize-int4",
        f"{_HERE}.int4:OrtInt4WeightOnly",
        "INT4 weight-only (ONNX Runtime, MatMulNBits)",
        "4-bit MatMul weights in blocks with their own scales, activations in float: "
        "about 6x smaller weights for language models, little perplexity lost.",
    ),
    PassEntry(
        "quantize-torch-dynamic",
        f"{_HERE}.torch_dynamic:TorchDynamicInt8",
        "Dynamic INT8 (PyTorch)",
        "torch.ao dynamic quantization of Linear/LSTM layers; stays a PyTorch model.",
    ),
)

__all__ = [
    "CONFIGS",
    "METHODS",
    "QUANTIZATION_PASSES",
    "DynamicInt8Config",
    "Fp16Config",
    "Int4Config",
    "StaticInt8Config",
    "TorchDynamicConfig",
]
