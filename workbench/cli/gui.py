"""`workbench [gui] [MODEL]`: the desktop app."""

from __future__ import annotations

import argparse
from typing import Any

ORDER = 0


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "gui",
        help="open the desktop app (the default when no command is given)",
        description="Open the desktop app on MODEL, or on the built-in demo when none is given.",
    )
    parser.add_argument("model", nargs="?", help="a model file or zoo:NAME to open")
    parser.add_argument("--arch", metavar="NAME|module:factory", help="architecture for weights")
    parser.add_argument("--trust", action="store_true", help="allow code-running formats")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from workbench.ui.app import run_app

    return run_app(model=args.model, arch=args.arch, trust=args.trust)
