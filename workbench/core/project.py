"""What was made: a Project holds Variants, each with its lineage, artifacts and metrics.

An opened model becomes the root variant; every pass produces a new child variant and
never mutates its parent. ``project.json`` is written atomically (temp file, fsync,
rename), so a crash mid-save leaves the previous file intact.

A Project says when it changes: ``project.events`` (psygnal, Qt-free) emits
``variant_added``, ``variant_changed``, ``variant_removed`` and ``state_changed`` with the
variant, and ``replaced`` (with the project) when an opened project's variants took the
place of its own. Views and autosave listen there; whoever changes a variant goes
through the project (``add``, ``update_variant``, ``changing``, ``set_state``,
``remove``, ``replace_with``) so that they hear of it.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from psygnal import Signal, SignalGroup

from workbench.core.io.atomic import atomic_write_bytes, atomic_write_text
from workbench.core.io.confine import confined
from workbench.core.io.loaded import LoadedModel
from workbench.core.measure.inherited import inherit_parent_figures
from workbench.core.named_sources import named_source
from workbench.core.project_record import ProjectError, check_project_record

# atomic_write_* moved to core.io.atomic (the variant folder writes with them too);
# importing them from here still works.
__all__ = [
    "PROJECT_FILE",
    "Project",
    "ProjectError",
    "ProjectEvents",
    "Variant",
    "atomic_write_bytes",
    "atomic_write_text",
]

PROJECT_FILE = "project.json"
SCHEMA_VERSION = 1


@dataclass
class Variant:
    """One version of the model: the root as opened, or the result of a step."""

    id: str
    name: str
    parent: str | None = None  # id of the variant it was made from
    step: dict[str, Any] = field(default_factory=dict)  # {"pass": ..., "config": {...}}
    artifacts: dict[str, str] = field(default_factory=dict)  # kind -> path ("onnx", "torch")
    metrics: dict[str, Any] = field(default_factory=dict)
    framework: str = ""
    source: str = ""  # what was opened: a path or zoo:NAME
    arch: str | None = None
    dataset: str | None = None
    state: str = "ready"  # ready | running | paused | interrupted | failed
    created: str = ""
    # The opened model while the app runs; never written to project.json.
    loaded: LoadedModel | None = field(default=None, repr=False, compare=False)

    def to_json(self, folder: Path | None = None) -> dict[str, Any]:
        """The record; with ``folder``, as saved there: artifacts inside it become
        relative paths and those outside it are left out (a project reads files only
        from inside its folder; ``save_project`` copies the model files in first)."""
        data = asdict(self)
        data.pop("loaded")
        if folder is not None:
            data["artifacts"] = _relative_artifacts(self.artifacts, folder)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Variant:
        known = {f for f in cls.__dataclass_fields__ if f != "loaded"}
        missing = {"id", "name"} - set(data)
        if missing:
            raise ValueError(f"variant lacks {', '.join(sorted(missing))}")
        return cls(**{k: v for k, v in data.items() if k in known})


def _relative_artifacts(artifacts: dict[str, str], folder: Path) -> dict[str, str]:
    root = Path(os.path.realpath(folder))
    kept = {}
    for kind, location in artifacts.items():
        path = Path(location)
        path = Path(os.path.realpath(path if path.is_absolute() else root / path))
        if path.is_relative_to(root):
            kept[kind] = path.relative_to(root).as_posix()
    return kept


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ProjectEvents(SignalGroup):
    """What a Project emits, each with the Variant concerned (``replaced``: the project)."""

    variant_added = Signal(object)
    variant_changed = Signal(object)  # its metrics, artifacts, name, ...
    variant_removed = Signal(object)
    state_changed = Signal(object)  # ready | running | paused | interrupted | failed
    replaced = Signal(object)  # every variant at once: an opened project's took their place


@dataclass
class Project:
    """A set of variants of one model, saved as a folder with ``project.json``."""

    name: str = "untitled"
    folder: Path | None = None
    variants: dict[str, Variant] = field(default_factory=dict)
    events: ProjectEvents = field(
        default_factory=ProjectEvents, init=False, repr=False, compare=False
    )

    def new_root(self, loaded: LoadedModel, name: str | None = None) -> Variant:
        """The variant an opened model becomes, not yet added (``add`` does that)."""
        source = str(loaded.path) if loaded.path is not None else (loaded.arch or "")
        if loaded.format.value == "zoo":
            source = named_source(loaded.arch or "")
        artifacts: dict[str, str] = {}
        if loaded.path is not None:
            artifacts[loaded.framework] = str(loaded.path)
        return Variant(
            id=self._new_id(),
            name=name or loaded.display_name,
            framework=loaded.framework,
            source=source,
            arch=loaded.arch,
            dataset=loaded.dataset,
            artifacts=artifacts,
            created=_now(),
            loaded=loaded,
        )

    def new_child(self, parent: Variant, name: str, step: dict[str, Any], **fields: Any) -> Variant:
        """The variant made from ``parent`` by ``step``, not yet added; the parent is not
        touched."""
        if parent.id not in self.variants:
            raise KeyError(parent.id)
        return Variant(
            id=self._new_id(),
            name=name,
            parent=parent.id,
            step=step,
            framework=fields.pop("framework", parent.framework),
            arch=fields.pop("arch", parent.arch),
            dataset=fields.pop("dataset", parent.dataset),
            created=_now(),
            **fields,
        )

    def add_root(self, loaded: LoadedModel, name: str | None = None) -> Variant:
        """Make an opened model the root of a new lineage."""
        return self.add(self.new_root(loaded, name))

    def add_child(self, parent: Variant, name: str, step: dict[str, Any], **fields: Any) -> Variant:
        """Record a variant made from ``parent`` by ``step``; the parent is not touched."""
        return self.add(self.new_child(parent, name, step, **fields))

    def add(self, variant: Variant) -> Variant:
        """Add a variant (from ``new_root`` or ``new_child``); ``variant_added`` follows."""
        if variant.id in self.variants:
            raise ProjectError(f"variant {variant.id} is already in the project")
        if variant.parent is not None and variant.parent not in self.variants:
            raise KeyError(variant.parent)
        variant.name = self._unique_name(variant.name)
        self.variants[variant.id] = variant
        self.events.variant_added.emit(variant)
        parent = self.variants.get(variant.parent) if variant.parent else None
        if parent is not None and inherit_parent_figures(parent, variant.metrics):
            self.events.variant_changed.emit(parent)  # it gained what the child's run took
        return variant

    def _unique_name(self, name: str) -> str:
        """``name``, or ``name (2)``, ``(3)``...: a model opened twice, or trained three
        times, gives rows and Compare columns a person can tell apart."""
        taken = {v.name for v in self.variants.values()}
        count = 2
        unique = name
        while unique in taken:
            unique, count = f"{name} ({count})", count + 1
        return unique

    def update_variant(self, variant: Variant, **fields: Any) -> Variant:
        """Set fields of ``variant`` (``metrics=...``); ``variant_changed`` follows."""
        unknown = set(fields) - set(Variant.__dataclass_fields__)
        if unknown:
            raise TypeError(f"a Variant has no {', '.join(sorted(unknown))}")
        with self.changing(variant):
            for key, value in fields.items():
                setattr(variant, key, value)
        return variant

    @contextmanager
    def changing(self, variant: Variant) -> Iterator[Variant]:
        """Change ``variant`` inside the block (store metrics on it, say); listeners hear
        ``variant_changed`` once, after it, even if the block failed halfway."""
        if self.variants.get(variant.id) is not variant:
            raise KeyError(variant.id)
        try:
            yield variant
        finally:
            self.events.variant_changed.emit(variant)

    def set_state(self, variant: Variant, state: str) -> None:
        """Mark ``variant`` ready, running, paused, interrupted or failed; ``state_changed``
        follows when that is news."""
        if self.variants.get(variant.id) is not variant:
            raise KeyError(variant.id)
        if variant.state != state:
            variant.state = state
            self.events.state_changed.emit(variant)

    def remove(self, variant: Variant) -> list[Variant]:
        """Remove ``variant`` and every variant made from it (those first); each removal
        emits ``variant_removed``. Returns the variants removed."""
        if self.variants.get(variant.id) is not variant:
            raise KeyError(variant.id)
        removed: list[Variant] = []
        for child in self.children(variant.id):
            removed += self.remove(child)
        del self.variants[variant.id]
        self.events.variant_removed.emit(variant)
        return [*removed, variant]

    def replace_with(self, other: Project) -> None:
        """Take ``other``'s name, folder and variants (a project just opened) in place of
        this one's; listeners hear ``replaced`` once and read the project again."""
        self.name, self.folder = other.name, other.folder
        self.variants = dict(other.variants)
        self.events.replaced.emit(self)

    def roots(self) -> list[Variant]:
        return [v for v in self.variants.values() if v.parent is None]

    def children(self, variant_id: str) -> list[Variant]:
        return [v for v in self.variants.values() if v.parent == variant_id]

    def lineage(self, variant_id: str) -> list[Variant]:
        """The chain from the root to ``variant_id``, root first."""
        chain: list[Variant] = []
        current: str | None = variant_id
        while current is not None:
            variant = self.variants[current]
            if variant in chain:
                raise ProjectError(f"variant {variant.id} is its own ancestor")
            chain.append(variant)
            current = variant.parent
        return chain[::-1]

    def _new_id(self) -> str:
        while True:
            candidate = uuid.uuid4().hex[:8]
            if candidate not in self.variants:
                return candidate

    # -- persistence -------------------------------------------------------------

    def to_json(self, folder: Path | None = None) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "name": self.name,
            "variants": [v.to_json(folder) for v in self.variants.values()],
        }

    def save(self, folder: Path | None = None) -> Path:
        """Write ``project.json`` atomically into ``folder`` (default: the project's)."""
        target = Path(folder or self.folder or ".")
        target.mkdir(parents=True, exist_ok=True)
        path = target / PROJECT_FILE
        atomic_write_text(path, json.dumps(self.to_json(target), indent=2))
        self.folder = target
        return path

    @classmethod
    def open(cls, folder: Path) -> Project:
        """Read a project folder; an invalid one raises ProjectError naming the file."""
        path = Path(folder) / PROJECT_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ProjectError(f"{path}: no such project file") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProjectError(f"{path}: not a readable project file ({exc})") from None
        if not isinstance(data, dict) or data.get("schema") != SCHEMA_VERSION:
            schema = data.get("schema") if isinstance(data, dict) else None
            raise ProjectError(f"{path}: unknown project schema {schema!r}")
        entries = check_project_record(data, path)
        project = cls(name=data.get("name", "untitled"), folder=Path(folder))
        for raw in entries:
            variant = Variant.from_json(raw)
            # Checked to stay inside the folder; in memory, as in a session, a usable path.
            variant.artifacts = {k: str(confined(folder, v)) for k, v in variant.artifacts.items()}
            project.variants[variant.id] = variant
        for variant in project.variants.values():
            if variant.parent is not None and variant.parent not in project.variants:
                raise ProjectError(
                    f"{path}: variant {variant.id} names a parent {variant.parent} that is missing"
                )
            try:
                project.lineage(variant.id)
            except ProjectError as exc:  # a cycle of parents
                raise ProjectError(f"{path}: {exc.message}") from None
        return project
