"""`workbench compare A B ...`: variants side by side, with deltas against a baseline.

A and B are variant folders (``variant.json``, as `workbench train --out` writes),
project folders (``project.json``: all its variants), or models (files, zoo:NAME),
which are then benchmarked and evaluated on the spot with the `bench` / `eval`
functions, on one runtime (``--runtime``, default ort) so their latencies compare.
Latencies compare only under the same conditions (runtime, provider, device, threads,
batch); ``--measure`` gives every variant one such figure, measuring only what lacks it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from workbench.cli.arguments import (
    ARCH_METAVAR,
    SHAPE_METAVAR,
    add_text_arguments,
    shape_arg,
    text_options,
)
from workbench.cli.bench import batch_list, stderr_progress

ORDER = 47
SIZE_UNITS = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def size_arg(text: str) -> float:
    """``"2.5MiB"``, ``"800kB"`` or plain bytes, as an argparse type."""
    lowered = text.strip().lower().replace(" ", "")
    number = lowered.rstrip("kmgib")
    unit = lowered[len(number) :] or "b"
    try:
        value = float(number)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 2.5MiB or 800kB") from None
    if unit not in SIZE_UNITS or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size like 2.5MiB or 800kB")
    return value * SIZE_UNITS[unit]


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "compare",
        help="compare variants: every measured figure, deltas, Pareto front, why (not) faster",
        description="Compare two or more variants side by side. Each is a variant folder "
        "(variant.json with metrics), a project folder, or a model file / zoo:NAME, which "
        "is benchmarked (and evaluated, where it has a dataset) on the spot.",
    )
    parser.add_argument("variants", nargs="+", metavar="VARIANT", help="folder, file or zoo:NAME")
    parser.add_argument(
        "--baseline", metavar="NAME", help="name, folder or source (default: first)"
    )
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", nargs="?", const="-", metavar="OUT", help="JSON (stdout if no OUT)")
    out.add_argument("--csv", nargs="?", const="-", metavar="OUT", help="CSV (stdout if no OUT)")
    out.add_argument("--md", metavar="OUT", help="Markdown report with PNG charts beside it")
    out.add_argument("--html", metavar="OUT", help="HTML report with PNG charts beside it")
    parser.add_argument(
        "--budget-latency",
        type=float,
        metavar="MS",
        help="pick the most accurate variant at most this slow (p50 ms)",
    )
    parser.add_argument(
        "--budget-size",
        type=size_arg,
        metavar="SIZE",
        help="pick the most accurate variant at most this big (e.g. 2MiB)",
    )
    parser.add_argument(
        "--layers",
        action="store_true",
        help="per-layer differences of measured models against the baseline",
    )
    measure = parser.add_argument_group("measuring models named on the command line")
    measure.add_argument(
        "--measure",
        action="store_true",
        help="give every variant a latency under one set of conditions (--runtime, "
        "--device, --threads, --batch): folders and project variants that lack one taken "
        "on this machine are measured now (their stored figures stay beside the new ones)",
    )
    measure.add_argument("--runtime", choices=("ort", "torch"), default="ort")
    measure.add_argument(
        "--device", default="cpu", metavar="D", help="cpu (default), cuda or cuda:N"
    )
    measure.add_argument("--batch", type=batch_list, metavar="1,8,32")
    measure.add_argument("--runs", type=int, default=30, metavar="N")
    measure.add_argument("--seconds", type=float, default=1.0, metavar="T")
    measure.add_argument("--threads", type=int, metavar="N")
    measure.add_argument("--profile", action="store_true", help="per-op profile (ort)")
    measure.add_argument("--data", metavar="D", help="dataset for accuracy (default: the model's)")
    measure.add_argument("--samples", type=int, metavar="N", help="evaluate the first N samples")
    add_text_arguments(parser, target=True)
    measure.add_argument("--arch", metavar=ARCH_METAVAR)
    measure.add_argument("--trust", action="store_true")
    measure.add_argument(
        "--shape", type=shape_arg, action="append", default=[], metavar=SHAPE_METAVAR
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from workbench.core.compare import Budget, compare, diff_graphs
    from workbench.core.compare.report import to_csv, to_json, write_report
    from workbench.core.compare.sources import (
        has_figures,
        measure_source,
        measure_stored,
        read_folder,
        unique_names,
    )
    from workbench.core.context import RunContext
    from workbench.core.errors import WorkbenchError
    from workbench.core.measure import MeasureOptions

    quiet = bool(args.json == "-" or args.csv == "-")
    options = MeasureOptions(
        runtime=args.runtime,
        batches=args.batch,
        runs=args.runs,
        seconds=args.seconds,
        threads=args.threads,
        profile=args.profile,
        data=args.data,
        text=text_options(args),
        samples=args.samples,
        arch=args.arch,
        trust=args.trust,
        shapes=dict(args.shape),
        device=args.device,
    )
    ctx = RunContext(device=args.device, progress=stderr_progress(not quiet))
    sources = []
    for name in args.variants:
        if not Path(name).is_dir() or _model_folder(Path(name)):
            print(f"measuring {name} on the spot ({options.runtime})…", file=sys.stderr)
            sources.append(measure_source(name, options, ctx))
            continue
        for stored in read_folder(Path(name)):
            if not args.measure or has_figures(stored.entry.metrics, options):
                if args.measure:
                    print(f"keeping {stored.entry.name}'s stored latency", file=sys.stderr)
                sources.append(stored)
                continue
            label = stored.entry.name if stored.model and stored.model[0] != name else name
            print(f"measuring {label}'s model on the spot ({options.runtime})…", file=sys.stderr)
            sources.append(measure_stored(stored, options, ctx))
    if len(sources) < 2:
        raise WorkbenchError("compare needs at least two variants")
    unique_names(sources)
    for note in (n for s in sources for n in s.notes):
        print(f"note: {note}", file=sys.stderr)
    entries = [s.entry for s in sources]
    baseline = _baseline(args.baseline, sources)
    budget = None
    if args.budget_latency is not None:
        budget = Budget("latency", args.budget_latency)
    elif args.budget_size is not None:
        budget = Budget("size", args.budget_size)
    diffs = {}
    base_graph = sources[baseline].graph
    if args.layers and base_graph is not None:
        diffs = {
            s.entry.id: diff_graphs(base_graph, s.graph)
            for i, s in enumerate(sources)
            if i != baseline and s.graph is not None
        }
    comparison = compare(
        entries,
        baseline,
        budget=budget,
        diffs=diffs,
        op_types={s.entry.id: s.op_types for s in sources if s.op_types is not None},
    )
    if args.json == "-":
        import json

        print(json.dumps(to_json(comparison), indent=2))
        return 0
    if args.csv == "-":
        print(to_csv(comparison), end="")
        return 0
    print(format_comparison(comparison))
    target = args.json or args.csv or args.md or args.html
    if target:
        fmt = "json" if args.json else "csv" if args.csv else "md" if args.md else "html"
        path = write_report(comparison, Path(target), fmt)
        print(f"wrote {path}", file=sys.stderr)
    return 0


def _model_folder(path: Path) -> bool:
    """A Hugging Face folder with no record of its own: a model, measured on the spot."""
    from workbench.core.io.hf_folder import is_hf_folder
    from workbench.core.io.variant_folder import is_variant_folder

    return is_hf_folder(path) and not is_variant_folder(path)


def _baseline(wanted: str | None, sources: list) -> int:
    from workbench.core.errors import WorkbenchError

    if wanted is None:
        return 0
    for i, s in enumerate(sources):
        if wanted in (s.entry.name, s.entry.id, s.entry.source) or (
            Path(wanted).name == Path(s.entry.id).name
        ):
            return i
    names = ", ".join(s.entry.name for s in sources)
    raise WorkbenchError(f"--baseline {wanted!r} is none of the variants ({names})")


def format_comparison(comparison: Any) -> str:
    """The table (as the Compare tab shows it), the front, the pick and the reasons."""
    lines = [comparison.table.to_text()]
    lines += details_lines(comparison.table)
    if comparison.front:
        lines.append(
            "Pareto front (latency vs accuracy): " + ", ".join(p.name for p in comparison.front)
        )
    if comparison.budget is not None:
        lines.append(comparison.pick_text())
    if comparison.explanations:
        lines += ["", "why (not) faster:"]
        lines += [e.to_text() for e in comparison.explanations]
    for diff in comparison.diffs.values():
        lines += ["", f"layers of {diff.child_name} vs {diff.parent_name}: {diff.summary()}"]
        lines += [f"  {d.status:<8} {d.name}: {'; '.join(d.changes)}" for d in diff.layers()]
    return "\n".join(lines)


def details_lines(table: Any) -> list[str]:
    """What each variant's own run recorded (a distillation's teacher figures, a
    pruning's "before"), one line per variant, apart from the compared figures."""
    found = [(name, rows) for name, rows in zip(table.names, table.details, strict=True) if rows]
    if not found:
        return []
    lines = ["", "recorded by each variant's own run (not compared):"]
    for name, rows in found:
        lines.append(f"  {name}: " + ", ".join(f"{label} {value}" for label, value in rows))
    return lines
