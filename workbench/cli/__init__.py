"""The command line: ``workbench [MODEL]`` opens the app; sub-commands work headless.

Each sub-command is a module in this package with ``register(commands)`` (it adds its
parser and sets ``handler``) and an ``ORDER`` number for `workbench --help`; modules
are found by listing the package, so adding a command touches no shared file.

No Qt is imported unless the GUI is asked for, and torch / onnx only when a command
needs them, so `workbench inspect model.onnx` starts fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from workbench import __version__
from workbench.core.child_process import protect_descendants
from workbench.core.errors import WorkbenchError

LIBRARY_MODULES = ("torch", "onnx", "onnxruntime", "onnxscript", "onnx_ir", "transformers")
EXIT_USAGE = 2  # bad input: argparse's own status for usage errors, used for all user errors


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Make neural networks smaller and faster. With no sub-command, opens "
        "the desktop app (on MODEL, or on the built-in demo).",
        epilog="Run 'workbench COMMAND --help' for a command's options. "
        "Errors in the input exit with status 2.",
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_modules():
        module.register(commands)
    return parser


def command_modules() -> list[Any]:
    """The sub-command modules of this package, in their ``ORDER``."""
    modules = [
        importlib.import_module(f"workbench.cli.{info.name}")
        for info in pkgutil.iter_modules(__path__)
    ]
    return sorted((m for m in modules if hasattr(m, "register")), key=lambda m: m.ORDER)


def _command_names(parser: argparse.ArgumentParser) -> set[str]:
    for action in parser._actions:  # argparse exposes sub-commands only this way
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # run as the program; a caller passing argv keeps its environment
        protect_descendants()  # no Python started from here imports from the working folder
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # `workbench model.onnx` and bare `workbench` mean `workbench gui ...`.
    first = next((a for a in argv if not a.startswith("-")), None)
    wants_top_level = any(a in ("-h", "--help", "--version") for a in argv[:1])
    if not wants_top_level and (first is None or first not in _command_names(parser)):
        argv = ["gui", *argv]
    args = parser.parse_args(argv)
    args.argv = argv  # what was typed: `--nproc N` re-launches it through torchrun
    handler: Callable[[argparse.Namespace], int] = args.handler
    return run_handler(handler, args)


def run_handler(handler: Callable[[Any], int], args: Any) -> int:
    """Run a command; user errors become one stderr line and exit status 2."""
    if not (sys.warnoptions or os.environ.get("WORKBENCH_DEBUG")):
        # Libraries' deprecation and internals warnings say nothing the user can act on.
        for library in LIBRARY_MODULES:
            warnings.filterwarnings("ignore", module=rf"{library}(\.|$)")
    try:
        return handler(args)
    except WorkbenchError as exc:
        print(f"workbench: error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("workbench: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("WORKBENCH_DEBUG"):
            raise
        # A bug, not bad input: still one line, and a way to see the traceback.
        print(
            f"workbench: internal error: {type(exc).__name__}: {exc} "
            "(set WORKBENCH_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1
