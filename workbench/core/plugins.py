"""Finding and loading plugins: entry points, the repository's plugins/, a user folder.

A plugin is a module or package with ``register(registry)``: it declares models,
datasets, passes and runtimes through the same ``Registry`` methods the built-ins use,
naming its code as ``"module:attribute"`` strings imported only when used (napari's
npe2 idea: small declarations, heavy imports later). Start-up therefore imports only
each plugin's top module.

Where plugins come from, in this order (a name already loaded is not loaded twice):

1. installed packages declaring the entry-point group ``workbench.plugins``;
2. the repository's ``plugins/`` folder (a source checkout or the packaged app);
3. the user folder, ``$WORKBENCH_PLUGIN_DIR`` or ``platformdirs.user_data_dir("workbench")
   /plugins``.

A folder holds module files (``name.py``), packages (``name/__init__.py``) or project
folders as in ``plugins/`` (``project/pyproject.toml`` beside ``project/package/`` or
``project/src/package/``). Whatever a plugin raises, on import or in ``register``, is
recorded as a failed ``PluginReport`` and never stops the app or the command line.
``WORKBENCH_NO_PLUGINS=1`` loads none (to rule plugins out when something breaks).
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENTRY_POINT_GROUP = "workbench.plugins"
SOURCE_ENTRY_POINT = "entry point"
SOURCE_FOLDER = "folder"
SOURCE_USER = "user folder"
_SKIP = ("tests", "test", "build", "dist", "docs")


@dataclass
class PluginReport:
    """What one plugin did at start-up: what it contributed, or why it failed."""

    name: str
    source: str  # SOURCE_ENTRY_POINT, SOURCE_FOLDER or SOURCE_USER
    location: str  # "module:register" for an entry point, else the folder or file
    contributes: dict[str, list[str]] = field(default_factory=dict)  # kind -> names
    error: str | None = None  # one line; None when it loaded
    details: str = ""  # the traceback, for the Plugins dialog
    version: str = ""

    @property
    def loaded(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "location": self.location,
            "version": self.version,
            "status": "loaded" if self.loaded else "failed",
            "contributes": self.contributes,
            "error": self.error,
            "details": self.details,
        }


@dataclass
class _Candidate:
    name: str  # the plugin's name in reports and as the entries' source
    source: str
    location: str
    load: Callable[[], Any]  # returns the register callable (or a module having one)
    module: str = ""  # the top module, to skip a second copy of the same plugin
    version: str = ""


_reports: list[PluginReport] = []


def last_reports() -> list[PluginReport]:
    """The reports of the last ``load_plugins`` (``catalogue.plugin_reports`` loads first)."""
    return list(_reports)


def load_plugins(registry: Any) -> list[PluginReport]:
    """Find every plugin and let each register; called once by ``catalogue.get_registry()``."""
    reports: list[PluginReport] = []
    if os.environ.get("WORKBENCH_NO_PLUGINS", "") not in ("", "0"):
        _reports[:] = reports
        return reports
    seen: set[str] = set()
    for candidate in _candidates():
        if candidate.module and candidate.module in seen:
            continue  # e.g. installed with pip and also present in plugins/
        seen.add(candidate.module or candidate.name)
        reports.append(_load_one(candidate, registry))
    _reports[:] = reports
    return reports


def _load_one(candidate: _Candidate, registry: Any) -> PluginReport:
    report = PluginReport(
        candidate.name, candidate.source, candidate.location, version=candidate.version
    )
    try:
        target = candidate.load()
        register = getattr(target, "register", target)
        report.version = report.version or str(getattr(target, "__version__", ""))
        if not callable(register):
            raise TypeError(f"{candidate.location} has no register(registry) function")
        with registry.contributions(candidate.name) as contributed:
            register(registry)
        report.contributes = {kind: list(names) for kind, names in contributed.items()}
    except BaseException as exc:  # a plugin may raise anything, even SystemExit
        if isinstance(exc, KeyboardInterrupt):
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        report.error = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        report.details = traceback.format_exc()
    return report


def _candidates() -> Iterator[_Candidate]:
    yield from _entry_points()
    for folder, source in plugin_folders():
        yield from _folder_plugins(folder, source)


def _entry_points() -> Iterator[_Candidate]:
    from importlib.metadata import entry_points

    try:
        found = list(entry_points(group=ENTRY_POINT_GROUP))
    except Exception:  # a broken dist-info elsewhere must not stop the app
        return
    unique = {(ep.name, ep.value): ep for ep in found}  # a path listed twice lists it twice
    for ep in sorted(unique.values(), key=lambda e: e.name):
        dist = getattr(ep, "dist", None)
        yield _Candidate(
            name=ep.name,
            source=SOURCE_ENTRY_POINT,
            location=ep.value,
            load=ep.load,
            module=ep.module.split(".")[0],
            version=str(getattr(dist, "version", "") or ""),
        )


def plugin_folders() -> list[tuple[Path, str]]:
    """The folders searched for plugins, with their source label (existing ones only)."""
    folders = []
    bundled = Path(getattr(sys, "_MEIPASS", "")) / "plugins" if hasattr(sys, "_MEIPASS") else None
    root = Path(__file__).resolve().parents[2]
    # Only a source checkout (pyproject.toml beside it), never a site-packages/plugins.
    repo = root / "plugins" if (root / "pyproject.toml").is_file() else None
    for candidate in (bundled, repo):
        if candidate is not None and candidate.is_dir():
            folders.append((candidate, SOURCE_FOLDER))
            break
    user = user_plugin_dir()
    if user.is_dir() and all(user.resolve() != f.resolve() for f, _ in folders):
        folders.append((user, SOURCE_USER))
    return folders


def user_plugin_dir() -> Path:
    """``$WORKBENCH_PLUGIN_DIR``, else ``user_data_dir("workbench")/plugins``."""
    override = os.environ.get("WORKBENCH_PLUGIN_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("workbench", appauthor=False)) / "plugins"


def _folder_plugins(folder: Path, source: str) -> Iterator[_Candidate]:
    try:
        children = sorted(folder.iterdir())
    except OSError:
        return
    for child in children:
        if child.name.startswith((".", "_")) or child.name in _SKIP:
            continue
        found = _module_in(child)
        if found is None:
            continue
        path_entry, module = found
        yield _Candidate(
            name=child.stem,
            source=source,
            location=str(child),
            load=_importer(path_entry, module),
            module=module,
        )


def _module_in(child: Path) -> tuple[Path, str] | None:
    """(the folder to put on sys.path, the module to import) for one folder entry."""
    if child.is_file():
        return (child.parent, child.stem) if child.suffix == ".py" else None
    if not child.is_dir():
        return None
    if (child / "__init__.py").is_file():
        return child.parent, child.name
    # A project folder: its package directly inside or under src/ (the first one found).
    for root in (child / "src", child):
        if root.is_dir():
            for package in sorted(root.iterdir()):
                if (
                    (package / "__init__.py").is_file()
                    and package.name not in _SKIP
                    and package.name.isidentifier()
                ):
                    return root, package.name
    return None


def _importer(path_entry: Path, module: str) -> Callable[[], Any]:
    def load() -> Any:
        text = str(path_entry)
        if text not in sys.path:
            # Stays on sys.path: the plugin's "module:attribute" entries import later.
            sys.path.append(text)
        return importlib.import_module(module)

    return load
