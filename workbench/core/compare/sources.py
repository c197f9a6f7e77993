"""What `workbench compare` compares: variant folders, project folders, or models
measured on the spot, all turned into ``Entry`` values."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.compare.table import Entry
from workbench.core.context import RunContext
from workbench.core.errors import DataError, WorkbenchError

VARIANT_FILE = "variant.json"  # as workbench.core.train.outputs writes it
PROJECT_FILE = "project.json"


@dataclass
class MeasureOptions:
    """How models named on the command line are measured (the `bench` defaults)."""

    runtime: str = "ort"  # one runtime for every model, so the latencies compare
    batches: list[int] | None = None
    runs: int = 30
    seconds: float = 1.0
    warmup: int = 5
    threads: int | None = None
    profile: bool = False
    data: str | None = None
    samples: int | None = None
    device: str = "cpu"
    arch: str | None = None
    trust: bool = False
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass
class Source:
    entry: Entry
    measured: bool  # measured on the spot (not read from a folder)
    op_types: list[str] | None = None
    notes: list[str] = field(default_factory=list)
    graph: Any = None


def read_folder(folder: Path) -> list[Source]:
    """A variant folder (``variant.json``) or a project folder (``project.json``)."""
    folder = Path(folder)
    if (folder / PROJECT_FILE).is_file():
        from workbench.core.project import Project

        project = Project.open(folder)
        return [Source(Entry.from_variant(v), False) for v in project.variants.values()]
    path = folder / VARIANT_FILE
    if not path.is_file():
        raise WorkbenchError(f"{folder}: neither {VARIANT_FILE} nor {PROJECT_FILE} in it")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WorkbenchError(f"{path}: not a readable variant file ({exc})") from None
    if not isinstance(record, dict) or not isinstance(record.get("metrics", {}), dict):
        raise WorkbenchError(f"{path}: not a variant file (no metrics object)")
    entry = Entry(
        id=folder.name,
        name=str(record.get("name") or folder.name),
        metrics=dict(record.get("metrics") or {}),
        step=dict(record.get("step") or {}),
        source=str(record.get("source") or ""),
    )
    return [Source(entry, False)]


def measure_folder(folder: Path, options: MeasureOptions, ctx: RunContext | None = None) -> Source:
    """A variant folder whose own model file is measured now; its stored figures (the
    training ones `workbench train` writes) stay beside the new ones.

    The folder is opened as ``workbench inspect DIR`` opens it, so the architecture its
    ``variant.json`` names is built only when it is a zoo name or ``--trust`` was given.
    """
    (stored,) = read_folder(folder)
    measured = measure_source(str(folder), options, ctx)
    measured.entry.id, measured.entry.name = stored.entry.id, stored.entry.name
    measured.entry.metrics = {**stored.entry.metrics, **measured.entry.metrics}
    measured.entry.step, measured.entry.source = stored.entry.step, stored.entry.source
    return measured


def measure_source(source: str, options: MeasureOptions, ctx: RunContext | None = None) -> Source:
    """Open ``source`` (a model file or zoo:NAME), benchmark it and, where it has a
    dataset, evaluate it: the same functions `workbench bench` and `eval` call."""
    from workbench.core.graph import from_model
    from workbench.core.io import load
    from workbench.core.measure import benchmark, evaluate

    ctx = ctx or RunContext(device=options.device)
    loaded = load(source, arch=options.arch, trust=options.trust, shapes=options.shapes)
    metrics = benchmark(
        loaded,
        runtime=options.runtime,
        batches=options.batches,
        threads=options.threads,
        runs=options.runs,
        seconds=options.seconds,
        warmup=options.warmup,
        device=options.device,
        shapes=options.shapes,
        data=options.data,
        profile=options.profile,
        ctx=ctx,
    )
    notes = []
    try:
        report = evaluate(
            loaded,
            data=options.data,
            runtime=options.runtime,
            device=options.device,
            max_samples=options.samples,
            shapes=options.shapes,
            ctx=ctx,
        )
        metrics.accuracy[report.runtime] = report
    except DataError as exc:
        notes.append(f"{loaded.display_name}: accuracy not measured ({exc.message})")
    graph = from_model(loaded)
    entry = Entry(id=source, name=_name(source, loaded), metrics=metrics.to_json(), source=source)
    return Source(entry, True, [n.op_type for n in graph.nodes], notes, graph)


def _name(source: str, loaded: Any) -> str:
    return source if source.startswith("zoo:") else loaded.display_name


def unique_names(sources: list[Source]) -> None:
    """Two variants named alike get their source appended (table columns must differ)."""
    seen: dict[str, int] = {}
    for s in sources:
        seen[s.entry.name] = seen.get(s.entry.name, 0) + 1
    for s in sources:
        if seen[s.entry.name] > 1:
            s.entry.name = f"{s.entry.name} [{s.entry.id}]"
