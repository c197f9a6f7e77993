"""Latency, throughput and memory of a variant, taken the same way for every variant.

Warm-up runs first (allocations, kernel selection and caches settle), then timed runs
until there are at least ``runs`` of them *and* at least ``seconds`` have passed: small
models get many samples, big ones a sane minimum. Each run is timed on its own
(``perf_counter`` around the call), so percentiles describe single inferences; the loop
adds only a cancel check per run, which keeps it within noise of a bare loop
(tests/benchmarks/test_latency_bench.py measures that).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.measure.inputs import (
    Shapes,
    as_target,
    batch_is_free,
    concrete_shapes,
    feed_for,
    resolve_dataset,
    samples_fit,
)
from workbench.core.measure.metrics import (
    BatchLatency,
    LatencyReport,
    LatencyStats,
    Metrics,
    ModelFacts,
)
from workbench.core.measure.options import MeasureOptions

PROGRESS_EVERY_S = 0.1
DEFAULT_WARMUP = 5
DEFAULT_RUNS = 30
DEFAULT_SECONDS = 1.0


def time_runs(
    runner: Any,
    prepared: Any,
    *,
    warmup: int = DEFAULT_WARMUP,
    runs: int = DEFAULT_RUNS,
    seconds: float = DEFAULT_SECONDS,
    ctx: RunContext | None = None,
    span: tuple[float, float] = (0.0, 1.0),
    message: str = "timing",
) -> list[float]:
    """Seconds per call of ``runner(prepared)``, after ``warmup`` untimed calls."""
    ctx = ctx or RunContext()
    if runs < 1:
        raise WorkbenchError("at least one timed run is needed (--runs 1 or more)")
    for _ in range(max(0, warmup)):
        ctx.check()
        runner(prepared)
    samples: list[float] = []
    clock = time.perf_counter
    start = last_report = clock()
    low, high = span
    while True:
        ctx.check()
        t0 = clock()
        runner(prepared)
        t1 = clock()
        samples.append(t1 - t0)
        elapsed = t1 - start
        if len(samples) >= runs and elapsed >= seconds:
            break
        if t1 - last_report >= PROGRESS_EVERY_S:
            last_report = t1
            done = min(len(samples) / runs, elapsed / seconds if seconds > 0 else 1.0)
            ctx.report(low + (high - low) * min(done, 1.0), message)
    return samples


class PeakMemory:
    """Peak resident memory over a block: reset first where Linux allows it.

    Writing "5" to /proc/self/clear_refs resets the kernel's high-water mark (VmHWM),
    so the peak is the measurement's own; elsewhere it is the process's lifetime peak
    and ``scope`` says so.
    """

    def __init__(self) -> None:
        self.scope = "process"
        self.peak_bytes: int | None = None

    def __enter__(self) -> PeakMemory:
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self.scope = "measurement"
        except OSError:
            self.scope = "process"
        return self

    def __exit__(self, *exc: object) -> None:
        self.peak_bytes = _vm_hwm() or _ru_maxrss()


def _vm_hwm() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _ru_maxrss() -> int | None:
    try:
        import resource  # POSIX only
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS: bytes; Linux: KiB


def measure_latency(
    model: Any,
    *,
    runtime: str = "auto",
    batches: Sequence[int] | None = None,
    threads: int | None = None,
    runs: int = DEFAULT_RUNS,
    seconds: float = DEFAULT_SECONDS,
    warmup: int = DEFAULT_WARMUP,
    device: str | None = None,
    tensorrt: bool = False,
    shapes: Shapes | None = None,
    data: Any = None,
    profile: bool = False,
    ctx: RunContext | None = None,
) -> LatencyReport:
    """Time ``model`` (a Variant or LoadedModel) on one runtime at each batch size.

    ``runtime`` "auto" means ONNX Runtime for ONNX models and PyTorch eager for PyTorch
    ones. ``batches`` defaults to the input's own batch (1 unless ``--shape`` says
    otherwise); a batch size a fixed-batch model cannot take is skipped with a note.
    ``profile`` adds ONNX Runtime's per-node table (ORT only).
    """
    ctx = ctx or RunContext()
    setup = prepare_latency(
        model, runtime=runtime, batches=batches, threads=threads, runs=runs, seconds=seconds,
        warmup=warmup, device=device, tensorrt=tensorrt, shapes=shapes, data=data,
        profile=profile, ctx=ctx,
    )  # fmt: skip
    return setup.time(ctx)


@dataclass
class LatencySetup:
    """A model opened once on its runtime (session, export, inputs planned), ready to
    be timed any number of times: interleaved rounds time the same sessions, so a
    round's figure differs from the next only by the machine's load."""

    runner: Any
    loaded: Any
    label: str
    runtime: str
    plan: list[Any]
    dataset: Any
    threads: int | None
    runs: int
    seconds: float
    warmup: int
    seed: int
    device: str
    profile: bool
    notes: list[str]

    @property
    def batch_sizes(self) -> list[int]:
        """The batch size of each entry of ``plan``, in order."""
        return [next(iter(at.values()))[0][0] if at else 1 for at in self.plan]

    def samples(
        self, index: int, *, ctx: RunContext | None = None, span: tuple[float, float] = (0.0, 1.0)
    ) -> list[float]:
        """Seconds per call at ``plan[index]``: warm-up, then the timed runs."""
        from workbench.core.measure.runners import torch_threads

        batch = self.batch_sizes[index]
        feed = feed_for(self.plan[index], self.dataset, seed=self.seed)
        with torch_threads(self.threads if self.runtime == "torch" else None):
            return time_runs(
                self.runner,
                self.runner.prepare(feed),
                warmup=self.warmup,
                runs=self.runs,
                seconds=self.seconds,
                ctx=ctx,
                span=span,
                message=f"{self.label}: batch {batch} on {self.runner.provider}",
            )

    def time(
        self, ctx: RunContext | None = None, *, taken: dict[int, list[float]] | None = None
    ) -> LatencyReport:
        """One timing of every batch size: warm-up, then the timed runs. ``taken``
        (plan index -> seconds per call, timed by the caller) reports those batches
        alone, untimed again; its peak memory is then the resident set as it reports
        (ORT's and torch's arenas keep what the timing grew)."""
        from workbench.core.measure.runners import torch_threads

        ctx = ctx or RunContext()
        runner, runtime, label = self.runner, self.runtime, self.label
        cuda = getattr(runner, "device", None) is not None and runner.device.type == "cuda"
        points: list[BatchLatency] = []
        notes = list(self.notes)
        cuda_peak = None
        share = 0.9 if self.profile and runtime == "ort" else 1.0
        with PeakMemory() as memory, torch_threads(self.threads if runtime == "torch" else None):
            if cuda:
                import torch

                torch.cuda.reset_peak_memory_stats(runner.device)
            indices = range(len(self.plan)) if taken is None else sorted(taken)
            for step, index in enumerate(indices):
                batch = self.batch_sizes[index]
                span = (share * step / len(indices), share * (step + 1) / len(indices))
                samples = (
                    taken[index] if taken is not None else self.samples(index, ctx=ctx, span=span)
                )
                stats = LatencyStats.from_seconds(samples)
                points.append(BatchLatency(batch, stats, batch / (stats.mean_ms / 1e3)))
            if cuda:
                cuda_peak = int(torch.cuda.max_memory_allocated(runner.device))
            if runtime == "torch" and not cuda and 0 in indices:
                first = feed_for(self.plan[0], self.dataset, seed=self.seed)
                notes += _denormal_note(runner, first, points[0])
        table = None
        if self.profile and 0 in indices:
            if runtime != "ort":
                notes.append("the per-node profile is taken with ONNX Runtime only (--runtime ort)")
            else:
                from workbench.core.measure.profile import profile_model

                table = profile_model(
                    self.loaded,
                    feed_for(self.plan[0], self.dataset, seed=self.seed),
                    label=label,
                    device=self.device,
                    threads=self.threads,
                    runs=max(10, min(self.runs, 50)),
                    warmup=self.warmup,
                    ctx=ctx,
                    span=(share, 1.0),
                )
        ctx.report(1.0, f"{label}: measured")
        return LatencyReport(
            runtime=runtime,
            provider=runner.provider,
            threads=self.threads,
            warmup=self.warmup,
            min_runs=self.runs,
            min_seconds=self.seconds,
            input_shapes={name: list(shape) for name, (shape, _) in self.plan[0].items()},
            batches=points,
            peak_rss_bytes=memory.peak_bytes,
            rss_scope=memory.scope,
            cuda_max_allocated_bytes=cuda_peak,
            profile=table,
            notes=notes,
            device=runner.where,
        )


def prepare_latency(
    model: Any,
    *,
    runtime: str = "auto",
    batches: Sequence[int] | None = None,
    threads: int | None = None,
    runs: int = DEFAULT_RUNS,
    seconds: float = DEFAULT_SECONDS,
    warmup: int = DEFAULT_WARMUP,
    device: str | None = None,
    tensorrt: bool = False,
    shapes: Shapes | None = None,
    data: Any = None,
    profile: bool = False,
    ctx: RunContext | None = None,
) -> LatencySetup:
    """``model`` opened for timing as ``measure_latency`` describes (its arguments)."""
    from workbench.core.measure.runners import make_runner

    ctx = ctx or RunContext()
    target = as_target(model)
    loaded, label = target.loaded, target.name
    if runtime == "auto":
        runtime = "ort" if loaded.framework == "onnx" else "torch"
    device = device or ctx.device or "auto"
    dataset = resolve_dataset(data, target)
    # one input's sample (a text dataset stacks several: each is (length,))
    sample = tuple(dataset.input_shape) if dataset is not None else None
    wanted = list(dict.fromkeys(int(b) for b in batches)) if batches else [None]
    if any(b is not None and b < 1 for b in wanted):
        raise WorkbenchError("batch sizes must be at least 1")
    notes: list[str] = []
    plan = []
    for batch in wanted:
        try:
            plan.append(
                concrete_shapes(
                    loaded, label=label, batch=batch, shapes=shapes, sample_shape=sample
                )
            )
        except WorkbenchError as exc:
            if batch is None or batch_is_free(loaded) or len(wanted) == 1:
                raise
            notes.append(f"batch {batch} skipped: {exc.message}")
    if not plan:
        raise WorkbenchError(f"{label}: none of the batch sizes {wanted} can run: {notes[0]}")
    if data is not None and not samples_fit(plan[0], dataset):
        notes.append(
            f"dataset {dataset.name!r} samples do not fit the model's inputs; timed on "
            "seeded random inputs"
        )
    ctx.report(0.0, f"preparing {label} on {runtime}")
    runner = make_runner(
        loaded, runtime, label=label, device=device, threads=threads, tensorrt=tensorrt
    )
    return LatencySetup(runner, loaded, label, runtime, plan, dataset, threads, runs, seconds,
                        warmup, ctx.seed, device, profile, notes)  # fmt: skip


def _denormal_note(runner: Any, feed: dict[str, Any], point: BatchLatency) -> list[str]:
    """A note when denormal floats dominate the torch timing (untrained or pruned weights
    on real data): the figure stays as measured, but the reader should know why."""
    from workbench.core.measure.runners import flush_denormals

    with flush_denormals():
        flushed = LatencyStats.from_seconds(
            time_runs(runner, runner.prepare(feed), warmup=1, runs=5, seconds=0.0)
        )
    if flushed.p50_ms < 0.5 * point.latency.p50_ms:
        factor = point.latency.p50_ms / flushed.p50_ms
        return [
            f"denormal floats make this model {factor:.0f}x slower on this CPU (p50 "
            f"{flushed.p50_ms:.3f} ms with them flushed to zero); torch.set_flush_denormal"
            "(True) in deployment, or trained weights, avoid it"
        ]
    return []


def benchmark(
    model: Any, options: MeasureOptions | None = None, *, ctx: RunContext | None = None
) -> Metrics:
    """Latency (``measure_latency`` under ``options``), model facts and environment."""
    from workbench.core.measure.environment import describe_environment

    options = options or MeasureOptions()
    ctx = ctx or RunContext()
    target = as_target(model)
    report = latency_under(target, options, ctx=ctx)
    environment = describe_environment(
        runtime=report.runtime, threads=report.threads, provider=report.provider
    )
    return Metrics(
        facts=model_facts(target.loaded),
        environment=environment,
        latency={report.key: report},
    )


def latency_under(
    model: Any, options: MeasureOptions, *, data: Any = None, ctx: RunContext | None = None
) -> LatencyReport:
    """``measure_latency`` with ``options``' settings; ``data`` (a dataset) stands in for
    ``options.data``."""
    ctx = ctx or RunContext()
    return setup_under(model, options, data=data, ctx=ctx).time(ctx)


def setup_under(
    model: Any, options: MeasureOptions, *, data: Any = None, ctx: RunContext | None = None
) -> LatencySetup:
    """``prepare_latency`` with ``options``' settings (see ``latency_under``)."""
    return prepare_latency(
        model,
        runtime=options.runtime,
        batches=options.batches,
        threads=options.threads,
        runs=options.runs,
        seconds=options.seconds,
        warmup=options.warmup,
        device=options.device,
        tensorrt=options.tensorrt,
        shapes=options.shapes,
        data=data if data is not None else options.data,
        profile=options.profile,
        ctx=ctx,
    )


def model_facts(loaded: Any) -> ModelFacts:
    """File size, weight bytes, parameters, MACs (batch 1) and sparsity of a model."""
    import numpy as np

    notes: list[str] = []
    if loaded.onnx_model is not None:
        from onnx import numpy_helper

        from workbench.core.graph.macs_onnx import packed_weight_counts

        graph = loaded.onnx_model.graph
        arrays = [numpy_helper.to_array(t) for t in graph.initializer]
        weights = [a for a in arrays if np.issubdtype(a.dtype, np.floating)]
        packed = packed_weight_counts(graph)  # INT4 blocks: their weights, not their bytes
        parameters = sum(
            packed.get(t.name, int(a.size)) for t, a in zip(graph.initializer, arrays, strict=True)
        )
        weights_bytes = sum(int(a.nbytes) for a in arrays)
    else:
        module = loaded.module
        weights = [p.detach().cpu().numpy() for p in module.parameters()]
        parameters = sum(int(w.size) for w in weights)
        weights_bytes = sum(
            int(t.numel() * t.element_size()) for t in [*module.parameters(), *module.buffers()]
        )
    total = sum(int(w.size) for w in weights)
    zeros = sum(int(w.size - np.count_nonzero(w)) for w in weights)
    macs = None
    try:
        from workbench.core.graph import from_model

        macs = from_model(loaded).macs
    except Exception as exc:  # tracing can fail on exotic models; the other facts still hold
        notes.append(f"MACs unknown: the graph could not be built ({type(exc).__name__})")
    return ModelFacts(
        file_size=loaded.file_size or None,
        weights_bytes=weights_bytes,
        parameters=parameters,
        macs=macs,
        sparsity=zeros / total if total else 0.0,
        notes=notes,
    )
