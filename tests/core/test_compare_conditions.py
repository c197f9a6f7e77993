"""Compare matches latencies only under the same conditions, says which conditions each
side has when none are shared, and explains INT8 and FP16 per device from the record.

The records are real quantizations measured here; the GPU ones are re-labelled as ONNX
Runtime's CUDA provider writes them, with the H200 figures of issue #20
(fixtures.cuda_records)."""

from __future__ import annotations

import functools

import pytest
from fixtures.cuda_records import cuda_outcome, quantized_digits

from workbench.core.compare import Entry, build_table, compare, explain
from workbench.core.compare.explain import FASTER, SLOWER, UNKNOWN
from workbench.core.compare.sources import has_figures, merged
from workbench.core.measure import MeasureOptions, Metrics

GPU_P50 = "latency.ort@cuda:0.b1.p50_ms"
CPU_P50 = "latency.ort.b1.p50_ms"


@functools.cache
def entries() -> dict[str, Entry]:
    int8 = cuda_outcome(quantized_digits("static"), "static")
    fp16 = cuda_outcome(quantized_digits("fp16"), "fp16")
    here = quantized_digits("static")  # the same float model, measured on this CPU
    return {
        "fp32": Entry("fp32", "digits_cnn", {"latency": {"ort@cuda:0": int8.before.latency}}),
        "int8": Entry("int8", "INT8", int8.variant_metrics(), step=int8.step),
        "fp16": Entry("fp16", "FP16", fp16.variant_metrics(), step=fp16.step),
        "cpu": Entry("cpu", "on the CPU", {"latency": {"ort": here.before.latency}}),
    }


def fp16_ops() -> list[str]:
    return [n.op_type for n in quantized_digits("fp16").model.onnx_model.graph.node]


def test_a_row_holds_figures_of_one_set_of_conditions() -> None:
    e = entries()
    table = build_table([e["fp32"], e["int8"], e["cpu"]])
    gpu, cpu = table.row(GPU_P50), table.row(CPU_P50)
    assert gpu.spec.label == "latency p50 ort/CUDA cuda:0 b1"
    assert gpu.values()[:2] == pytest.approx([0.53, 0.53 / 0.57]) and gpu.values()[2] is None
    assert cpu.values()[:2] == [None, None] and cpu.values()[2] is not None
    assert table.row("latency.ort@cuda:0.b256.p50_ms").values()[2] is None


def test_static_int8_on_the_cuda_provider_is_explained_as_dequantized() -> None:
    e = entries()
    result = explain(e["int8"], e["fp32"])
    assert result.verdict == SLOWER
    assert "(p50 ort/CUDA cuda:0 b1: 0.530 → 0.930 ms)" in result.headline
    text = result.to_text()
    assert "runs dequantized on ONNX Runtime's CUDA execution provider" in text
    assert "on cuda:0: choose FP16" in text
    assert "VNNI" not in text  # the CPU's instructions say nothing about a GPU run


def test_fp16_at_batch_1_on_a_gpu_names_its_casts() -> None:
    e = entries()
    casts = fp16_ops().count("Cast")
    text = explain(e["fp16"], e["fp32"], op_types=fp16_ops()).to_text()
    assert "FP16 loses at batch 1: the Cast nodes that keep the float32 inputs" in text
    assert f"outputs ({casts} Cast nodes in the graph)" in text
    assert "it pays from batch 256 on" in text
    # Against the INT8 model the advice about float32 does not apply.
    against_int8 = explain(e["fp16"], e["int8"], op_types=fp16_ops())
    assert "Cast nodes" not in against_int8.to_text()
    assert against_int8.verdict == FASTER  # 0.930 → 0.707 ms at batch 1


def test_no_common_conditions_says_which_each_side_has() -> None:
    e = entries()
    result = explain(e["cpu"], e["int8"])
    assert result.verdict == UNKNOWN
    assert "no latency measured on a common runtime" not in result.headline
    assert (
        "on the CPU was measured with ort on CPUExecutionProvider (cpu), default threads, "
        "batch 1, 256; INT8 with ort on CUDAExecutionProvider (cuda:0), default threads, "
        "batch 1, 256" in result.headline
    )
    assert "workbench compare --measure" in result.headline
    lonely = explain(Entry("x", "unmeasured", {}), e["int8"])
    assert "unmeasured has none (INT8 was measured with ort on CUDAExecutionProvider" in (
        lonely.headline
    )
    # compare() of the three: the GPU pair is explained, the CPU one says why not
    reasons = compare([e["int8"], e["fp16"], e["cpu"]]).explanations
    assert reasons[0].verdict == FASTER
    assert "ort/CUDA cuda:0 b1" in reasons[0].headline
    assert reasons[1].verdict == UNKNOWN and "CPUExecutionProvider" in reasons[1].headline


def test_other_shared_conditions_are_said_too() -> None:
    e = entries()
    cpu_latency = e["cpu"].metrics["latency"]
    both_base = Entry("b", "float", {"latency": {**e["fp32"].metrics["latency"], **cpu_latency}})
    both = Entry("v", "INT8", {**e["int8"].metrics, "latency": {
        **e["int8"].metrics["latency"], **cpu_latency}}, step=e["int8"].step)  # fmt: skip
    text = explain(both, both_base).to_text()
    assert "p50 ort b1" in text  # the CPU figure leads (ort on the CPU sorts first)
    assert "measured on ort/CUDA cuda:0 too: 0.57× at b1, 0.77× at b256" in text


def test_measure_keeps_stored_figures_only_when_they_fit() -> None:
    e = entries()
    cpu = Metrics.from_json(e["cpu"].metrics)
    cpu.environment = quantized_digits("static").environment  # taken on this machine
    stored = cpu.to_json()
    assert has_figures(stored, MeasureOptions(batches=[1, 256]))
    assert not has_figures(stored, MeasureOptions(batches=[1, 32]))  # b32 never measured
    assert not has_figures(stored, MeasureOptions(threads=1))
    assert not has_figures(stored, MeasureOptions(runtime="torch"))
    assert not has_figures(e["cpu"].metrics, MeasureOptions())  # no record of the machine
    assert not has_figures({**stored, "environment": {"cpu": "another CPU"}}, MeasureOptions())
    # Newly measured figures join the stored GPU ones; a run's own figures stay.
    old = {**e["int8"].metrics, "val_accuracy": 0.9}
    both = merged(old, stored)
    assert set(both["latency"]) == {"ort@cuda:0", "ort"} and both["val_accuracy"] == 0.9
