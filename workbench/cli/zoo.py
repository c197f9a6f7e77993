"""`workbench zoo`: the built-in architectures."""

from __future__ import annotations

import argparse
import json
from typing import Any

ORDER = 90


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "zoo",
        help="list the built-in architectures with their dataset, parameters and MACs",
        description="List the built-in architectures (usable wherever a MODEL is taken as "
        "zoo:NAME, e.g. zoo:resnet_shapes:width=0.5).",
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
