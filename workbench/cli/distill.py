"""`workbench distill --teacher T --student S --data D --out DIR`: distil, compare, save."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

from workbench.cli.arguments import ARCH_METAVAR, add_text_arguments
from workbench.cli.help import ManPageFormatter

ORDER = 35

EPILOG = """\
The student is zoo:NAME[:width=0.5,depth=0.5] (a smaller zoo architecture),
pruned:RATIO (a copy of the teacher with that fraction of its channels removed, by
Torch-Pruning) or module:factory (your own). With --baseline the same student is also
trained without the teacher (same epochs, seed and start), and the summary shows what
the teacher added.

The folder gets model.pt (the student's weights, with its layer shapes when it is a
pruned copy: reopen with --arch ARCH as variant.json names it), variant.json (the
recipe step; accuracy, parameters, MACs, latency of student, teacher and baseline),
history.json/.csv and each training's checkpoints (DIR/checkpoints). A run stopped
with Ctrl+C continues with --resume (the same command and --out), ending where the
uninterrupted run would have.

examples:
  workbench distill --teacher run/model.pt --arch resnet_shapes \\
      --student zoo:resnet_shapes:width=0.45 --data shapes --epochs 5 --baseline --out kd
  workbench distill --teacher run/model.pt --arch digits_cnn --student pruned:0.5 \\
      --alpha 0.3 --temperature 4 --data digits --out kd
"""


def register(commands: Any) -> None:
    from workbench.cli.config_flags import add_config_flags
    from workbench.core.compress.distillation import DistillConfig

    parser = commands.add_parser(
        "distill",
        help="train a smaller student to copy a teacher model; writes the student variant",
        description="Distil the teacher into a smaller student: the student learns from "
        "the labels and from the teacher's softened answers (and, optionally, its "
        "features), then student, teacher and baseline are measured side by side.",
        epilog=EPILOG,
        formatter_class=ManPageFormatter,
    )
    parser.add_argument(
        "--teacher", required=True, metavar="MODEL", help="a PyTorch model file or zoo:NAME"
    )
    parser.add_argument(
        "--arch", metavar=ARCH_METAVAR, help="architecture of a weights-only teacher"
    )
    parser.add_argument(
        "--trust", action="store_true", help="allow a teacher format that runs code on load"
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the student")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue a stopped run from DIR/checkpoints (same settings; --epochs may change)",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda:N or mps")
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    add_text_arguments(parser)  # a text teacher's labelled texts (label column: label)
    add_config_flags(parser, DistillConfig, title="distillation settings (see workbench passes)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from workbench.cli.config_flags import config_from_args
    from workbench.cli.train import ProgressPrinter
    from workbench.core.compress import run_pass
    from workbench.core.compress.distillation import DistillConfig
    from workbench.core.compress.distillation.distill_pass import Distill
    from workbench.core.context import Cancelled, RunContext
    from workbench.core.io import load

    config = config_from_args(DistillConfig, args)
    teacher = load(args.teacher, arch=args.arch, trust=args.trust)
    finished: dict[str, Any] = {}
    printer = ProgressPrinter(sys.stderr)

    def listener(phase: str, event: Any) -> None:
        kind = type(event).__name__
        if kind in ("TeacherScore", "Started"):
            printer.end_line()
            print(_heading(phase, event), file=sys.stderr, flush=True)
        if kind == "TeacherScore" and event.warning:
            print(f"warning: {event.warning}", file=sys.stderr, flush=True)
        elif kind == "Finished":
            finished[phase] = event.result
        if kind != "LossParts":
            printer(event)

    out = Path(args.out)
    # trust: the settings (a module:factory student) were typed on this command line.
    ctx = RunContext(
        device=args.device,
        seed=config.seed,
        trust=True,
        listener=listener,
        run_dir=out / "checkpoints",
        resume=args.resume,
    )
    if config.data and (args.text_column or args.max_length):  # texts read the way asked
        from workbench.core.data.text import TextOptions
        from workbench.core.measure.inputs import data_for

        options = TextOptions(column=args.text_column, max_length=args.max_length)
        ctx.data = data_for(teacher, config.data, seed=config.seed, text_options=options)
    previous = signal.signal(signal.SIGINT, lambda *_: ctx.cancel.cancel())
    try:
        result = run_pass(Distill, teacher, config, ctx)
    except Cancelled:
        print(
            f"workbench: distillation stopped; no student was written. Its checkpoints are "
            f"in {out / 'checkpoints'}: continue with --resume",
            file=sys.stderr,
        )
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)
        printer.end_line()
    paths = write_student(result, out, teacher=args.teacher, config=config,
                          history=finished.get("distill"))  # fmt: skip
    if args.json:
        print(json.dumps(result.metrics, indent=2))
    else:
        print(format_summary(result.metrics))
        model_file = paths.get("torch") or paths["hf_config"].parent  # a Hugging Face folder
        print(f"wrote {model_file}, {paths['variant'].name}, history.json/.csv")
        if result.model.arch:
            print(f"reopen: workbench inspect {paths['torch']} --arch {result.model.arch}")
    return 0


def _heading(phase: str, event: Any) -> str:
    if type(event).__name__ == "TeacherScore":
        return f"teacher: validation accuracy {event.accuracy:.2%}"
    if phase == "distill":
        return "distilling (the student learns from the teacher and the labels):"
    return "baseline (the same student, labels only):"


def write_student(
    result: Any, folder: Path, *, teacher: str, config: Any, history: Any = None
) -> dict[str, Path]:
    """``model.pt`` (state_dict), history files and ``variant.json`` with the recipe step."""
    from workbench.core.config_schema import config_to_dict
    from workbench.core.io.variant_folder import VariantRecord, write_variant

    model = result.model
    pruned = result.metrics.get("student_kind") == "pruned"  # reopens with --arch ARCH
    files = history.history.write(folder) if history is not None else {}
    record = VariantRecord(
        name=f"{_student_label(config)} (distilled from {Path(teacher).name})",
        kind="distilled",
        source=teacher,
        arch=model.arch,
        dataset=model.dataset if config.data is None else config.data,
        framework="pytorch",
        status="finished",
        step={"pass": "distill", "config": config_to_dict(config)},
        metrics=result.metrics,
        notes=list(result.notes),
    )
    return write_variant(folder, record, model, weights="pruned" if pruned else "auto",
                         files=files)  # fmt: skip


def _student_label(config: Any) -> str:
    spec = config.student
    return f"pruned {spec.removeprefix('pruned:')}" if spec.startswith("pruned:") else spec


def _latency_line(metrics: dict[str, Any]) -> str:
    """How the latency column was taken, and the student's speed-up with its spread."""
    from workbench.core.measure.spread import SpeedRatio
    from workbench.core.units import speed_change

    label = metrics.get("latency_conditions")
    if not label:
        return ""
    text = f"latency: {label}, batch 1"
    if isinstance(metrics.get("speedup_rounds"), dict):
        text += f"; student {SpeedRatio.from_json(metrics['speedup_rounds']).describe()}"
    elif isinstance(metrics.get("speedup"), float):
        text += f"; student {speed_change(metrics['speedup'])}"
    return text


def format_summary(metrics: dict[str, Any]) -> str:
    """Student, teacher and baseline side by side, as a user reads them."""

    def pct(value: Any) -> str:
        return f"{value:.2%}" if isinstance(value, float) else "n/a"

    def ms(value: Any) -> str:
        return f"{value:.3f} ms" if isinstance(value, float) else "n/a"

    rows = [
        ("teacher", metrics.get("teacher_accuracy"), metrics.get("teacher_parameters"),
         metrics.get("teacher_latency_ms")),
        ("student (distilled)", metrics.get("student_accuracy"),
         metrics.get("student_parameters"), metrics.get("student_latency_ms")),
    ]  # fmt: skip
    if "baseline_accuracy" in metrics:
        rows.append(
            (
                "student without teacher",
                metrics.get("baseline_accuracy"),
                metrics.get("student_parameters"),
                metrics.get("student_latency_ms"),
            )
        )
    lines = [f"{'':26}{'accuracy':>10}{'parameters':>13}{'latency (b=1)':>16}"]
    for name, acc, params, latency in rows:
        lines.append(f"{name:26}{pct(acc):>10}{params or 0:>13,}{ms(latency):>16}")
    timed = _latency_line(metrics)
    if timed:
        lines.append(timed)
    ratio = metrics.get("parameter_ratio")
    summary = f"student has {ratio:.1%} of the teacher's parameters" if ratio else ""
    if "gain_over_baseline_points" in metrics:
        summary += f"; the teacher added {metrics['gain_over_baseline_points']:+.2f} points"
    gap = metrics.get("gap_to_teacher_points")
    if gap is not None:
        side = "below" if gap >= 0 else "above"
        summary += f"; {abs(gap):.2f} points {side} the teacher"
    return "\n".join([*lines, summary.lstrip("; ")])
