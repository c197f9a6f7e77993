"""`workbench export MODEL --out F.onnx`: an ONNX file checked against its source."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from workbench.cli.arguments import add_model_arguments
from workbench.cli.bench import add_data_argument, stderr_progress

ORDER = 50


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "export",
        help="export to ONNX, validated by onnx.checker and a parity check",
        description="Export a model to ONNX (torch.onnx), optionally simplify it (onnxslim) "
        "and store fp16 weights, check it with onnx.checker, then compare it with the source "
        "on validation samples. A file that fails the comparison is not written unless "
        "--force. F.report.json and F.report.md are written beside F.onnx.",
    )
    add_model_arguments(parser)
    parser.add_argument("--out", required=True, type=Path, metavar="F.onnx")
    parser.add_argument(
        "--opset",
        type=int,
        metavar="N",
        help="ONNX opset (default 17 for PyTorch models; ONNX files keep theirs)",
    )
    parser.add_argument(
        "--dynamic-batch",
        action="store_true",
        help="let the batch dimension vary (PyTorch sources)",
    )
    parser.add_argument("--simplify", action="store_true", help="simplify with onnxslim")
    parser.add_argument(
        "--fp16",
        action="store_true",
        help="store weights and compute in float16 (inputs/outputs stay float32)",
    )
    parser.add_argument("--force", action="store_true", help="write the file even if parity fails")
    parser.add_argument(
        "--exporter",
        choices=("auto", "torchscript", "dynamo"),
        default="auto",
        help="torch.onnx exporter (default: the TorchScript-based one)",
    )
    parser.add_argument(
        "--atol",
        type=float,
        metavar="X",
        help="parity tolerance (default 1e-4 + 0.001%% of the output range; fp16: 1e-3 + "
        "1%% of it)",
    )
    add_data_argument(
        parser,
        "validation data for the parity check (a built-in name, image folder, .csv or .npz; "
        "default: the model's own dataset, else seeded random inputs)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from workbench.core.context import RunContext
    from workbench.core.export import ExportOptions, ParityError, export_onnx
    from workbench.core.io import load

    shapes = dict(args.shape)
    loaded = load(args.model, arch=args.arch, trust=args.trust, shapes=shapes)
    options = ExportOptions(
        opset=args.opset,
        dynamic_batch=args.dynamic_batch,
        simplify=args.simplify,
        fp16=args.fp16,
        force=args.force,
        exporter=args.exporter,
        atol=args.atol,
    )
    ctx = RunContext(progress=stderr_progress(not args.json))
    try:
        report = export_onnx(loaded, args.out, options, data=args.data, shapes=shapes, ctx=ctx)
    except ParityError as exc:
        if exc.report is not None:  # the figures are the point: show them before the error
            print(
                json.dumps(exc.report.to_json(), indent=2)
                if args.json
                else format_export(exc.report)
            )
        raise
    print(json.dumps(report.to_json(), indent=2) if args.json else format_export(report))
    return 0


def format_export(report: Any) -> str:
    from workbench.core.units import human_bytes

    parity = report.parity
    state = "wrote" if report.written else "did not write"
    lines = [
        f"{state} {report.path} ({human_bytes(report.file_size)}, opset {report.opset}, "
        f"IR {report.ir_version}, {report.nodes_after} nodes)",
        f"  exporter: {report.exporter}; onnx.checker {report.checker}",
        f"  parity on {parity.data}: {'passed' if parity.passed else 'FAILED'}",
    ]
    for o in parity.outputs:
        top1 = "" if o.top1_agreement is None else f", top-1 agreement {o.top1_agreement:.2%}"
        lines.append(
            f"    {o.name}: max |diff| {o.max_abs_diff:.3g} (tolerance {o.tolerance:.3g}), "
            f"mean {o.mean_abs_diff:.3g}{top1}"
        )
    lines += [f"  note: {note}" for note in report.notes]
    if report.written:
        stem = Path(report.path).with_suffix("")
        lines.append(f"  report: {stem}.report.json, {stem}.report.md")
    return "\n".join(lines)
