"""Measuring variants: latency fields, shapes, memory, accuracy, agreement, profile, providers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from workbench.core.catalogue import get_registry
from workbench.core.context import Cancelled, RunContext
from workbench.core.data.dataset import ArrayDataset
from workbench.core.errors import DataError, WorkbenchError
from workbench.core.graph import from_onnx
from workbench.core.io import load
from workbench.core.measure import (
    MeasureOptions,
    Metrics,
    attribute_to_graph,
    benchmark,
    evaluate,
    figure_rows,
    measure_latency,
    store_metrics,
    summary_rows,
)
from workbench.core.measure.accuracy import agreement, cross_entropy
from workbench.core.measure.environment import _cpuinfo, describe_environment
from workbench.core.measure.latency import PeakMemory
from workbench.core.measure.metrics import AccuracyReport
from workbench.core.measure.providers import (
    CPU,
    create_session,
    max_ir_version,
    providers_for,
    working_providers,
)
from workbench.core.measure.runners import torch_threads
from workbench.core.project import Project

FAST = {"runs": 5, "seconds": 0.0, "warmup": 1}


def _onnx_file(path: Path, dims: list, *, batch_fixed: bool = False) -> Path:
    """x[dims] @ W(16x8) + b: a real ONNX file whose input dims are as given."""
    rng = np.random.default_rng(0)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["xw"]),
            helper.make_node("Add", ["xw", "b"], ["y"]),
        ],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [dims[0], 8])],
        initializer=[
            numpy_helper.from_array(rng.standard_normal((16, 8)).astype(np.float32), "W"),
            numpy_helper.from_array(np.zeros(8, np.float32), "b"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    onnx.save_model(model, path)
    return path


def _trained_digits_mlp(epochs: int = 30):
    """A really trained digits MLP (a second of Adam on the bundled digits).

    One thread: on a busy two-core machine two OpenMP threads wait on each other at
    every op of these tiny batches and training took 30 s instead of 1 s.
    """
    loaded = load("zoo:digits_mlp")
    data = get_registry().dataset("digits").load()
    x, y = (torch.from_numpy(np.array(a)) for a in (data.x_train, data.y_train))
    model = loaded.module.train()
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    with torch_threads(1):
        for _ in range(epochs):
            for start in range(0, len(x), 128):
                opt.zero_grad()
                batch_x, batch_y = x[start : start + 128], y[start : start + 128]
                torch.nn.functional.cross_entropy(model(batch_x), batch_y).backward()
                opt.step()
    model.eval()
    return loaded, data


# -- benchmark ---------------------------------------------------------------------------


def test_torch_benchmark_returns_every_field() -> None:
    loaded = load("zoo:digits_cnn")
    metrics = benchmark(loaded, MeasureOptions(runtime="torch", batches=[1, 4], threads=1, **FAST))
    report = metrics.latency["torch"]
    assert report.provider == "cpu" and report.threads == 1
    assert [p.batch for p in report.batches] == [1, 4]
    for point in report.batches:
        s = point.latency
        assert s.runs >= 5
        assert 0 < s.min_ms <= s.p50_ms <= s.p90_ms <= s.p99_ms <= s.max_ms
        assert s.std_ms >= 0 and s.mean_ms > 0
        assert point.samples_per_s == pytest.approx(point.batch / (s.mean_ms / 1e3))
    assert report.input_shapes == {"input": [1, 1, 8, 8]}
    assert report.peak_rss_bytes and report.peak_rss_bytes > 50e6
    assert report.cuda_max_allocated_bytes is None  # no CUDA here
    facts = metrics.facts
    assert facts.parameters == sum(p.numel() for p in loaded.module.parameters())
    assert facts.macs and facts.macs > 1e6
    assert facts.weights_bytes >= facts.parameters * 4
    assert 0.0 <= facts.sparsity < 0.05 and facts.file_size is None
    env = metrics.environment
    assert env["cpu"] and env["usable_cpus"] >= 1 and env["runtime"] == "torch"
    assert {"torch", "onnx", "numpy"} <= set(env["libraries"])
    # JSON-serialisable and lossless.
    text = json.dumps(metrics.to_json())
    assert Metrics.from_json(json.loads(text)).to_json() == metrics.to_json()


def test_ort_benchmark_of_a_pytorch_model_and_of_a_file(tmp_path: Path) -> None:
    report = measure_latency(load("zoo:digits_cnn"), runtime="ort", batches=[1, 8], **FAST)
    assert report.provider == CPU and [p.batch for p in report.batches] == [1, 8]
    path = _onnx_file(tmp_path / "lin.onnx", ["batch", 16])
    report = measure_latency(load(path), batches=[2, 32], **FAST)
    assert report.runtime == "ort" and report.input_shapes == {"x": [2, 16]}
    assert report.batches[1].latency.runs >= 5


def test_symbolic_dims_come_from_shape_or_data_or_are_refused(tmp_path: Path) -> None:
    path = _onnx_file(tmp_path / "sym.onnx", ["batch", "features"])
    loaded = load(path)
    with pytest.raises(WorkbenchError, match=r"symbolic dimension 1 \(features\).*--shape x="):
        measure_latency(loaded, **FAST)
    report = measure_latency(loaded, shapes={"x": (1, 16)}, **FAST)
    assert report.input_shapes == {"x": [1, 16]}
    rng = np.random.default_rng(0)
    data = ArrayDataset(
        "vectors",
        "classification",
        rng.random((8, 16), dtype=np.float32),
        np.zeros(8, np.int64),
        rng.random((4, 16), dtype=np.float32),
        np.zeros(4, np.int64),
        8,
        tuple("abcdefgh"),
    )
    report = measure_latency(loaded, data=data, batches=[3], **FAST)
    assert report.input_shapes == {"x": [3, 16]}


def test_fixed_batch_sizes_are_skipped_with_a_note(tmp_path: Path) -> None:
    loaded = load(_onnx_file(tmp_path / "fixed.onnx", [1, 16]))
    report = measure_latency(loaded, batches=[1, 8], **FAST)
    assert [p.batch for p in report.batches] == [1]
    assert "batch 8 skipped" in report.notes[0] and "fixes the batch at 1" in report.notes[0]
    with pytest.raises(WorkbenchError, match="fixes the batch at 1"):
        measure_latency(loaded, batches=[8], **FAST)


def test_data_that_does_not_fit_is_noted_not_hidden() -> None:
    report = measure_latency(load("zoo:digits_mlp"), runtime="torch", data="shapes", **FAST)
    assert "'shapes' samples do not fit" in report.notes[0]


def test_torch_runtime_refuses_an_onnx_model(tmp_path: Path) -> None:
    loaded = load(_onnx_file(tmp_path / "lin.onnx", ["batch", 16]))
    with pytest.raises(WorkbenchError, match="ONNX Runtime only"):
        measure_latency(loaded, runtime="torch", **FAST)


def test_benchmark_can_be_cancelled() -> None:
    ctx = RunContext()
    reports: list[float | None] = []

    def progress(fraction: float | None, message: str) -> None:
        reports.append(fraction)
        if len(reports) >= 3:
            ctx.cancel.cancel()

    ctx.progress = progress
    with pytest.raises(Cancelled):
        measure_latency(load("zoo:digits_mlp"), runtime="torch", runs=10**9, seconds=60, ctx=ctx)
    assert len(reports) >= 3


def test_peak_memory_sees_an_allocation_inside_the_block() -> None:
    with PeakMemory() as memory:
        block = np.ones(300 * 2**20 // 8)  # 300 MiB, touched
        del block
    assert memory.peak_bytes >= 300 * 2**20
    assert memory.scope in ("measurement", "process")


def test_metrics_are_stored_on_the_variant_and_survive_saving(tmp_path: Path) -> None:
    loaded = load("zoo:digits_mlp")
    project = Project(name="p")
    variant = project.add_root(loaded)
    store_metrics(variant, benchmark(variant, MeasureOptions(runtime="torch", **FAST)))
    store_metrics(variant, Metrics(accuracy={"torch": evaluate(variant)}))
    assert set(variant.metrics["latency"]) == {"torch"} and "torch" in variant.metrics["accuracy"]
    project.save(tmp_path)
    reopened = Project.open(tmp_path).variants[variant.id]
    assert Metrics.from_json(reopened.metrics).to_json() == variant.metrics
    labels = [label for label, _ in summary_rows(reopened.metrics)]
    assert "parameters" in labels and any(label.startswith("latency torch") for label in labels)
    assert any(label.startswith("accuracy torch (digits") for label in labels)


def test_storing_measurements_keeps_a_training_runs_own_figures() -> None:
    variant = Project(name="p").add_root(load("zoo:digits_mlp"))
    variant.metrics = {"val_accuracy": 0.91, "steps": 46, "accuracy": {}}
    store_metrics(variant, Metrics(accuracy={"torch": evaluate(variant)}))
    assert variant.metrics["val_accuracy"] == 0.91 and variant.metrics["steps"] == 46
    assert "torch" in variant.metrics["accuracy"]


def test_a_passs_own_figures_are_listed_beside_the_measurements() -> None:
    metrics = {
        "val_accuracy": 0.9125,
        "steps": 4600,
        "seconds": 12.25,
        "teacher_size_bytes": 361_700,
        "macs_before": 1_849_000.0,
        "quantization": {
            "ratios": {"size": 3.71},
            "error_by_node": {f"n{i}": 0.1 for i in range(40)},
        },
        "layer_channels": {"conv1": [32, 16]},
        "latency": {},
    }
    assert figure_rows(metrics) == [
        ("val accuracy", "91.25%"),
        ("steps", "4,600"),
        ("seconds", "12.25 s"),
        ("teacher size bytes", "353.2 KiB"),
        ("macs before", "1.85 M"),
        ("quantization", [("ratios", [("size", "3.71")])]),
    ]
    assert figure_rows(Metrics().to_json()) == []


# -- environment and providers ----------------------------------------------------------


def test_cpuinfo_flags_name_vnni_and_amx() -> None:
    text = "model name\t: Example Xeon\nflags\t\t: fpu sse4_2 avx2 avx512f avx512_vnni amx_tile\n"
    model, flags = _cpuinfo(text)
    assert model == "Example Xeon"
    assert flags == ["sse4_2", "avx2", "avx512f", "avx512_vnni", "amx_tile"]
    env = describe_environment(runtime="ort")
    assert env["ort_providers"][-1] == CPU and isinstance(env["vnni"], bool)


def test_provider_probe_is_silent_and_falls_back_to_cpu() -> None:
    # A fresh process: ORT logs a provider's load failure only the first time it is tried.
    code = "from workbench.core.measure.providers import working_providers as w; print(w())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # ORT's C++ load errors were silenced
    found = working_providers()
    assert done.stdout.strip() == repr(found)  # and its Python "EP Error" banner too
    assert found[-1] == CPU
    if "CUDAExecutionProvider" not in found:
        assert providers_for("auto") == [CPU]
        with pytest.raises(WorkbenchError, match=r"CUDA provider failed to load|no CUDA provider"):
            providers_for("cuda:0")
    assert providers_for("cpu") == [CPU]


def test_models_stamped_with_a_too_new_ir_version_are_lowered() -> None:
    from workbench.core.measure.torch_to_onnx import fit_ir_version

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = max_ir_version() + 1
    with pytest.raises(Exception, match="IR version"):
        create_session(model, device="cpu")
    notes: list[str] = []
    fit_ir_version(model, notes)
    assert model.ir_version == max_ir_version() and "lowered" in notes[0]
    session = create_session(model, device="cpu")
    assert session.run(None, {"x": np.array([-1, 2], np.float32)})[0].tolist() == [0, 2]


# -- accuracy ----------------------------------------------------------------------------


def test_accuracy_of_a_trained_model_on_both_runtimes_and_against_its_parent() -> None:
    parent = load("zoo:digits_mlp")  # untrained, same seed
    trained, data = _trained_digits_mlp()
    torch_report = evaluate(trained, runtime="torch", parent=parent)
    ort_report = evaluate(trained, runtime="ort")
    assert torch_report.samples == len(data.x_val) and torch_report.dataset == "digits"
    assert torch_report.top1 > 0.85
    assert ort_report.top1 == pytest.approx(torch_report.top1)
    with torch.no_grad():
        logits = trained.module(torch.from_numpy(np.array(data.x_val)))
    labels = torch.from_numpy(np.array(data.y_val))
    expected = torch.nn.functional.cross_entropy(logits, labels).item()
    assert torch_report.loss == pytest.approx(expected, rel=1e-5)
    assert ort_report.loss == pytest.approx(expected, rel=1e-4)
    assert torch_report.agreement.parent == "digits_mlp"
    assert torch_report.agreement.top1_agreement < 0.5  # training changed its answers
    assert torch_report.agreement.max_abs_diff > 0.1


def test_a_model_without_data_says_so_instead_of_zeros(tmp_path: Path) -> None:
    loaded = load(_onnx_file(tmp_path / "lin.onnx", ["batch", 16]))
    with pytest.raises(DataError, match=r"lin\.onnx has no validation data.*--data"):
        evaluate(loaded)
    with pytest.raises(DataError, match=r"takes samples of shape \[16\].*\[1, 8, 8\]"):
        evaluate(loaded, data="digits")


def test_regression_is_scored_by_mse() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 1, 8, 8)).astype(np.float32)
    y = rng.random(64)  # in 0..1, the one "class" the label check accepts
    data = ArrayDataset("reg", "regression", x, y, x, y, 1, ("value",))
    loaded = load("zoo:digits_mlp:num_classes=1")
    report = evaluate(loaded, data=data, batch_size=10)
    with torch.no_grad():
        out = loaded.module(torch.from_numpy(x)).numpy().ravel()
    assert report.top1 is None and report.task == "regression"
    assert report.mse == pytest.approx(float(np.mean((out - y) ** 2)), rel=1e-5)


def test_agreement_and_cross_entropy_figures() -> None:
    ref = np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0], [0.5, 0.4]])
    out = np.array([[2.0, 1.5], [0.1, 3.0], [0.0, 1.0], [0.5, 0.4]])
    a = agreement("parent", ref, out)
    assert a.top1_agreement == 0.75 and a.max_abs_diff == 1.0 and a.samples == 4
    logits = np.array([[1000.0, 0.0], [0.0, 0.0]])
    assert cross_entropy(logits, np.array([0, 1])) == pytest.approx(np.log(2) / 2)


# -- profile -----------------------------------------------------------------------------


def test_profile_node_times_add_up_to_the_latency_and_map_onto_the_graph(tmp_path: Path) -> None:
    """Kernel times exclude the session's own per-run work (input binding, output
    allocation) and include the profiler's overhead, so their sum sits near, not at, the
    run time; on a shared 2-core machine runs also jitter. Hence 0.5x-1.5x of the p50."""
    from workbench.core.export import export_onnx
    from workbench.core.export.onnx_export import ExportOptions

    path = tmp_path / "resnet.onnx"
    export_onnx(load("zoo:resnet_shapes"), path, ExportOptions(dynamic_batch=True))
    loaded = load(path)
    report = measure_latency(loaded, batches=[8], runs=20, seconds=0.5, profile=True, threads=1)
    table = report.profile
    assert table.runs >= 10 and table.nodes
    ratio = table.node_total_ms / report.latency.p50_ms
    assert 0.5 <= ratio <= 1.5, (table.node_total_ms, report.latency.p50_ms)
    assert sum(n.share for n in table.nodes) == pytest.approx(1.0)
    assert sum(o.share for o in table.op_types) == pytest.approx(1.0)
    assert table.op_types[0].op_type == "Conv"  # convolutions dominate a ResNet
    graph = from_onnx(loaded.onnx_model, inputs=loaded.inputs)
    shares = attribute_to_graph(table, graph)
    ids = {n.id: n for n in graph.nodes}
    assert set(shares) <= set(ids)
    assert 0.9 <= sum(shares.values()) <= 1.0 + 1e-9
    conv_share = sum(v for k, v in shares.items() if ids[k].op_type == "Conv")
    assert conv_share > 0.8
    assert len([k for k in shares if ids[k].op_type == "Conv"]) >= 10  # spread, not lumped


def test_an_accuracy_without_a_loss_reads_as_top1_only() -> None:
    # Pruning scores before and after by top-1 alone; the inspector lists it all the same.
    score = AccuracyReport("torch", "cpu", "digits", "classification", 360, top1=0.5)
    rows = dict(summary_rows(Metrics(accuracy={"torch": score}).to_json()))
    assert rows["accuracy torch (digits, 360)"] == "top-1 50.00%"
