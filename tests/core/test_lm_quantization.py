"""Quantizing a language model: INT4 weight-only (MatMulNBits), dynamic INT8 and FP16 on
the small trained tiny_lm, judged by perplexity, MatMul weight bytes and per-block SQNR."""

from __future__ import annotations

import dataclasses
from functools import cache

import onnx
import pytest
from fixtures.tiny_lm import CONTEXT, small_text, trained_tiny_lm

from workbench.core.compress.quantization.common import (
    float_onnx,
    matmul_weight_bytes,
    onnx_result,
)
from workbench.core.compress.quantization.workflow import quantize_variant
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import InputSpec, LoadedModel

LM_HEAD = "/lm_head/MatMul"


@cache
def lm() -> LoadedModel:
    """The fixture's model at its training length, 32 (the zoo spec says 64), exported
    with a free batch and sequence through the model's declared axes."""
    axes = {"batch": 0, "sequence": 1}
    free = {name: {i: n for n, i in axes.items()} for name in ("input_ids", "logits")}
    return dataclasses.replace(
        trained_tiny_lm(),
        inputs=[InputSpec("input_ids", (1, CONTEXT), "int64")],
        output_names=["logits"],
        dynamic_axes=free,
    )


def _int4(**config):
    return quantize_variant(lm(), "int4", config, data=small_text(), batches=())


def _ops(model: LoadedModel) -> dict[str, str]:
    return {node.name: node.op_type for node in model.onnx_model.graph.node}


def test_int4_rtn_shrinks_matmul_weights_and_keeps_perplexity() -> None:
    outcome = _int4(error_samples=4)
    ratios = outcome.ratios()
    assert ratios["matmul_weight_ratio"] >= 3.5  # 4.5 bits a weight at block 32, symmetric
    assert outcome.after.perplexity <= 1.05 * outcome.before.perplexity
    ops = _ops(outcome.model)
    assert "MatMulNBits" in ops.values() and "MatMul" not in {
        op for name, op in ops.items() if "proj" in name or "lm_head" in name
    }
    table = outcome.node_error
    # rows name the float MatMul (what keep-in-float takes), not the MatMulNBits node
    assert any(row.node == "/blocks.0/attn/q_proj/MatMul" for row in table.rows)
    assert [row.block for row in table.blocks] == ["blocks.0", "blocks.1"]
    assert all(10 < row.sqnr_db < 60 for row in table.blocks)
    by_node = table.by_block_node()
    assert by_node["/blocks.1/mlp/mlp.2/MatMul"] == table.blocks[1].error
    # the graph overlay: the quantized graph's nodes of blocks.1 carry its figure
    from workbench.core.compress.quantization.node_error import block_error_overlay
    from workbench.core.graph import from_model

    overlay = block_error_overlay(by_node, from_model(outcome.model))
    assert overlay.name == "Block error" and len(overlay.values) > 20
    assert set(overlay.values.values()) == {row.error for row in table.blocks}
    assert outcome.metrics()["pass"]["matmul_weight_bytes"]["float"] == matmul_weight_bytes(
        float_onnx(lm(), notes=[])
    )


def test_int4_counts_the_weights_and_macs_of_the_matmuls_it_packed() -> None:
    """MatMulNBits packs two 4-bit weights a byte in blocks: its parameters and MACs are
    those of the float MatMul it replaced, not the element count of its packed bytes."""
    from workbench.core.compress.quantization.common import onnx_result
    from workbench.core.measure.latency import model_facts

    outcome = _int4(error_samples=0)
    fp32 = onnx_result(lm(), float_onnx(lm(), notes=[]), [])  # as the pass starts from
    before, after = model_facts(fp32), model_facts(outcome.model)
    assert after.macs == before.macs
    # the same weights, plus one scale per block of 32 (and nothing dropped)
    assert before.parameters <= after.parameters <= 1.05 * before.parameters


def test_int4_keeps_named_matmuls_float_and_smaller_blocks_cost_bytes() -> None:
    kept = _int4(exclude=[LM_HEAD], block_size=128, error_samples=0)
    assert _ops(kept.model)[LM_HEAD] == "MatMul"
    assert kept.config["exclude"] == [LM_HEAD]  # the recorded step remakes it
    fine = _int4(error_samples=0)
    assert kept.ratios()["matmul_weight_ratio"] < fine.ratios()["matmul_weight_ratio"]


def test_int4_gptq_calibrates_on_text_windows() -> None:
    outcome = _int4(algorithm="gptq", samples=8, error_samples=0)
    assert "MatMulNBits" in _ops(outcome.model).values()
    assert outcome.after.perplexity <= 1.10 * outcome.before.perplexity
    onnx.checker.check_model(outcome.model.onnx_model)  # opset for com.microsoft present


def test_dynamic_int8_on_the_lm_keeps_perplexity_within_2_percent() -> None:
    outcome = quantize_variant(lm(), "dynamic", {"error_samples": 4}, data=small_text(), batches=())
    assert outcome.after.perplexity <= 1.02 * outcome.before.perplexity
    assert outcome.ratios()["matmul_weight_ratio"] > 3.5
    assert [row.block for row in outcome.node_error.blocks] == ["blocks.0", "blocks.1"]


def test_fp16_on_a_cpu_says_it_needs_cuda() -> None:
    from workbench.core.measure.providers import CUDA, working_providers

    if CUDA in working_providers():
        pytest.skip("a CUDA provider works here")
    outcome = quantize_variant(lm(), "fp16", {"error_samples": 0}, data=small_text(), batches=())
    assert any("No working CUDA provider here" in note for note in outcome.notes)
    assert outcome.after.perplexity == pytest.approx(outcome.before.perplexity, rel=0.01)


def test_int4_refuses_a_model_without_matmul_weights_and_bad_block_sizes() -> None:
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "g", [x], [y])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    relu = dataclasses.replace(onnx_result(lm(), proto, []), inputs=[InputSpec("x", (1, 4))])
    with pytest.raises(WorkbenchError, match="nothing for quantize-int4 to quantize"):
        quantize_variant(relu, "int4", {"error_samples": 0}, measure_figures=False)
    with pytest.raises(WorkbenchError, match="block size 48: MatMulNBits takes a power of two"):
        _int4(block_size=48, error_samples=0)
