"""Op types of both vocabularies land in the family the graph view colours them by."""

from __future__ import annotations

import pytest

from workbench.core.graph.op_families import FAMILIES, FAMILY_LABELS, op_family


@pytest.mark.parametrize(
    ("op_type", "family"),
    [
        ("Conv", "conv"),
        ("ConvTranspose", "conv"),
        ("QLinearConv", "conv"),
        ("com.microsoft.FusedConv", "conv"),
        ("conv2d", "conv"),
        ("convolution", "conv"),
        ("Gemm", "linear"),
        ("MatMul", "linear"),
        ("linear", "linear"),
        ("addmm", "linear"),
        ("_scaled_dot_product_flash_attention_for_cpu", "linear"),
        ("BatchNormalization", "norm"),
        ("LayerNormalization", "norm"),
        ("batch_norm", "norm"),
        ("_native_batch_norm_legit_no_training", "norm"),
        ("layer_norm", "norm"),
        ("Relu", "activation"),
        ("relu", "activation"),
        ("relu_", "activation"),
        ("aten::relu_", "activation"),
        ("Softmax", "activation"),
        ("gelu", "activation"),
        ("Clip", "activation"),
        ("MaxPool", "pooling"),
        ("GlobalAveragePool", "pooling"),
        ("adaptive_avg_pool2d", "pooling"),
        ("ReduceMean", "pooling"),
        ("Add", "elementwise"),
        ("add", "elementwise"),
        ("add_", "elementwise"),
        ("Mul", "elementwise"),
        ("Reshape", "shape"),
        ("view", "shape"),
        ("flatten", "shape"),
        ("Identity", "shape"),
        ("getitem", "shape"),
        ("QuantizeLinear", "quantize"),
        ("DequantizeLinear", "quantize"),
        ("quantized_decomposed.quantize_per_tensor", "quantize"),
        ("fake_quantize_per_channel_affine", "quantize"),
        ("MyCustomThing", "other"),
        ("com.vendor.Weird", "other"),
    ],
)
def test_op_family(op_type: str, family: str) -> None:
    assert op_family(op_type) == family


def test_names_the_table_lacks_fall_back_to_keywords() -> None:
    assert op_family("com.vendor.DepthwiseConvFast") == "conv"
    assert op_family("SkipGroupNorm") == "norm"
    assert op_family("vendor.QuantizeBlockwise") == "quantize"


def test_every_family_has_a_label() -> None:
    assert set(FAMILY_LABELS) == set(FAMILIES)
    assert len(FAMILIES) == 9
