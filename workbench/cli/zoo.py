"""`workbench zoo`: the built-in architectures."""

from __future__ import annotations

import argparse
import json
from typing import Any

from workbench.cli.help import ManPageFormatter

ORDER = 90

EPILOG = """\
Each architecture is built with fresh seeded weights and counted, so the figures are
exact. Plugins add architectures here too (see workbench plugins).
Keyword arguments after the name go to the architecture's factory.

examples:
  workbench zoo
  workbench zoo --json
  workbench inspect zoo:mobilenet_shapes:width=0.5
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "zoo",
        help="list the built-in architectures with their dataset, parameters and MACs",
        description="List the built-in architectures (usable wherever a MODEL is taken as "
        "zoo:NAME, e.g. zoo:resnet_shapes:width=0.5).",
        epilog=EPILOG,
        formatter_class=ManPageFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from workbench.core.zoo_info import describe_zoo

    rows = describe_zoo()
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        from workbench.cli.text import format_zoo

        print(format_zoo(rows))
    return 0
