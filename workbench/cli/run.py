"""`workbench run RECIPE.yaml [MODEL] --out DIR`: replay a recipe headless."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from workbench.cli.arguments import add_model_arguments, add_text_arguments, text_options
from workbench.cli.bench import stderr_progress
from workbench.cli.help import ManPageFormatter
from workbench.core.io.variant_folder import VariantRecord, write_variant
from workbench.core.train.config import TrainConfig

ORDER = 85

EPILOG = """\
A recipe is YAML: a list of steps, each a pass (`workbench passes` lists them, with
`train` for the training engine) and its settings. Every step is checked before the
first one runs; an error names the file and line. The input is written to DIR/00-input/
and each step's result to DIR/NN-PASS/ (model.pt and/or model.onnx, variant.json), the
recipe as replayed to DIR/recipe.yaml, a table of what each step measured to
DIR/summary.md, and all of them side by side to DIR/comparison.html and .md (as
`workbench compare` writes them; --measure benchmarks and evaluates each first).

With no model, 'arch: nets.py:build' (a file beside the recipe, or package.module:
factory or a zoo name) is built with fresh weights; with a state_dict model, it is the
architecture the weights fit. A recipe is a file: an 'arch:' that names code runs only
with --trust (an --arch you type needs none).

example recipe:
  recipe: 1
  model: zoo:digits_cnn
  data: digits
  steps:
    - pass: train
      config: {epochs: 3}
    - pass: random-prune
      config: {amount: 0.5}

examples:
  workbench run prune.yaml --out runs/prune
  workbench run prune.yaml zoo:digits_cnn --data digits --out runs/again
  workbench run prune.yaml --check          validate, open the model; nothing runs
  workbench run train.yaml --arch nets.py:build --out runs/fresh
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "run",
        help="replay a recipe (YAML list of steps) headless and write every variant",
        description="Replay a recipe: each step (training or a compression pass) runs on "
        "the previous step's result; every variant is written to the output folder.",
        epilog=EPILOG,
        formatter_class=ManPageFormatter,
    )
    parser.add_argument("recipe", help="the recipe file (YAML)")
    add_model_arguments(parser, fresh=True)
    parser.add_argument("--data", help="data for steps that need it (overrides the recipe's)")
    parser.add_argument("--out", help="folder for the variants (required unless --check)")
    parser.add_argument("--check", action="store_true", help="validate the recipe and stop")
    parser.add_argument(
        "--nproc",
        type=int,
        metavar="N",
        help="run training steps in N processes with DDP (through torchrun); other steps "
        "run in each process alike and only the first writes",
    )
    parser.add_argument(
        "--measure",
        action="store_true",
        help="benchmark and evaluate every variant for the comparison report (else it "
        "shows what each step measured)",
    )
    parser.add_argument("--json", action="store_true", help="print the steps' metrics as JSON")
    add_text_arguments(parser, target=True)  # override the recipe's 'text:'
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from workbench.core.train import distributed

    multi = args.nproc is not None and not args.check
    if multi and not distributed.launched_by_torchrun():
        devices = _training_devices(args)  # checked here, before N processes start
        return distributed.relaunch(distributed.without_nproc(args.argv), args.nproc, devices)
    launched = distributed.launched_by_torchrun()
    group = distributed.join_group(_group_device(_training_devices(args)) if launched else "auto")
    finished = False
    try:
        code = _replay(args, group is None or group.is_main)
        finished = code == 0  # a stop (Ctrl-C) may leave peers mid-step
        return code
    finally:
        distributed.leave_group(finished=finished)


def _training_devices(args: argparse.Namespace) -> list[str]:
    """The device of each training step in the recipe (a bad recipe stops here)."""
    from workbench.core.recipe import read_recipe, validate_recipe

    steps = validate_recipe(read_recipe(Path(args.recipe)), trusted=args.trust)
    devices = [step.config.device for step in steps if isinstance(step.config, TrainConfig)]
    return devices or ["auto"]


def _group_device(devices: list[str]) -> str:
    """The processes join over NCCL on CUDA, over gloo when the training is on the CPU."""
    return devices[0] if len(set(devices)) == 1 else "auto"


def _replay(args: argparse.Namespace, main_process: bool) -> int:
    from workbench.core.context import RunContext
    from workbench.core.errors import WorkbenchError
    from workbench.core.io import load
    from workbench.core.recipe import read_recipe, run_recipe, validate_recipe

    recipe = read_recipe(Path(args.recipe))
    validate_recipe(recipe, trusted=args.trust)
    model = args.model or recipe.model
    arch = args.arch or recipe.arch_ref(trusted=args.trust)  # --arch is the user's own
    if not model and arch is None:
        raise WorkbenchError(
            "name the model: workbench run RECIPE MODEL, or 'model:' in the recipe "
            "(or 'arch:' to start from fresh weights)"
        )
    if not args.out and not args.check:
        raise WorkbenchError("name the output folder with --out DIR")
    # --check opens the model too (builds the architecture): else it is not runnable.
    loaded = load(model, arch=arch, trust=args.trust, shapes=dict(args.shape or []))
    source = model or str(loaded.arch)
    if args.check:
        print(f"{args.recipe}: {len(recipe.steps)} steps, all valid; {source} opens")
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []

    def write(outcome: Any) -> None:
        if not main_process:
            return
        rows.append(_write_step(outcome, out, source, loaded.arch))
        print(f"step {outcome.index + 1} ({outcome.pass_name}): wrote {rows[-1]['folder']}")

    if main_process:  # the starting point, so the comparison has its baseline
        write_variant_folder(loaded, out / "00-input", f"{_label(source, loaded.arch)} (input)",
                      source, loaded.arch, {}, {}, [])  # fmt: skip
    ctx = RunContext(seed=recipe.seed, progress=stderr_progress(main_process), trust=args.trust)
    texts = text_options(args)
    texts = texts if texts.to_dict() else None
    run_recipe(recipe, loaded, data=args.data, text=texts, ctx=ctx, on_step=write)
    if not main_process:
        return 0
    from workbench.core.project import atomic_write_text

    recipe.model, recipe.arch = model, loaded.arch if not model or arch else None
    recipe.data = args.data or recipe.data
    recipe.text = texts.to_dict() if texts is not None else recipe.text
    atomic_write_text(out / "recipe.yaml", recipe.to_yaml())
    atomic_write_text(out / "summary.md", _summary(rows))
    folders = [out / "00-input", *(Path(row["folder"]) for row in rows)]
    report = _comparison(folders, out, args.measure, recipe, loaded.arch)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
    else:
        print(
            f"wrote {len(rows)} variants, recipe.yaml, summary.md and {report.name} "
            f"(with comparison.md) to {out}"
        )
    return 0


def _comparison(
    folders: list[Path], out: Path, measure: bool, recipe: Any, arch: str | None
) -> Path:
    """The input and every step side by side, as `workbench compare` writes it."""
    from workbench.core.compare.comparison import compare
    from workbench.core.compare.report import write_report
    from workbench.core.compare.sources import measure_folder, read_folder
    from workbench.core.measure import MeasureOptions

    if measure:
        print("measuring each variant (latency on ONNX Runtime, accuracy)…", file=sys.stderr)
        from workbench.core.data.text import TextOptions

        text = TextOptions.from_dict(recipe.text) if recipe.text else None
        options = MeasureOptions(data=recipe.data, arch=arch, runs=20, seconds=0.5, text=text)
        sources = [measure_folder(folder, options) for folder in folders]
    else:
        sources = [source for folder in folders for source in read_folder(folder)]
    comparison = compare([source.entry for source in sources], baseline=0)
    write_report(comparison, out / "comparison.md")
    return write_report(comparison, out / "comparison.html")


def _label(source: str, arch: str | None) -> str:
    return arch or Path(source).stem


def write_variant_folder(
    loaded: Any,
    folder: Path,
    name: str,
    source: str,
    arch: str | None,
    step: dict[str, Any],
    metrics: dict[str, Any],
    notes: list[str],
) -> None:
    record = VariantRecord(
        name=name,
        source=source,
        arch=arch,
        dataset=loaded.dataset,
        framework=loaded.framework,
        step=step,
        metrics=metrics,
        notes=notes,
    )
    write_variant(folder, record, loaded)


def _write_step(outcome: Any, out: Path, source: str, arch: str | None) -> dict[str, Any]:
    folder = out / f"{outcome.index + 1:02d}-{outcome.pass_name}"
    name = f"{_label(source, arch)} step {outcome.index + 1} ({outcome.pass_name})"
    write_variant_folder(outcome.model, folder, name, source, arch, outcome.step, outcome.metrics,
                  outcome.notes)  # fmt: skip
    return {
        "step": outcome.index + 1,
        "pass": outcome.pass_name,
        "folder": str(folder),
        "metrics": outcome.metrics,
    }


def _summary(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of each step's scalar figures."""
    keys: list[str] = []
    for row in rows:
        for key, value in row["metrics"].items():
            if isinstance(value, (int, float)) and key not in keys:
                keys.append(key)
    lines = ["| step | pass | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
    for row in rows:
        cells = []
        for key in keys:
            value = row["metrics"].get(key)
            cells.append(
                "—" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)
            )
        lines.append(f"| {row['step']} | {row['pass']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
