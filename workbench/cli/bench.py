"""`workbench bench MODEL...`: latency, throughput, memory and size, measured the same way."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from workbench.cli.arguments import add_model_arguments
from workbench.core.context import RunContext
from workbench.core.io import load
from workbench.core.measure import MeasureOptions, benchmark
from workbench.core.units import human_bytes, human_count, parse_batch_sizes

ORDER = 40


def batch_list(text: str) -> list[int]:
    """``"1,8,32"`` -> [1, 8, 32], as an argparse type."""
    try:
        return parse_batch_sizes(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_data_argument(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--data", metavar="D", help=help_text)


def stderr_progress(enabled: bool) -> Callable[[float | None, str], None]:
    """A progress sink that redraws one stderr line on a terminal, and is silent otherwise."""
    if not (enabled and sys.stderr.isatty()):
        return lambda fraction, message: None

    def report(fraction: float | None, message: str) -> None:
        percent = "" if fraction is None else f"{fraction:4.0%} "
        sys.stderr.write(f"\r\033[K{percent}{message[:70]}")
        if fraction is not None and fraction >= 1.0:
            sys.stderr.write("\r\033[K")
        sys.stderr.flush()

    return report


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "bench",
        help="measure latency, throughput, memory and size of one or more models",
        description="Time each model: warm-up runs, then at least --runs runs and at least "
        "--seconds seconds; p50/p90/p99/mean/std latency per batch size, throughput, peak "
        "memory, file size, parameters, MACs and sparsity, with the machine they ran on.",
    )
    add_model_arguments(parser, nargs="+")
    parser.add_argument(
        "--runtime",
        choices=("auto", "ort", "torch"),
        default="auto",
        help="ONNX Runtime or PyTorch eager (auto: ort for ONNX files, torch otherwise; "
        "PyTorch models are exported to ONNX for ort)",
    )
    parser.add_argument(
        "--batch",
        type=batch_list,
        metavar="1,8,32",
        help="batch sizes (default: the input's own, usually 1)",
    )
    parser.add_argument("--threads", type=int, metavar="N", help="intra-op threads")
    parser.add_argument(
        "--runs",
        type=int,
        default=30,
        metavar="N",
        help="at least this many timed runs (default 30)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=1.0,
        metavar="T",
        help="and at least this long (default 1.0)",
    )
    parser.add_argument(
        "--warmup", type=int, default=5, metavar="N", help="untimed runs first (default 5)"
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda:N or auto (default cpu)")
    parser.add_argument(
        "--tensorrt",
        action="store_true",
        help="use ONNX Runtime's TensorRT provider (GPU machines)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="add ONNX Runtime's per-node profile (ort only)"
    )
    parser.add_argument(
        "--top", type=int, default=10, metavar="N", help="profiled nodes to list (default 10)"
    )
    add_data_argument(
        parser,
        "dataset for inputs and symbolic sizes: a built-in name, an image folder, .csv or .npz",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    shapes = dict(args.shape)
    options = MeasureOptions(
        runtime=args.runtime,
        batches=args.batch,
        threads=args.threads,
        runs=args.runs,
        seconds=args.seconds,
        warmup=args.warmup,
        device=args.device,
        tensorrt=args.tensorrt,
        shapes=shapes,
        data=args.data,
        profile=args.profile,
    )
    ctx = RunContext(device=args.device, progress=stderr_progress(not args.json))
    results = []
    for source in args.model:
        loaded = load(source, arch=args.arch, trust=args.trust, shapes=shapes)
        metrics = benchmark(loaded, options, ctx=ctx)
        results.append((loaded.display_name, metrics))
    if args.json:
        environment = results[0][1].environment
        payload = {
            "environment": environment,
            "results": [
                {"model": name, **{k: v for k, v in m.to_json().items() if k != "environment"}}
                for name, m in results
            ],
        }
        print(json.dumps(payload, indent=2))
    else:
        print(format_environment(results[0][1].environment or {}))
        for name, metrics in results:
            print()
            print(format_bench(name, metrics, top=args.top))
    return 0


def format_environment(env: dict[str, Any]) -> str:
    libs = env.get("libraries", {})
    versions = ", ".join(f"{k} {v}" for k, v in libs.items())
    flags = ", ".join(env.get("cpu_flags", [])) or "no flags read"
    return (
        f"machine: {env.get('cpu') or '?'} ({flags}); {env.get('usable_cpus')} usable CPUs\n"
        f"software: {versions}"
    )


def format_bench(name: str, metrics: Any, top: int = 10) -> str:

    lines = []
    for report in metrics.latency.values():
        threads = report.threads if report.threads else "default"
        device = report.conditions.device or "device not recorded"
        where = "" if device in (report.provider, "cpu") else f", {device}"
        lines.append(f"{name}  ({report.runtime} on {report.provider}, threads {threads}{where})")
        f = metrics.facts
        if f is not None:
            size = human_bytes(f.file_size) if f.file_size else "no file"
            macs = human_count(f.macs) if f.macs is not None else "?"
            lines.append(
                f"  {size}, weights {human_bytes(f.weights_bytes)}, {f.parameters:,} parameters, "
                f"{macs} MACs (batch 1), sparsity {f.sparsity:.1%}"
            )
        lines.append("  batch    p50 ms    p90 ms    p99 ms   mean ms    std ms   runs   samples/s")
        for point in report.batches:
            s = point.latency
            lines.append(
                f"  {point.batch:>5} {s.p50_ms:>9.3f} {s.p90_ms:>9.3f} {s.p99_ms:>9.3f} "
                f"{s.mean_ms:>9.3f} {s.std_ms:>9.3f} {s.runs:>6} {point.samples_per_s:>11,.1f}"
            )
        if report.peak_rss_bytes:
            scope = "during measurement" if report.rss_scope == "measurement" else "process peak"
            lines.append(f"  peak RSS {human_bytes(report.peak_rss_bytes)} ({scope})")
        if report.cuda_max_allocated_bytes:
            lines.append(f"  CUDA max allocated {human_bytes(report.cuda_max_allocated_bytes)}")
        if report.profile is not None:
            lines += _profile_lines(report.profile, top)
        lines += [f"  note: {note}" for note in [*report.notes, *(f.notes if f else [])]]
    return "\n".join(lines)


def _profile_lines(table: Any, top: int) -> list[str]:
    lines = [
        f"  profile ({table.runs} runs, optimisation {table.optimization}): nodes sum "
        f"{table.node_total_ms:.3f} ms of {table.run_ms:.3f} ms per run",
        "    op type                  nodes    ms/run   share",
    ]
    for op in table.op_types:
        lines.append(f"    {op.op_type:<24} {op.nodes:>5} {op.mean_ms:>9.3f} {op.share:>7.1%}")
    lines.append(f"    slowest {min(top, len(table.nodes))} nodes:")
    for node in table.nodes[:top]:
        lines.append(
            f"    {node.mean_ms:>9.3f} ms {node.share:>6.1%}  {node.op_type:<18} {node.name}"
        )
    return lines
