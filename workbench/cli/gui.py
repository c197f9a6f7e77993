"""`workbench [gui] [MODEL]`: the desktop app."""

from __future__ import annotations

import argparse
from typing import Any

from workbench.cli.arguments import ARCH_METAVAR
from workbench.cli.help import ManPageFormatter

ORDER = 0

EPILOG = """\
'workbench MODEL' and a bare 'workbench' mean the same as 'workbench gui ...'. The app
keeps its window layout and recent files in the platform's config folder
($WORKBENCH_CONFIG_DIR overrides it).

examples:
  workbench
  workbench model.onnx
  workbench gui checkpoint.pt --arch resnet_shapes
  QT_QPA_PLATFORM=offscreen workbench gui model.onnx    (no display: CI, containers)
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "gui",
        help="open the desktop app (the default when no command is given)",
        description="Open the desktop app on MODEL, or on the built-in demo when none is given.",
        epilog=EPILOG,
        formatter_class=ManPageFormatter,
    )
    parser.add_argument("model", nargs="?", help="a model file or zoo:NAME to open")
    parser.add_argument("--arch", metavar=ARCH_METAVAR, help="architecture for weights")
    parser.add_argument("--trust", action="store_true", help="allow code-running formats")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from workbench.ui.app import run_app

    return run_app(model=args.model, arch=args.arch, trust=args.trust)
