"""`workbench plugins`: which plugins loaded, what each contributes, which failed and why."""

from __future__ import annotations

import argparse
import json
from typing import Any

from workbench.cli.help import ManPageFormatter
from workbench.core.catalogue import plugin_reports
from workbench.core.plugins import plugin_folders, user_plugin_dir

ORDER = 95

EPILOG = """\
Plugins are found through the entry-point group 'workbench.plugins' (installed
packages), the repository's plugins/ folder, and the user plugin folder
($WORKBENCH_PLUGIN_DIR, else the platform's data folder + /plugins). A plugin that
fails is listed here with its error and never stops the app. WORKBENCH_NO_PLUGINS=1
loads none. How to write one: plugins/README.md.

examples:
  workbench plugins                 what loaded, what failed
  workbench plugins --verbose       with the traceback of each failure
  workbench plugins --json          one JSON object: folders and plugins
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "plugins",
        help="list plugins: what loaded, what each contributes, what failed and why",
        description="List the plugins found, where each came from, what it contributes "
        "(models, datasets, passes, runtimes) and, for those that failed, the error.",
        epilog=EPILOG,
        formatter_class=ManPageFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="show each failure's traceback"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:

    reports = plugin_reports()
    folders = [{"path": str(path), "source": source} for path, source in plugin_folders()]
    if args.json:
        payload = {
            "folders": folders,
            "user_folder": str(user_plugin_dir()),
            "plugins": [report.to_dict() for report in reports],
        }
        print(json.dumps(payload, indent=2))
        return 0
    print(format_reports(reports, verbose=args.verbose))
    print()
    print(
        "searched: entry points 'workbench.plugins'"
        + "".join(f"; {f['source']} {f['path']}" for f in folders)
    )
    if not any(f["source"] == "user folder" for f in folders):
        print(f"user plugin folder (none yet): {user_plugin_dir()}")
    return 0


def format_reports(reports: list[Any], *, verbose: bool = False) -> str:
    """One block per plugin: name, source, status, then contributions or the error."""
    if not reports:
        return "no plugins found"
    lines = []
    width = max(len(r.name) for r in reports)
    for report in reports:
        status = "loaded" if report.loaded else "FAILED"
        version = f" {report.version}" if report.version else ""
        lines.append(f"{report.name:<{width}}  {status:<6}  {report.source}{version}")
        lines.append(f"  from {report.location}")
        if report.loaded:
            for kind, names in report.contributes.items():
                lines.append(f"  {kind}: {', '.join(names)}")
            if not report.contributes:
                lines.append("  contributes nothing")
        else:
            lines.append(f"  error: {report.error}")
            if verbose and report.details:
                lines += ["  " + line for line in report.details.rstrip().splitlines()]
    failed = sum(not r.loaded for r in reports)
    lines.append(
        f"{len(reports)} plugins, {failed} failed"
        if failed
        else f"{len(reports)} plugins, all loaded"
    )
    return "\n".join(lines)
