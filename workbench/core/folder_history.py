"""What a variant folder remembers, for the app that opens it: the chain of variant
folders that made it (each one's ``variant.json``), turned into project variants.

A folder `workbench prune T/` wrote records ``source: T``; when T is a variant folder
too, its record says where T came from, and so on. Opening the last folder shows that
whole lineage (names, steps, metrics, dataset) rather than a bare "opened" root. Only
JSON is read here; no model is loaded and no code named in a record is run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel
from workbench.core.io.variant_folder import is_variant_folder, read_record
from workbench.core.named_sources import is_named_source
from workbench.core.project import Project, Variant

_MAX_DEPTH = 32  # a chain longer than this is cut: a loop of folders naming each other


@dataclass
class Recorded:
    """One folder's record, as far as the app shows it."""

    folder: Path
    record: dict[str, Any]

    def text(self, key: str) -> str | None:
        value = self.record.get(key)
        return value if isinstance(value, str) and value else None

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.record.get(key)
        return dict(value) if isinstance(value, dict) else {}


def folder_history(source: str | Path) -> list[Recorded]:
    """The records from the first variant folder of the chain to ``source``, oldest
    first; empty when ``source`` is no variant folder or its record cannot be read."""
    chain: list[Recorded] = []
    seen: set[Path] = set()
    current: Path | None = Path(source)
    while current is not None and len(chain) < _MAX_DEPTH and is_variant_folder(current):
        resolved = current.resolve()
        if resolved in seen:
            break
        seen.add(resolved)
        try:
            chain.append(Recorded(current, read_record(current)))
        except WorkbenchError:
            break
        current = _source_folder(current, chain[-1].text("source"))
    return chain[::-1]


def _source_folder(folder: Path, source: str | None) -> Path | None:
    """The folder a record's ``source`` names: as written, or (a path the command was
    given relative to where it ran) beside ``folder``, as `train T` then `prune T` leave it."""
    if not source or is_named_source(source):
        return None
    path = Path(source)
    if path.is_absolute() or is_variant_folder(path):
        return path
    return folder.parent / path


def history_variants(
    project: Project, loaded: LoadedModel, history: list[Recorded]
) -> list[Variant]:
    """The variants to add, parents first, for ``loaded`` opened with the lineage its
    folders record; the last one is the opened model (a plain root without history).
    Not added yet: the caller adds them in order (``Project.add``)."""
    opened = project.new_root(loaded)
    if not history:
        return [opened]
    first = history[0]
    origin = first.text("source")
    chain: list[Variant] = []
    if origin:  # where the chain started: a zoo model or a file, shown but not opened
        name = origin if is_named_source(origin) else Path(origin).name
        chain.append(
            _named(
                project,
                loaded,
                name=name,
                source=origin,
                step={},
                metrics={},
                framework=first.text("framework") or loaded.framework,
                arch=first.text("arch"),
                dataset=first.text("dataset"),
            )
        )
    for item in history:
        fields = {
            "name": item.text("name") or item.folder.name,
            "parent": chain[-1].id if chain else None,
            "step": item.mapping("step"),
            "metrics": item.mapping("metrics"),
            "dataset": item.text("dataset") or loaded.dataset,
            "arch": item.text("arch") or loaded.arch,
            "source": str(item.folder),
        }
        last = item is history[-1]
        chain.append(replace(opened, **fields) if last else _named(project, loaded, **fields))
    return chain


def _named(project: Project, loaded: LoadedModel, **fields: Any) -> Variant:
    """A variant of the chain that is named and described but not opened."""
    return replace(project.new_root(loaded), loaded=None, artifacts={}, **fields)
