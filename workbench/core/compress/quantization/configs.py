"""The settings of each quantization pass, declared once (form, CLI flags, recipe step).

Fields shared by several passes have the same name and meaning in each (``per_channel``,
``reduce_range``, ``exclude``), so ``workbench quantize`` offers one flag for all of them.
Defaults are ONNX Runtime's recommendations for x86 CPUs: unsigned 8-bit activations
with signed 8-bit weights (U8S8, what VNNI's dot-product instruction takes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

CALIBRATION_METHODS = ("minmax", "entropy", "percentile")
EXCLUDE_HELP = (
    "node names to keep in float (the worst rows of the per-node error table); names "
    "are those of the pre-processed model the error table shows"
)


EXCLUDE_META = {"help": EXCLUDE_HELP, "label": "Keep in float", "several": True,
                "metavar": "NODE", "aliases": ("--keep-float",)}  # fmt: skip
ERROR_META = {
    "help": "samples for the per-node error table (float vs quantized activations); 0 skips it",
    "min": 0,
    "max": 10_000,
    "label": "Error samples",
}
# Read by workflow.quantize_variant (it quantizes twice), not by the pass: the step it
# records lists the nodes in exclude and sets this back to 0, so a recipe remakes the model.
AUTO_EXCLUDE_META = {
    "help": "keep the K nodes adding the most error in float: quantize once, take the "
    "per-node error table's worst K, quantize again, and report the accuracy gained and "
    "the speed lost (0: off)",
    "min": 0,
    "max": 100,
    "label": "Auto-exclude",
    "display": "off-at-min",
    "suffix": " worst nodes",
    "metavar": "K",
}


@dataclass
class StaticInt8Config:
    """ONNX Runtime static INT8 (QDQ): weights and activations in 8 bits, ranges calibrated."""

    # Percentile by default: on the zoo ResNet trained on shapes it kept top-1 within 0.1
    # point of FP32 where MinMax (ORT's default) lost 0.45 (test_quantization_bench.py).
    calibration: Literal["minmax", "entropy", "percentile"] = field(
        default="percentile",
        metadata={
            "help": "how activation ranges are chosen from the calibration samples: "
            "percentile clips the rarest values (robust to outliers); minmax takes the "
            "extremes; entropy minimises the information lost (KL divergence)"
        },
    )
    samples: int = field(
        default=256,
        metadata={"help": "calibration samples drawn from the training split", "min": 1,
                  "max": 100_000, "aliases": ("--calib-samples",)},
    )  # fmt: skip
    calibration_batch: int = field(
        default=16,
        metadata={"help": "samples per calibration run", "min": 1, "max": 4096},
    )
    percentile: float = field(
        default=99.999,
        metadata={"help": "percentile calibration: the share of values kept inside the range",
                  "min": 90.0, "max": 100.0},
    )  # fmt: skip
    per_channel: bool = field(
        default=True,
        metadata={"help": "one scale per output channel of each weight (more accurate, "
                  "as fast on VNNI CPUs)"},
    )  # fmt: skip
    activation_symmetric: bool = field(
        default=False,
        metadata={"help": "symmetric activation ranges (zero point 0; some accelerators "
                  "need it); asymmetric uses the 8 bits better after ReLU"},
    )  # fmt: skip
    weight_symmetric: bool = field(
        default=True, metadata={"help": "symmetric weight ranges (ORT's default for int8)"}
    )
    reduce_range: bool = field(
        default=False,
        metadata={"help": "7-bit weights: avoids overflow on CPUs without VNNI (older "
                  "AVX2); costs a little accuracy"},
    )  # fmt: skip
    activation_type: Literal["uint8", "int8"] = field(
        default="uint8", metadata={"help": "activation type (uint8 is fastest on x86)"}
    )
    weight_type: Literal["int8", "uint8"] = field(default="int8", metadata={"help": "weight type"})
    op_types: list[str] = field(
        default_factory=list,
        metadata={"help": "op types to quantize, e.g. Conv,Gemm,MatMul (empty: all that "
                  "ONNX Runtime can)", "label": "Op types"},
    )  # fmt: skip
    exclude: list[str] = field(default_factory=list, metadata=EXCLUDE_META)
    error_samples: int = field(default=32, metadata=ERROR_META)
    auto_exclude: int = field(default=0, metadata=AUTO_EXCLUDE_META)


@dataclass
class DynamicInt8Config:
    """ONNX Runtime dynamic INT8: weights stored in 8 bits, activation ranges at run time."""

    per_channel: bool = field(
        default=False, metadata={"help": "one scale per output channel of each weight"}
    )
    reduce_range: bool = field(
        default=False, metadata={"help": "7-bit weights, for CPUs without VNNI"}
    )
    weight_type: Literal["int8", "uint8"] = field(default="int8", metadata={"help": "weight type"})
    op_types: list[str] = field(
        default_factory=lambda: ["MatMul", "Attention", "LSTM"],
        metadata={"help": "op types to quantize; Conv is left out by default (dynamic "
                  "ConvInteger is slower than float on most CPUs: use static for CNNs)",
                  "label": "Op types"},
    )  # fmt: skip
    exclude: list[str] = field(default_factory=list, metadata=EXCLUDE_META)
    error_samples: int = field(default=32, metadata=ERROR_META)
    auto_exclude: int = field(default=0, metadata=AUTO_EXCLUDE_META)


@dataclass
class Fp16Config:
    """Weights and arithmetic in float16, for GPUs with tensor cores."""

    keep_io_types: bool = field(
        default=True,
        metadata={"help": "keep float32 inputs and outputs (casts inside the model), so "
                  "callers feed and read float32 as before"},
    )  # fmt: skip
    op_block_list: list[str] = field(
        default_factory=list,
        metadata={"help": "op types kept in float32 besides ONNX Runtime's default list",
                  "label": "Op types kept float"},
    )  # fmt: skip
    exclude: list[str] = field(default_factory=list, metadata=EXCLUDE_META)
    error_samples: int = field(default=32, metadata=ERROR_META)
    auto_exclude: int = field(default=0, metadata=AUTO_EXCLUDE_META)


@dataclass
class TorchDynamicConfig:
    """PyTorch dynamic quantization (torch.ao.quantization.quantize_dynamic)."""

    layers: list[str] = field(
        default_factory=lambda: ["Linear", "LSTM"],
        metadata={"help": "layer kinds to quantize", "choices": ("Linear", "LSTM", "GRU")},
    )
    dtype: Literal["qint8", "float16"] = field(
        default="qint8", metadata={"help": "qint8 weights, or float16 weights"}
    )
    engine: Literal["auto", "x86", "fbgemm", "onednn", "qnnpack"] = field(
        default="auto",
        metadata={"help": "quantized kernel library (auto: x86 on Intel/AMD, qnnpack on ARM)"},
    )
    exclude: list[str] = field(
        default_factory=list,
        metadata={
            "help": "module names to keep in float (e.g. fc)",
            "label": "Keep in float",
            "several": True,
            "metavar": "NODE",
        },
    )


INT4_ALGORITHMS = ("rtn", "hqq", "gptq")


@dataclass
class Int4Config:
    """ONNX Runtime weight-only INT4 (MatMulNBits): MatMul weights in 4-bit blocks, each
    block with its own scale; activations stay float."""

    block_size: int = field(
        default=32,
        metadata={"help": "weights per block sharing one scale (a power of two, 16 or "
                  "more): smaller blocks are more accurate and a little larger",
                  "min": 16, "max": 256},
    )  # fmt: skip
    algorithm: Literal["rtn", "hqq", "gptq"] = field(
        default="rtn",
        metadata={"help": "rtn rounds each weight to the nearest level (fast, no data); "
                  "hqq optimises scales and zero points (no data); gptq corrects the "
                  "rounding error with calibration windows from the data"},
    )  # fmt: skip
    symmetric: bool = field(
        default=True,
        metadata={"help": "symmetric blocks (no zero point, smaller); asymmetric fits "
                  "skewed weights better (rtn and gptq; hqq is always asymmetric)"},
    )  # fmt: skip
    samples: int = field(
        default=32,
        metadata={"help": "gptq: calibration windows drawn from the training split",
                  "min": 1, "max": 100_000, "aliases": ("--calib-samples",)},
    )  # fmt: skip
    exclude: list[str] = field(default_factory=list, metadata=EXCLUDE_META)
    error_samples: int = field(default=8, metadata=ERROR_META)
    auto_exclude: int = field(default=0, metadata=AUTO_EXCLUDE_META)
