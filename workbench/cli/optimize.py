"""`workbench optimize MODEL --data D --objective latency --max-drop 1 --budget 15m --out DIR`."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from workbench.cli.help import ManPageFormatter

ORDER = 80

EPILOG = """\
The search tries channel pruning at each --ratios (channel counts a multiple of
--round-to), recovered by distillation from the original or by fine-tuning (pruned
less where a sensitivity scan says a layer is fragile), each with and without
quantization (static INT8 keeping the worst nodes in float on a CPU; FP16 on a GPU).
A short fine-tune screens every ratio first: one far below the floor is not trained.
Each candidate is timed on ONNX Runtime at every --batch, in rounds interleaved with
the original, with one thread on machines of 4 cores or fewer (said in the output),
and scored on the validation split. No candidate starts after the budget.

DIR gets candidates/KEY/ (a variant folder per candidate: open it, compare it),
pareto.json (every candidate's figures, which are on the front), report.md (the
front, readable) and recipe.yaml (the chosen point: the best objective within
--max-drop), which `workbench run DIR/recipe.yaml --out X` replays. Ctrl+C keeps the
finished candidates; --resume continues the search from them.

examples:
  workbench optimize run/ --data shapes --objective latency --max-drop 1 --budget 15m \\
      --out opt
  workbench optimize run/ --data shapes --out opt --resume
"""


def register(commands: Any) -> None:
    from workbench.cli.arguments import add_model_arguments
    from workbench.cli.config_flags import add_config_flags
    from workbench.core.optimize.config import OptimizeConfig

    parser = commands.add_parser(
        "optimize",
        help="search pruning, distillation and quantization for the Pareto front",
        description="Search compressed versions of MODEL (pruning ratio, recovery, "
        "quantization), measure each on the target device against the original, and "
        "write the Pareto front and the recipe of the best point within the accuracy floor.",
        epilog=EPILOG,
        formatter_class=ManPageFormatter,
    )
    add_model_arguments(parser)
    parser.add_argument("--data", help="dataset name or path (default: the model's own)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the search")
    parser.add_argument(
        "--resume", action="store_true", help="continue the search in DIR from its pareto.json"
    )
    add_config_flags(parser, OptimizeConfig, title="search settings")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from workbench.cli.config_flags import config_from_args
    from workbench.core.context import RunContext
    from workbench.core.optimize import OptimizeConfig, optimize

    config = config_from_args(OptimizeConfig, args)
    ctx = RunContext(device=config.device, seed=config.seed)
    previous = signal.signal(signal.SIGINT, lambda *_: ctx.cancel.cancel())
    try:
        result = optimize(args.model, config, Path(args.out), arch=args.arch, trust=args.trust,
                          data=args.data, resume=args.resume, ctx=ctx,
                          on_event=_printer(config.objective))  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, previous)
    kept = len(result.records) - 1
    if result.stopped == "cancelled":
        print(f"workbench: stopped; {kept} finished candidates kept in {result.out} "
              "(continue with --resume)", file=sys.stderr)  # fmt: skip
        return 130
    why = {"budget": "the budget is spent", "done": "every candidate ran"}[result.stopped]
    print(f"{why} after {result.elapsed_s:.0f} s: {kept} candidates, front: "
          f"{', '.join(result.front)}")  # fmt: skip
    if result.chosen is None:
        print(f"no candidate within {config.max_drop:g} point(s) of the original; "
              f"see {result.out / 'report.md'}")  # fmt: skip
    else:
        print(f"chosen: {_line(result.chosen)}")
        print(f"wrote pareto.json, report.md and recipe.yaml to {result.out}")
    return 0


def _printer(objective: str) -> Any:
    from workbench.core.optimize import CandidateFinished, CandidateSkipped, SearchStarted

    def on_event(event: Any) -> None:
        if isinstance(event, SearchStarted):
            c = event.conditions
            print(f"timing: ONNX Runtime on {c['device']}, {event.threads_note}, batch "
                  f"{','.join(map(str, c['batches']))}, {c['rounds']} rounds interleaved "
                  "with the original", flush=True)  # fmt: skip
            print(f"original: {_line(event.baseline)}; {len(event.planned)} candidates "
                  "planned", flush=True)  # fmt: skip
        elif isinstance(event, CandidateFinished):
            mark = " [front]" if event.record["key"] in event.front else ""
            again = " (earlier run)" if event.resumed else ""
            print(f"{_line(event.record)}{mark}{again}", flush=True)
        elif isinstance(event, CandidateSkipped):
            print(f"{event.key}: not run: {event.reason}", flush=True)

    return on_event


def _line(record: dict[str, Any]) -> str:
    top1 = record.get("top1")
    text = f"{record['key']}: top-1 {'—' if top1 is None else f'{100 * top1:.2f} %'}"
    if record.get("drop_points") is not None:
        text += f" ({-record['drop_points']:+.2f})"
    speedup = record.get("speedup") or {}
    if speedup:
        text += ", " + " / ".join(f"{v:.2f}x b{b}" for b, v in speedup.items())
    else:
        text += ", " + " / ".join(f"{v:.3f} ms b{b}" for b, v in record["latency_ms"].items())
    return text + f", {record['size_bytes'] / 1024:.0f} KiB"
