"""Device-aware advice from recorded figures: static INT8 on ONNX Runtime's CUDA provider
runs dequantized, FP16 loses at batch 1 on a GPU and never pays on a CPU. Real
quantizations measured here; the GPU records are these re-labelled as a CUDA run writes
them (fixtures.cuda_records), so the advice is driven by the record, not the machine."""

from __future__ import annotations

import dataclasses
import json

import pytest
from fixtures.cuda_records import cuda_outcome, quantized_digits

from workbench.core.compress.quantization.advice import (
    advise,
    for_method_page,
    from_record,
    recommended_method,
)
from workbench.core.compress.quantization.variant_record import write_quantized_variant
from workbench.core.measure.conditions import Conditions


def _texts(advice) -> str:
    return " | ".join(f"{a.text} [{a.figure}]" for a in advice)


def test_static_int8_on_the_cuda_provider_says_it_runs_dequantized(tmp_path) -> None:
    outcome = cuda_outcome(quantized_digits("static"), "static")
    text = _texts(outcome.advice())
    assert "runs dequantized on ONNX Runtime's CUDA execution provider" in text
    assert "INT8 pays through TensorRT (bench --tensorrt) or on the CPU" in text
    assert "0.57x at b1, 0.77x at b256 vs float32 on ort/CUDA cuda:0" in text
    assert "on cuda:0: choose FP16" in text
    # variant.json: the advice, and the latency filed under its conditions for compare
    paths = write_quantized_variant(outcome, tmp_path / "int8", source="zoo:digits_cnn")
    metrics = json.loads(paths["variant"].read_text())["metrics"]
    assert [a["text"] for a in metrics["advice"]] == [a.text for a in outcome.advice()]
    assert set(metrics["latency"]) == {"ort@cuda:0"}
    assert metrics["latency"]["ort@cuda:0"]["provider"] == "CUDAExecutionProvider"
    assert metrics["facts"]["parameters"] > 0 and metrics["environment"]["cpu"]
    assert metrics["ratios"]["speedup"]["1"] == pytest.approx(0.57)
    assert outcome.variant_metrics()["quantization"]["advice"] == metrics["advice"]


def test_fp16_on_a_gpu_loses_at_batch_1_because_of_its_casts() -> None:
    outcome = cuda_outcome(quantized_digits("fp16"), "fp16")
    casts = sum(1 for n in outcome.model.onnx_model.graph.node if n.op_type == "Cast")
    assert casts >= 2  # float32 input and output kept: a Cast at each end
    text = _texts(outcome.advice())
    assert "FP16 loses at batch 1: the Cast nodes that keep the float32 inputs and " in text
    assert f"outputs ({casts} Cast nodes in the graph) and a kernel launch per op" in text
    assert "it pays from batch 256 on" in text and "0.75x at b1, 1.29x at b256" in text
    # Measured only at batch 1, it cannot say where it pays: it says what to measure.
    ours = dataclasses.replace(
        outcome, before=_only_b1(outcome.before), after=_only_b1(outcome.after)
    )
    assert "measure larger batches (--batch 1,64,256)" in _texts(ours.advice())


def _only_b1(measured):
    latency = dict(measured.latency, batches=measured.latency["batches"][:1])
    return dataclasses.replace(measured, latency_ms={1: measured.latency_ms[1]}, latency=latency)


def test_on_the_cpu_the_figures_decide() -> None:
    fp16 = quantized_digits("fp16")  # as measured here: float16 runs through casts on a CPU
    assert fp16.after.provider == "CPUExecutionProvider" and fp16.ratios()["speedup"][1] < 0.95
    text = _texts(fp16.advice())
    assert "float16 has no fast kernels on CPUs" in text and "choose static INT8" in text
    cpu = Conditions("ort", "CPUExecutionProvider", "cpu", None)
    assert advise("int8", cpu, {1: 2.0, 256: 3.1}) == []  # faster: nothing to explain
    gpu_fast = Conditions("ort", "TensorrtExecutionProvider", "cuda:0", None)
    assert advise("int8", gpu_fast, {1: 2.5}) == []  # TensorRT fuses the pairs


def test_the_method_page_reads_recorded_conditions(tmp_path) -> None:
    int8 = cuda_outcome(quantized_digits("static"), "static")
    fp16 = cuda_outcome(quantized_digits("fp16"), "fp16")
    source = {"latency": {"ort@cuda:0": int8.before.latency}}
    children = [
        ("digits_cnn (INT8 static)", int8.step, int8.variant_metrics()),
        ("digits_cnn (FP16)", fp16.step, fp16.variant_metrics()),
    ]
    lines = for_method_page(source, children)
    assert lines[0].startswith("digits_cnn (INT8 static) measured 0.57x at b1")
    assert "runs dequantized" in lines[0] and "FP16 loses at batch 1" in lines[1]
    assert lines[-1].startswith("Benchmarked on ort/CUDA cuda:0; on cuda:0")
    assert recommended_method(source) == "fp16"
    cpu_source = {"latency": {"ort": quantized_digits("static").before.latency}}
    assert recommended_method(cpu_source) is None
    assert for_method_page(cpu_source, [])[0].endswith(
        "choose static INT8 (QDQ), fastest with VNNI or AMX; FP16 does not pay on CPUs."
    )
    # a variant.json's metrics (before/after at the top) read the same
    paths = write_quantized_variant(int8, tmp_path / "q")
    record = json.loads(paths["variant"].read_text())
    assert from_record(record["step"], record["metrics"]) == int8.advice()[:1]
