"""`workbench eval MODEL --data D`: accuracy on validation data, and agreement with a parent."""

from __future__ import annotations

import argparse
import json
from typing import Any

from workbench.cli.arguments import add_model_arguments, add_text_arguments, text_options
from workbench.cli.bench import add_data_argument, stderr_progress

ORDER = 45


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "eval",
        help="accuracy (top-1, loss; MSE for regression; perplexity for an LM) on validation data",
        description="Score a model on the validation split of a dataset, with PyTorch, ONNX "
        "Runtime or both; with --parent, also how often it agrees with another model.",
    )
    add_model_arguments(parser)
    add_data_argument(
        parser,
        "dataset: a built-in name, an image folder, .csv or .npz, or labelled texts (.csv, "
        ".jsonl) for a text model (default: the model's own, for zoo architectures)",
    )
    add_text_arguments(parser, target=True)
    parser.add_argument(
        "--runtime",
        choices=("auto", "torch", "ort", "both"),
        default="auto",
        help="auto: ort for ONNX files, torch otherwise",
    )
    parser.add_argument(
        "--parent",
        metavar="MODEL",
        help="a model to compare with (top-1 agreement, max logit difference)",
    )
    parser.add_argument("--samples", type=int, metavar="N", help="use the first N samples")
    parser.add_argument("--batch-size", type=int, default=256, metavar="N")
    parser.add_argument("--device", default="cpu", help="cpu, cuda:N or auto (default cpu)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from workbench.core.context import RunContext
    from workbench.core.io import load
    from workbench.core.measure import evaluate
    from workbench.core.measure.inputs import as_target, resolve_dataset

    shapes = dict(args.shape)
    loaded = load(args.model, arch=args.arch, trust=args.trust, shapes=shapes)
    parent = load(args.parent, arch=args.arch, trust=args.trust) if args.parent else None
    # loaded once for both runtimes
    data = resolve_dataset(args.data, as_target(loaded), text_options(args))
    if args.runtime == "both":
        runtimes = ["torch", "ort"] if loaded.module is not None else ["ort"]
    else:
        runtimes = [args.runtime]
    ctx = RunContext(device=args.device, progress=stderr_progress(not args.json))
    reports = [
        evaluate(
            loaded,
            data=data,
            runtime=runtime,
            parent=parent,
            device=args.device,
            batch_size=args.batch_size,
            max_samples=args.samples,
            shapes=shapes,
            ctx=ctx,
        )
        for runtime in runtimes
    ]
    if args.json:
        payload = {
            "model": loaded.display_name,
            "accuracy": {r.runtime: asdict(r) for r in reports},
        }
        print(json.dumps(payload, indent=2))
    else:
        print("\n".join(format_accuracy(loaded.display_name, r) for r in reports))
    return 0


def format_accuracy(name: str, report: Any) -> str:
    lines = [
        f"{name} on {report.dataset} validation ({report.samples} samples), "
        f"{report.runtime} ({report.provider})"
    ]
    if report.perplexity is not None:
        lines.append(
            f"  perplexity {report.perplexity:.2f}   loss {report.loss:.4f} per token   "
            f"next-token accuracy {report.token_accuracy:.2%}"
        )
    elif report.top1 is not None:
        lines.append(f"  top-1 {report.top1:.2%}   loss {report.loss:.4f}")
    else:
        lines.append(f"  MSE {report.mse:.6g}")
    a = report.agreement
    if a is not None:
        agree = f"top-1 agreement {a.top1_agreement:.2%}, " if a.top1_agreement is not None else ""
        lines.append(
            f"  vs {a.parent}: {agree}max |logit difference| {a.max_abs_diff:.3g}, "
            f"mean {a.mean_abs_diff:.3g}"
        )
    return "\n".join(lines)
