"""`workbench quantize MODEL --method M --out DIR`: a quantized variant, measured."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from workbench.cli.arguments import add_model_arguments, add_text_arguments, text_options
from workbench.cli.bench import add_data_argument, batch_list, stderr_progress
from workbench.cli.config_flags import add_method_flags, config_for_method
from workbench.core.compress.quantization import CONFIGS

ORDER = 62
ERROR_ROWS = 10  # per-node error rows printed (all are in variant.json)

EPILOG = """\
examples:
  workbench quantize zoo:resnet_shapes --method static --data shapes --out int8/
  workbench quantize model.onnx --method static --calibration entropy --samples 256 \\
      --data images/ --exclude /stem/stem.0/Conv --out int8/
  workbench quantize zoo:resnet_shapes --method static --auto-exclude 3 --out int8-auto/
  workbench quantize zoo:transformer_seq --method dynamic --out int8-dyn/
  workbench quantize model.onnx --method fp16 --device cuda --out fp16/
  workbench quantize zoo:tiny_lm --method int4 --block-size 32 --algorithm rtn \
      --keep-float /lm_head/MatMul --out int4/

The per-node error table (worst first) names the nodes to pass to --exclude;
--auto-exclude K takes its worst K itself, quantizes again and reports what keeping
them in float gained in accuracy and cost in speed.
"""
METHOD_ALIASES = {"static-int8": "static", "dynamic-int8": "dynamic"}


def _method(text: str) -> str:
    """A method name, or the issue-style alias (static-int8, dynamic-int8)."""
    return METHOD_ALIASES.get(text, text)


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "quantize",
        help="quantize to INT8 or FP16 (ONNX Runtime, torch.ao) and measure before/after",
        description="Quantize MODEL and write a variant folder to --out: the quantized "
        "model (model.onnx; model.pt for torch-dynamic) and variant.json with the recipe "
        "step and accuracy, latency and size before and after, plus a per-node error "
        "table. A PyTorch model is exported to ONNX first for the ONNX Runtime methods.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_model_arguments(parser)
    parser.add_argument(
        "--method",
        required=True,
        type=_method,
        choices=tuple(CONFIGS),
        help="static (or static-int8): INT8 with calibration (CNNs on VNNI/AMX CPUs); "
        "dynamic (or dynamic-int8): INT8 weights, no calibration (transformers); fp16: "
        "GPUs with tensor cores; torch-dynamic: PyTorch's int8 Linear/LSTM; int4: "
        "weight-only 4-bit MatMul weights (language models; rtn, hqq or gptq)",
    )
    add_data_argument(
        parser,
        "calibration and accuracy data: a built-in name, image folder, .csv or .npz, or "
        "labelled texts (.csv, .jsonl) for a text model (default: the model's own dataset)",
    )
    add_text_arguments(parser, target=True)
    parser.add_argument("--out", required=True, type=Path, metavar="DIR")
    parser.add_argument("--device", default="cpu", help="where latency and accuracy run")
    parser.add_argument(
        "--batch", type=batch_list, default=[1], metavar="1,32", help="batch sizes timed"
    )
    parser.add_argument("--threads", type=int, metavar="N", help="intra-op threads")
    parser.add_argument(
        "--seconds",
        type=float,
        default=1.0,
        metavar="X",
        help="timing per model and batch size, split over 5 interleaved before/after rounds",
    )
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    add_method_flags(parser, CONFIGS, title="method settings (see workbench passes)")
    parser.set_defaults(handler=run)


def config_for(args: argparse.Namespace) -> Any:
    """The chosen method's config from the flags given; a flag of another method is an error."""
    return config_for_method(CONFIGS, args.method, args)


def run(args: argparse.Namespace) -> int:
    from workbench.core.compress.quantization.variant_record import (
        record_metrics,
        write_quantized_variant,
    )
    from workbench.core.compress.quantization.workflow import quantize_variant
    from workbench.core.context import RunContext
    from workbench.core.io import load
    from workbench.core.measure.inputs import as_target, resolve_dataset

    config = config_for(args)
    loaded = load(args.model, arch=args.arch, trust=args.trust, shapes=dict(args.shape))
    data = resolve_dataset(args.data, as_target(loaded), text_options(args)) if args.data else None
    ctx = RunContext(device=args.device, progress=stderr_progress(not args.json))
    outcome = quantize_variant(
        loaded,
        args.method,
        config,
        data=data,
        device=args.device,
        batches=args.batch,
        threads=args.threads,
        seconds=args.seconds,
        ctx=ctx,
    )
    paths = write_quantized_variant(
        outcome, args.out, source=args.model, tokenizer=loaded.tokenizer
    )
    if args.json:
        print(json.dumps({"step": outcome.step, "metrics": record_metrics(outcome)}, indent=2))
    else:
        print(format_outcome(outcome, paths))
    return 0


def format_outcome(outcome: Any, paths: dict[str, Path]) -> str:
    from workbench.core.units import human_bytes

    b, a = outcome.before, outcome.after
    lines = [f"{outcome.name()}: {outcome.pass_name}"]
    if b is not None and a is not None:
        ratios = outcome.ratios()
        lines.append(
            f"  size: {human_bytes(b.size_bytes)} -> {human_bytes(a.size_bytes)} "
            f"({ratios['size_ratio']:.2f}x smaller)"
        )
        weights = outcome.pass_metrics.get("matmul_weight_bytes") or {}
        if ratios.get("matmul_weight_ratio"):
            lines.append(
                f"  MatMul weights: {human_bytes(weights['float'])} -> "
                f"{human_bytes(weights['quantized'])} "
                f"({ratios['matmul_weight_ratio']:.2f}x smaller)"
            )
        if b.perplexity is not None and a.perplexity is not None:
            lines.append(
                f"  perplexity: {b.perplexity:.2f} -> {a.perplexity:.2f} "
                f"({ratios['perplexity_change']:+.2%})"
            )
        if b.top1 is not None and a.top1 is not None:
            lines.append(
                f"  top-1: {b.top1:.2%} -> {a.top1:.2%} "
                f"({ratios['top1_change_points']:+.2f} points)"
            )
        lines += [f"  latency {line}" for line in outcome.speed_lines()]
    table = outcome.node_error
    if table is not None and table.rows:
        lines.append(f"  per-node error ({table.samples} samples; worst first, by error added):")
        for row in table.rows[:ERROR_ROWS]:
            lines.append(
                f"    {row.added:8.4f} added, {row.error:8.4f} at output "
                f"({row.sqnr_db:5.1f} dB)  {row.op_type:<10} {row.node}"
            )
        if len(table.rows) > ERROR_ROWS:
            lines.append(f"    ... {len(table.rows) - ERROR_ROWS} more in variant.json")
    if table is not None and table.blocks:
        lines.append(f"  per-block error ({table.samples} samples; output of each block):")
        for row in table.blocks:
            lines.append(f"    {row.sqnr_db:5.1f} dB  {row.error:8.4f}  {row.block}")
    if outcome.auto_exclusion is not None:
        lines += [f"  {line}" for line in outcome.auto_exclusion.describe(a)]
    lines += [f"  advice: {advice.text} [{advice.figure}]" for advice in outcome.advice()]
    lines += [f"  note: {note}" for note in outcome.notes]
    lines.append("wrote " + ", ".join(str(p) for p in paths.values()))
    return "\n".join(lines)
