"""`workbench apply PASS MODEL --out DIR [settings]`: any registered pass, its own flags.

The flags after MODEL come from the pass's config (``config_flags``), so a plugin's
pass is as scriptable as a built-in one; the result is written as a variant folder
like the one each step of `workbench run` leaves (model file plus variant.json with
the recipe step, which `workbench run` replays).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from workbench.cli.arguments import add_model_arguments
from workbench.cli.bench import stderr_progress
from workbench.cli.config_flags import add_config_flags, config_from_args
from workbench.cli.help import ManPageFormatter
from workbench.cli.run import write_variant_folder
from workbench.core.catalogue import get_registry
from workbench.core.compress import run_pass
from workbench.core.config_schema import config_to_dict, fields_of
from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io import load

ORDER = 79

EPILOG = """\
Each pass has its own settings: `workbench apply PASS --help` lists them as flags
(the same as `workbench passes PASS`). No before/after measurement is made here; the
prune, quantize and distill commands add that for their passes.

examples:
  workbench apply random-prune zoo:digits_cnn --amount 0.3 --seed 1 --out control/
  workbench apply channel-prune run/model.pt --arch resnet_shapes --method taylor \\
      --amount 0.5 --data shapes --out pruned/
  workbench apply quantize-dynamic model.onnx --out int8/
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "apply",
        help="run any registered pass (plugins' too) with flags from its settings",
        description="Apply one compression pass to MODEL and write the result as a "
        "variant folder. The pass's settings are flags after the pass name.",
        epilog=EPILOG,
        formatter_class=ManPageFormatter,
    )
    parser.add_argument("pass_name", metavar="PASS", help="a pass name (workbench passes)")
    # The rest is parsed once the pass is known: listing every pass's flags here would
    # import every pass module (and plugin) on each start of the command line.
    parser.add_argument("rest", nargs=argparse.REMAINDER, metavar="MODEL --out DIR ...")
    parser.set_defaults(handler=run)


def pass_parser(pass_class: type) -> argparse.ArgumentParser:
    """The command line of one pass: MODEL, where to write, and its config's flags.

    A setting of the pass named like one of this command's conveniences (``--data``,
    ``--seed``, ``--device``) is the pass's own flag; the convenience is left out.
    """
    parser = argparse.ArgumentParser(
        prog=f"workbench apply {pass_class.name}",
        description=f"{pass_class.title}: {pass_class.description}",
        formatter_class=ManPageFormatter,
    )
    taken = {flag for spec in fields_of(pass_class.config_class)
             for flag in (spec.flag, *spec.aliases)}  # fmt: skip
    clash = taken & {"--out", "--arch", "--trust", "--shape", "--json", "--help", "-h"}
    if clash:
        raise WorkbenchError(
            f"pass {pass_class.name!r} has a setting named {sorted(clash)[0]}, which "
            "workbench apply needs itself; run it through a recipe (workbench run)"
        )
    add_model_arguments(parser)
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="the variant")
    own = {
        "--data": dict(metavar="NAME|PATH", help="data for a pass that needs it"),
        "--device": dict(default="auto", metavar="DEVICE", help="auto, cpu, cuda:N or mps"),
        "--seed": dict(type=int, default=0, metavar="N", help="the run's seed"),
    }
    for flag, options in own.items():
        if flag not in taken:
            parser.add_argument(flag, dest=f"run_{flag[2:]}", **options)
    parser.add_argument("--json", action="store_true", help="print the step and metrics as JSON")
    add_config_flags(parser, pass_class.config_class, title=f"{pass_class.name} settings")
    return parser


def _run_option(options: argparse.Namespace, name: str, default: Any) -> Any:
    """This command's ``--NAME``, or the pass's own setting of that name when it has one."""
    value = getattr(options, f"run_{name}", None)
    value = getattr(options, name, None) if value is None else value
    return default if value is None else value


def run(args: argparse.Namespace) -> int:
    pass_class = get_registry().pass_(args.pass_name).load()
    options = pass_parser(pass_class).parse_args(args.rest)
    config = config_from_args(pass_class.config_class, options)
    loaded = load(options.model, arch=options.arch, trust=options.trust,
                  shapes=dict(options.shape))  # fmt: skip
    data = _run_option(options, "data", None)
    if data and loaded.dataset != data:  # as a recipe step with data: does
        loaded = dataclasses.replace(loaded, dataset=data)
    # trust: settings that name code (an "arch" field) were typed on this command line.
    ctx = RunContext(
        device=_run_option(options, "device", "auto"),
        seed=_run_option(options, "seed", 0),
        trust=True,
        data=data or None,
        progress=stderr_progress(not options.json),
    )
    result = run_pass(pass_class, loaded, config, ctx)
    step: dict[str, Any] = {"pass": pass_class.name, "config": config_to_dict(config)}
    if data:
        step["data"] = data
    label = loaded.arch or Path(options.model).stem
    write_variant_folder(result.model, options.out, f"{label} ({pass_class.name})", options.model,
                         loaded.arch, step, result.metrics, result.notes)  # fmt: skip
    if options.json:
        print(json.dumps({"step": step, "metrics": result.metrics}, indent=2, default=str))
        return 0
    print(f"{pass_class.name}: " + ", ".join(f"{k} {v}" for k, v in step["config"].items()))
    for key, value in result.metrics.items():
        if isinstance(value, (int, float, str)):
            print(f"  {key}: {value:.4g}" if isinstance(value, float) else f"  {key}: {value}")
    for note in result.notes:
        print(f"note: {note}")
    print(f"wrote {options.out}")
    return 0
