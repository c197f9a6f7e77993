"""Several variants timed on one runtime, in one child process, interleaved.

Compare asks "is it faster?": that needs every variant measured the same way at the
same time. Timing variants one after another in the app's own process does not give
that: the first one pays the warm-up, and the GUI, the training tab and other jobs
share the process (and the GIL) with the timing loop. Here the parent writes each
variant as ONNX into a private folder; a child (started with ``-P``) opens one ONNX
Runtime session per model, warms every session up, then times them in rounds, each
round visiting the models in a rotated order, so drift (thermal, a background job)
lands on all of them alike. Each model gets a ``LatencyReport`` under the same
conditions (runtime, provider, device, threads, batch) ``workbench bench`` records, so
the figures slot into the variants' metrics and Compare matches them.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from workbench.core.child_process import child_environment, python_command
from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.measure.metrics import LatencyReport, Metrics

POLL_S = 0.1


@dataclass(frozen=True)
class SideBySideOptions:
    """How the side-by-side measurement runs; the same for every model in it."""

    batch: int = 1
    device: str = "cpu"  # "cpu" (ORT's CPU provider) or "cuda" / "cuda:N"
    threads: int | None = None  # intra-op threads; None: ONNX Runtime's default
    warmup_s: float = 0.5  # per model, before any timing (at least 10 runs)
    rounds: int = 10
    runs_per_round: int = 10  # the rounds time at least this many runs of each model
    round_s: float = 0.2  # ...and at least this long per model and round
    seed: int = 0

    def __post_init__(self) -> None:
        if self.batch < 1 or self.rounds < 1 or self.runs_per_round < 1:
            raise WorkbenchError("batch, rounds and runs per round must each be at least 1")


def measure_side_by_side(
    models: Sequence[tuple[str, Any]],
    options: SideBySideOptions | None = None,
    ctx: RunContext | None = None,
) -> dict[str, LatencyReport]:
    """Time each ``(name, model)`` (a Variant, LoadedModel or file) on ONNX Runtime.

    PyTorch models are exported to ONNX here (in the caller's thread, as the
    benchmark's ORT path does); the timing happens in the child. Returns a report per
    name, in the order given. Cancelling kills the child.
    """
    options = options or SideBySideOptions()
    ctx = ctx or RunContext()
    names = [name for name, _ in models]
    if len(set(names)) != len(names):
        raise WorkbenchError("each model measured side by side needs its own name")
    with tempfile.TemporaryDirectory(prefix="workbench-side-by-side-") as folder:
        entries = []
        for index, (name, model) in enumerate(models):
            ctx.check()
            ctx.report(None, f"Preparing {name} for ONNX Runtime…")
            path = Path(folder) / f"model-{index}.onnx"
            _write_onnx(model, name, path)
            entries.append({"name": name, "path": str(path)})
        request = Path(folder) / "request.json"
        result = Path(folder) / "result.json"
        request.write_text(json.dumps({"models": entries, "options": asdict(options)}))
        _run_child(request, result, ctx)
        outcome = json.loads(result.read_text())
    if outcome.get("error"):
        raise WorkbenchError(outcome["error"])
    reports = {}
    for name in names:
        metrics = Metrics.from_json(outcome["metrics"][name])
        reports[name] = next(iter(metrics.latency.values()))
    return reports


def _write_onnx(model: Any, name: str, path: Path) -> None:
    """``model`` as one ONNX file at ``path`` (external data beside it when huge)."""
    import onnx

    from workbench.core.measure.inputs import as_target
    from workbench.core.measure.runners import onnx_for

    if isinstance(model, (str, Path)) and Path(model).suffix.lower() == ".onnx":
        from workbench.core.io import load

        model = load(Path(model))
    proto = onnx_for(as_target(model).loaded, label=name, dynamic_batch=True)
    large = proto.ByteSize() > (1 << 30)  # protobuf's 2 GiB limit, with room
    onnx.save(proto, path, save_as_external_data=large, location=f"{path.name}.data")


def _run_child(request: Path, result: Path, ctx: RunContext) -> None:
    process = subprocess.Popen(
        python_command("-m", "workbench.core.measure.side_by_side", str(request), str(result)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # ORT's provider warnings; failures come back in result
        env={**child_environment(), "PYTHONWARNINGS": "ignore"},
        text=True,
        bufsize=1,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:  # a thread, so a silent child still lets us notice Cancel
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True, name="side-by-side-progress").start()
    try:
        while True:
            ctx.check()  # Cancelled: the finally below kills the child
            try:
                line = lines.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if line is None:
                break
            try:
                fraction, message = json.loads(line)
            except ValueError:
                continue
            ctx.report(fraction, message)
        code = process.wait()
        if code != 0 or not result.exists():
            raise WorkbenchError(f"the measuring process stopped early (exit status {code})")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


# -- inside the child ---------------------------------------------------------------


def _say(fraction: float | None, message: str) -> None:
    print(json.dumps([fraction, message]), flush=True)


def _child_main(request_path: str, result_path: str) -> int:
    request = json.loads(Path(request_path).read_text())
    options = SideBySideOptions(**request["options"])
    try:
        metrics = _measure(request["models"], options)
        outcome: dict[str, Any] = {"metrics": metrics}
    except WorkbenchError as exc:
        outcome = {"error": exc.message}
    Path(result_path).write_text(json.dumps(outcome))
    return 0


def _measure(models: list[dict[str, str]], options: SideBySideOptions) -> dict[str, Any]:
    from workbench.core.io import load
    from workbench.core.measure.inputs import concrete_shapes, feed_for
    from workbench.core.measure.latency import time_runs
    from workbench.core.measure.metrics import BatchLatency, LatencyStats
    from workbench.core.measure.runners import make_runner

    prepared = []
    for index, entry in enumerate(models):
        name = entry["name"]
        _say(0.1 * index / len(models), f"Starting ONNX Runtime for {name}…")
        loaded = load(Path(entry["path"]))
        shapes = concrete_shapes(loaded, label=name, batch=options.batch)
        runner = make_runner(
            loaded, "ort", label=name, device=options.device, threads=options.threads
        )
        feed = runner.prepare(feed_for(shapes, None, seed=options.seed))
        prepared.append((name, loaded, shapes, runner, feed))
    for index, (name, _, _, runner, feed) in enumerate(prepared):
        _say(0.1 + 0.1 * index / len(prepared), f"Warming up {name}…")
        time_runs(runner, feed, warmup=0, runs=10, seconds=options.warmup_s)
    samples: dict[str, list[float]] = {name: [] for name, *_ in prepared}
    for round_index in range(options.rounds):
        shift = round_index % len(prepared)
        for name, _, _, runner, feed in prepared[shift:] + prepared[:shift]:
            samples[name] += time_runs(
                runner, feed, warmup=0, runs=options.runs_per_round, seconds=options.round_s
            )
        _say(0.2 + 0.8 * (round_index + 1) / options.rounds, f"Round {round_index + 1}")
    out = {}
    others = len(prepared) - 1
    for name, _, shapes, runner, _ in prepared:
        stats = LatencyStats.from_seconds(samples[name])
        report = LatencyReport(
            runtime="ort",
            provider=runner.provider,
            threads=options.threads,
            warmup=10,
            min_runs=options.rounds * options.runs_per_round,
            min_seconds=options.rounds * options.round_s,
            input_shapes={n: list(shape) for n, (shape, _) in shapes.items()},
            batches=[BatchLatency(options.batch, stats, options.batch / (stats.mean_ms / 1e3))],
            notes=[
                f"measured in a separate process, in {options.rounds} rounds interleaved "
                f"with {others} other model{'s' if others != 1 else ''}"
            ],
            device=runner.where,
        )
        out[name] = Metrics(latency={report.key: report}).to_json()
    return out


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1], sys.argv[2]))
