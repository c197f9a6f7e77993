"""Which family an operation belongs to: what the graph view colours a node by.

One table for both vocabularies: ONNX op types ("Conv", "Gemm", "QuantizeLinear",
"com.microsoft.FusedConv") and the aten names ``from_torch`` records ("conv2d",
"linear", "batch_norm", "relu_", "quantized_decomposed.quantize_per_tensor"). Names are
compared lower-cased, without their domain or namespace and without aten's in-place
underscore; names the table lacks fall back to keywords ("...conv...", "...norm...").
"""

from __future__ import annotations

from functools import lru_cache

CONV = "conv"
LINEAR = "linear"
NORM = "norm"
ACTIVATION = "activation"
POOLING = "pooling"
ELEMENTWISE = "elementwise"
SHAPE = "shape"
QUANTIZE = "quantize"
OTHER = "other"

FAMILIES: tuple[str, ...] = (
    CONV,
    LINEAR,
    NORM,
    ACTIVATION,
    POOLING,
    ELEMENTWISE,
    SHAPE,
    QUANTIZE,
    OTHER,
)

FAMILY_LABELS = {
    CONV: "convolution",
    LINEAR: "linear / matmul",
    NORM: "normalization",
    ACTIVATION: "activation",
    POOLING: "pooling / reduce",
    ELEMENTWISE: "element-wise",
    SHAPE: "shape / reshape",
    QUANTIZE: "quantize / dequantize",
    OTHER: "other",
}

_TABLE: dict[str, str] = {  # family -> names, space-separated
    CONV: (
        "conv convtranspose convinteger qlinearconv fusedconv nhwcconv convolution "
        "_convolution conv1d conv2d conv3d conv_transpose1d conv_transpose2d "
        "conv_transpose3d mkldnn_convolution cudnn_convolution convolution_overrideable "
        "conv2d_relu conv2d_prepack"
    ),
    LINEAR: (
        "gemm matmul matmulinteger qlinearmatmul fusedmatmul fusedgemm matmulnbits einsum "
        "attention multiheadattention linear addmm mm bmm baddbmm addmv mv dot "
        "scaled_dot_product_attention _scaled_dot_product_flash_attention "
        "_scaled_dot_product_flash_attention_for_cpu _scaled_dot_product_efficient_attention "
        "linear_dynamic linear_relu _weight_int8pack_mm"
    ),
    NORM: (
        "batchnormalization instancenormalization layernormalization groupnormalization "
        "lpnormalization lrn meanvariancenormalization rmsnormalization "
        "skiplayernormalization simplifiedlayernormalization skipsimplifiedlayernormalization "
        "batch_norm _native_batch_norm_legit _native_batch_norm_legit_no_training "
        "_native_batch_norm_legit_functional native_batch_norm cudnn_batch_norm "
        "_batch_norm_with_update _batch_norm_no_update layer_norm native_layer_norm "
        "group_norm native_group_norm instance_norm rms_norm local_response_norm normalize"
    ),
    ACTIVATION: (
        "relu leakyrelu prelu selu elu celu gelu fastgelu biasgelu quickgelu sigmoid "
        "hardsigmoid hardswish tanh softmax logsoftmax softplus softsign mish swish silu "
        "thresholdedrelu clip relu6 hardtanh leaky_relu _softmax log_softmax _log_softmax "
        "_prelu_kernel threshold glu rrelu clamp clamp_min clamp_max hardshrink softshrink "
        "tanhshrink logsigmoid"
    ),
    POOLING: (
        "maxpool averagepool globalaveragepool globalmaxpool lppool globallppool maxroipool "
        "roialign maxunpool reducemean reducesum reducemax reducemin reduceprod reducel1 "
        "reducel2 reducelogsum reducelogsumexp reducesumsquare max_pool1d max_pool2d "
        "max_pool3d max_pool2d_with_indices max_pool3d_with_indices avg_pool1d avg_pool2d "
        "avg_pool3d adaptive_avg_pool1d adaptive_avg_pool2d adaptive_avg_pool3d "
        "_adaptive_avg_pool2d _adaptive_avg_pool3d adaptive_max_pool1d adaptive_max_pool2d "
        "adaptive_max_pool3d mean amax amin sum prod argmax argmin var std logsumexp"
    ),
    ELEMENTWISE: (
        "add sub mul div pow sqrt exp log neg abs reciprocal erf where equal less greater "
        "lessorequal greaterorequal and or not xor max min mod floor ceil round sign cos "
        "sin tan isnan isinf bitshift bitwiseand bitwiseor bitwisexor bitwisenot rsub "
        "rsqrt eq ne lt gt le ge logical_and logical_or logical_not logical_xor maximum "
        "minimum masked_fill addcmul addcdiv lerp square fmod remainder bitwise_and "
        "bitwise_or bitwise_xor bitwise_not true_divide floor_divide sigmoid_backward "
        "cumsum erfc expm1 log1p log2 exp2 trunc frac"
    ),
    SHAPE: (
        "reshape flatten squeeze unsqueeze transpose concat split slice gather gatherelements "
        "gathernd scatter scatterelements scatternd expand tile pad shape size "
        "constantofshape range identity cast castlike depthtospace spacetodepth resize "
        "upsample nonzero compress reversesequence trilu view _unsafe_view permute t "
        "contiguous cat stack split_with_sizes chunk select index index_select "
        "index_put expand_as repeat narrow constant_pad_nd getitem clone alias detach to "
        "_to_copy type_as upsample_nearest2d upsample_bilinear2d upsample_nearest1d "
        "upsample_nearest3d upsample_linear1d upsample_bicubic2d interpolate pixel_shuffle "
        "pixel_unshuffle unbind sym_size arange zeros ones full new_zeros new_ones "
        "zeros_like ones_like full_like empty empty_like lift_fresh_copy movedim "
        "unflatten as_strided roll flip tril triu"
    ),
    QUANTIZE: (
        "quantizelinear dequantizelinear dynamicquantizelinear quantize_per_tensor "
        "quantize_per_channel quantize_per_tensor_dynamic dequantize dequantize_per_tensor "
        "dequantize_per_channel fake_quantize_per_tensor_affine "
        "fake_quantize_per_channel_affine fake_quantize_per_tensor_affine_cachemask "
        "fake_quantize_per_channel_affine_cachemask _fake_quantize_learnable_per_tensor_affine "
        "choose_qparams choose_qparams_tensor quantize_affine dequantize_affine "
        "fake_quantize_affine"
    ),
}

_BY_NAME = {name: family for family, names in _TABLE.items() for name in names.split()}

# Keyword fallbacks for names the table lacks, most specific first.
_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("quant", QUANTIZE),
    ("conv", CONV),
    ("norm", NORM),
    ("pool", POOLING),
    ("matmul", LINEAR),
    ("gemm", LINEAR),
    ("linear", LINEAR),
    ("attention", LINEAR),
    ("relu", ACTIVATION),
    ("gelu", ACTIVATION),
    ("softmax", ACTIVATION),
    ("sigmoid", ACTIVATION),
    ("reduce", POOLING),
    ("reshape", SHAPE),
    ("view", SHAPE),
)


def _normalise(op_type: str) -> str:
    """ "com.microsoft.FusedConv" -> "fusedconv"; "aten::relu_" -> "relu"."""
    name = op_type.strip()
    if "::" in name:  # TorchScript "aten::conv2d"
        name = name.split("::")[-1]
    name = name.rsplit(".", 1)[-1].lower()  # domain or namespace: "com.microsoft.FusedConv"
    if name.endswith("_") and not name.startswith("_"):
        name = name[:-1]  # in-place aten ops: "relu_", "add_"
    return name


@lru_cache(maxsize=4096)
def op_family(op_type: str) -> str:
    """The family of an ONNX or aten op type, one of ``FAMILIES`` ("other" if unknown)."""
    name = _normalise(op_type)
    family = _BY_NAME.get(name)
    if family is not None:
        return family
    for keyword, keyword_family in _KEYWORDS:
        if keyword in name:
            return keyword_family
    return OTHER
