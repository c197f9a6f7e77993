"""`workbench prune MODEL --method ... --amount X --data D --out DIR`: prune, measure, save."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from workbench.cli.arguments import add_model_arguments, add_text_arguments, count_arg
from workbench.cli.config_flags import add_method_flags, config_for_method
from workbench.cli.help import ManPageFormatter
from workbench.core.compress.pruning.config import (
    LM_METHODS,
    ChannelPruneConfig,
    LMPruneConfig,
    MagnitudePruneConfig,
)
from workbench.core.compress.pruning.methods import (
    CHANNEL_METHODS,
    METHOD_NAMES,
    STRUCTURED_PASS,
    UNSTRUCTURED_PASS,
    pruning_pass,
)
from workbench.core.config_schema import FieldSpec

ORDER = 30
# The two passes behind --method: their settings become this command's flags.
LM_PASS = "lm-prune"
CONFIGS = {
    UNSTRUCTURED_PASS: MagnitudePruneConfig,
    STRUCTURED_PASS: ChannelPruneConfig,
    LM_PASS: LMPruneConfig,
}
LM_FLAGS = ("heads", "mlp", "depth", "scan_windows")  # any of these: a language model
# --method is this command's (five methods over the passes), not a pass's
OWN = ("method",)

EPILOG = """\
--method magnitude zeroes single weights (unstructured): accuracy holds to high
sparsity, but a dense runtime runs the model no faster. l1, l2, bn-scale and taylor
remove whole channels (structured; --structured is implied): the model really gets
smaller and faster. magnitude --structured ranks channels by L1 magnitude.

The folder gets model.pt (weights plus the pruned layer shapes: reopen with
--arch), model.onnx, and variant.json (the recipe step, before/after metrics).

examples:
  workbench prune zoo:resnet_shapes --method l1 --amount 0.5 --data shapes --out pruned
  workbench prune run/model.pt --arch resnet_shapes --method taylor --target macs \\
      --amount 0.75 --finetune-epochs 3 --data shapes --out pruned
  workbench prune run/model.pt --arch digits_cnn --method magnitude --amount 0.8 \\
      --steps 4 --finetune-epochs 2 --data digits --out sparse

Language models (tiny_lm-style decoders): --heads and --mlp remove that fraction of
every block's attention heads and MLP hidden width (ranked by --method l2, l1 or
taylor), --depth N removes the N blocks whose absence costs the least perplexity in
a scan that drops each block in turn (the scan is printed). Perplexity is measured
before and after on the validation split.
  workbench prune zoo:tiny_lm --heads 0.25 --mlp 0.25 --depth 1 --data stdlib-text \\
      --finetune-epochs 1 --out pruned-lm
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "prune",
        help="prune a model (unstructured weights or whole channels); writes the variant",
        description="Prune MODEL: zero its smallest weights (magnitude) or remove whole "
        "channels with their dependencies (l1, l2, bn-scale, taylor), optionally in steps "
        "with fine-tuning, then measure parameters, MACs, accuracy and ONNX Runtime "
        "latency before and after and write the variant to --out.",
        epilog=EPILOG,
        formatter_class=ManPageFormatter,
    )
    add_model_arguments(parser)
    parser.add_argument("--method", choices=METHOD_NAMES, default="magnitude", help="see below")
    parser.add_argument(
        "--structured", action="store_true", help="remove channels (implied by l1..taylor)"
    )
    parser.add_argument("--data", metavar="NAME|PATH", help="default: the model's own dataset")
    add_text_arguments(parser)  # labelled texts for a text model (its label column: label)
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the variant")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda:N or mps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-onnx", action="store_true", help="do not write model.onnx")
    parser.add_argument(
        "--no-measure", action="store_true", help="skip the before/after accuracy and latency"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=0.5,
        metavar="S",
        help="timing per model and batch size, split over 5 interleaved before/after rounds",
    )
    parser.add_argument(
        "--threads",
        type=count_arg("thread"),
        metavar="N",
        help="intra-op threads for the latencies",
    )
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    add_method_flags(parser, CONFIGS, title="pruning settings (see workbench passes)", skip=OWN)
    parser.set_defaults(handler=run)


def choose_pass(args: argparse.Namespace) -> tuple[str, Any]:
    """(pass name, validated config) from the flags; flags the pass lacks are refused."""
    if any(getattr(args, flag, None) is not None for flag in LM_FLAGS):
        return LM_PASS, config_for_method(
            CONFIGS, LM_PASS, args, preset={"method": _lm_method(args.method)},
            not_for=_not_for_lm, where="prune", skip=OWN,
        )  # fmt: skip
    name, preset = pruning_pass(args.method, args.structured)
    return name, config_for_method(
        CONFIGS, name, args, preset=preset, not_for=_not_for, where="prune", skip=OWN
    )


def _not_for_lm(spec: FieldSpec, _passes: list[str]) -> str:
    return (
        f"{spec.flag} is for channel or magnitude pruning; a language model is pruned by "
        "--heads, --mlp and --depth"
    )


def _lm_method(method: str) -> str:
    """--method for heads and MLP channels: magnitude (the default) means l2."""
    from workbench.core.errors import WorkbenchError

    if method == "magnitude":
        return "l2"
    if method not in LM_METHODS:
        raise WorkbenchError(
            f"--method {method} does not rank attention heads; use {', '.join(LM_METHODS)}"
        )
    return method


def _not_for(spec: FieldSpec, passes: list[str]) -> str:
    if passes == [LM_PASS]:
        return f"{spec.flag} is for language models only (with --heads, --mlp or --depth)"
    methods = ", ".join(CHANNEL_METHODS[:-1]) + f" or {CHANNEL_METHODS[-1]}"
    return (
        f"{spec.flag} applies to channel pruning only (add --structured or use --method "
        f"{methods}); unstructured zeros reduce no MACs or latency"
    )


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from workbench.cli.train import ProgressPrinter
    from workbench.core.compress.pruning.variant import run_pruning, write_pruned_variant
    from workbench.core.context import RunContext
    from workbench.core.data.text import TextOptions
    from workbench.core.errors import WorkbenchError
    from workbench.core.io import load
    from workbench.core.measure.inputs import data_for

    pass_name, config = choose_pass(args)
    loaded = load(args.model, arch=args.arch, trust=args.trust, shapes=dict(args.shape))
    if loaded.framework != "pytorch" or loaded.module is None:
        raise WorkbenchError(
            f"{loaded.display_name} is an ONNX model; pruning needs the PyTorch model "
            "(a zoo: name, or a checkpoint with --arch)"
        )
    if pass_name == LM_PASS:
        from workbench.core.compress.pruning.lm import require_blocks

        require_blocks(loaded.module, loaded.display_name)  # before any data is read
    data = args.data or loaded.dataset
    # Not arguments.text_options: prune's --target is the pruning target, not a column.
    texts = TextOptions(column=args.text_column, max_length=args.max_length)
    dataset = data_for(loaded, data, seed=args.seed, text_options=texts) if data else None
    printer = ProgressPrinter(sys.stderr)
    line = _ProgressLine(sys.stderr)
    ctx = RunContext(device=args.device, progress=line, seed=args.seed, train_listeners=[printer])
    try:
        pruned = run_pruning(
            loaded,
            pass_name,
            config,
            dataset=dataset,
            ctx=ctx,
            measure=not args.no_measure,
            seconds=max(0.0, args.seconds),
            threads=args.threads,
        )
        paths = write_pruned_variant(
            pruned,
            Path(args.out),
            source=args.model,
            arch=pruned.model.arch,  # depth pruning builds fewer blocks
            dataset=dataset.name if dataset is not None else None,
            data=dataset,
            onnx=not args.no_onnx,
        )
    finally:
        line.end()
        printer.end_line()
    if args.json:
        print(json.dumps({"step": pruned.step, "metrics": pruned.metrics}, indent=2, default=str))
        return 0
    print(format_result(pruned))
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    if pruned.model.arch:
        print(f"reopen: workbench inspect {paths['torch']} --arch {pruned.model.arch}")
    return 0


def format_result(pruned: Any) -> str:
    from workbench.core.units import human_bytes, human_count

    lines = [f"{pruned.step['pass']}: " + ", ".join(
        f"{k} {v}" for k, v in pruned.step["config"].items() if v not in ([], None)
    )]  # fmt: skip
    lines += _lm_lines(pruned.pass_metrics)
    if "sparsity" in pruned.pass_metrics:
        lines.append(f"sparsity {pruned.pass_metrics['sparsity']:.1%}")
    before, after = pruned.figures.get("before"), pruned.figures.get("after")
    if before and after:
        rows = [
            ("parameters", human_count, "parameters"),
            ("MACs", human_count, "macs"),
            ("weights", human_bytes, "weights_bytes"),
        ]
        for label, fmt, key in rows:
            if before.get(key) and after.get(key):
                lines.append(
                    f"{label}: {fmt(before[key])} -> {fmt(after[key])} "
                    f"({before[key] / after[key]:.2f}x)"
                )
        if "accuracy" in before:
            lines.append(f"accuracy: {before['accuracy']:.2%} -> {after['accuracy']:.2%}")
        if "perplexity" in before:
            change = after["perplexity"] / before["perplexity"] - 1.0
            lines.append(
                f"perplexity: {before['perplexity']:.2f} -> {after['perplexity']:.2f} "
                f"({change:+.1%})"
            )
        from workbench.core.compress.pruning.report import speed_lines

        lines += [f"latency, {line}" for line in speed_lines(pruned.figures)]
    lines += [f"note: {note}" for note in pruned.notes]
    return "\n".join(lines)


def _lm_lines(metrics: dict[str, Any]) -> list[str]:
    """The depth scan's table and each block's heads and MLP width, before -> after."""
    from workbench.core.compress.pruning.lm import DepthScan

    lines = []
    if "depth_scan" in metrics:
        lines.append(DepthScan.from_json(metrics["depth_scan"]).table())
        lines.append(f"dropped blocks: {', '.join(map(str, metrics['dropped_blocks']))}")
    if "blocks_after" in metrics:
        shape = "; ".join(f"{b['heads']} heads, MLP {b['mlp']}" for b in metrics["blocks_after"])
        first = metrics["blocks_before"][0]
        lines.append(f"blocks: {len(metrics['blocks_before'])} x ({first['heads']} heads, "
                     f"MLP {first['mlp']}) -> {shape}")  # fmt: skip
    return lines


class _ProgressLine:
    """Pass progress as one redrawn line on a terminal; nothing when not a terminal."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.open = False

    def __call__(self, fraction: float | None, message: str) -> None:
        if not self.tty:
            return
        shown = f"{fraction:4.0%} " if fraction is not None else ""
        self.stream.write(f"\r{shown}{message}"[:100].ljust(100))
        self.stream.flush()
        self.open = True

    def end(self) -> None:
        if self.open:
            self.stream.write("\r" + " " * 100 + "\r")
            self.open = False
