"""Measurements carry their conditions (runtime, provider, device, threads, batch), older
records still read, and only figures taken under the same ones compare."""

from __future__ import annotations

import functools
import json

from fixtures.cuda_records import as_cuda

from workbench.core.io import load
from workbench.core.measure import MeasureOptions, Metrics, benchmark, store_metrics
from workbench.core.measure.conditions import Conditions
from workbench.core.measure.metrics import common, measured_under
from workbench.core.project import Project

FAST = {"runs": 3, "seconds": 0.0, "warmup": 1}


@functools.cache
def measured(runtime: str = "ort", threads: int | None = None, batch: int = 1) -> dict:
    """zoo:digits_mlp benchmarked for real, as JSON (what variant.json holds)."""
    options = MeasureOptions(runtime=runtime, threads=threads, batches=[batch], **FAST)
    metrics = benchmark(load("zoo:digits_mlp"), options)
    return metrics.to_json()


def test_a_benchmark_records_where_it_ran() -> None:
    (ort,) = measured()["latency"].values()
    assert (ort["runtime"], ort["provider"], ort["device"]) == (
        "ort",
        "CPUExecutionProvider",
        "cpu",
    )
    assert list(measured()["latency"]) == ["ort"]  # what every older file holds on the CPU
    torch_one = measured("torch", threads=1)
    (report,) = torch_one["latency"].values()
    assert (report["provider"], report["device"], report["threads"]) == ("cpu", "cpu", 1)
    conditions = Metrics.from_json(torch_one).latency["torch"].conditions
    assert conditions == Conditions("torch", "cpu", "cpu", 1)
    assert conditions.row_key == "torch/1t" and conditions.label(1) == "torch/cpu 1t b1"


def test_records_older_than_the_device_field_still_read() -> None:
    old = json.loads(json.dumps(measured()))
    del old["latency"]["ort"]["device"]
    report = Metrics.from_json(old).latency["ort"]
    assert report.device is None and report.conditions.device == "cpu"  # the CPU provider says
    assert common(Metrics.from_json(old), Metrics.from_json(measured()))  # still compares
    # An old CUDA record does not say which GPU: unknown, so it matches no known device.
    gpu = as_cuda(measured()["latency"]["ort"], {1: 0.5})
    del gpu["device"]
    unknown = Metrics.from_json({"latency": {"ort": gpu}})
    assert unknown.latency["ort"].conditions.device is None
    assert unknown.latency["ort"].key == "ort@?[CUDAExecutionProvider]"
    known = Metrics.from_json({"latency": {"ort@cuda:0": as_cuda(gpu, {1: 0.5})}})
    assert not common(unknown, known)


def test_a_gpu_and_a_cpu_figure_of_one_variant_stay_side_by_side() -> None:
    variant = Project(name="p").add_root(load("zoo:digits_mlp"))
    store_metrics(variant, Metrics.from_json(measured()))
    cuda = Metrics.from_json({"latency": {"x": as_cuda(measured()["latency"]["ort"], {1: 0.5})}})
    cuda.latency = {r.key: r for r in cuda.latency.values()}
    store_metrics(variant, cuda)
    assert set(variant.metrics["latency"]) == {"ort", "ort@cuda:0"}
    again = measured("ort", batch=2)  # the same conditions again: the newer replaces it
    store_metrics(variant, Metrics.from_json(again))
    stored = variant.metrics["latency"]
    assert [b["batch"] for b in stored["ort"]["batches"]] == [2]
    assert stored["ort@cuda:0"]["provider"] == "CUDAExecutionProvider"


def test_figures_compare_only_under_the_same_conditions() -> None:
    default = Metrics.from_json(measured())
    assert common(default, Metrics.from_json(measured()))[0][1] == [1]
    for other in (measured("ort", threads=1), measured("ort", batch=4), measured("torch")):
        assert common(default, Metrics.from_json(other)) == []
    one = Metrics.from_json(measured("ort", threads=1))
    assert measured_under(one) == "ort on CPUExecutionProvider (cpu), 1 thread, batch 1"
    assert measured_under(Metrics()) == ""
