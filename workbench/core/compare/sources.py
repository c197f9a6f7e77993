"""What `workbench compare` compares: variant folders, project folders, or models
measured on the spot, all turned into ``Entry`` values.

With ``--measure`` every variant needs a latency under one set of conditions (the
options' runtime, device, threads and batch sizes): a variant whose record already has
it, taken on this machine, keeps its stored figures; the others are measured now, and
their stored figures (a GPU run's, say) stay beside the new ones.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.compare.table import Entry
from workbench.core.context import RunContext
from workbench.core.errors import DataError, WorkbenchError
from workbench.core.graph import from_model
from workbench.core.io import load
from workbench.core.io.variant_folder import VARIANT_FILE, is_variant_folder, read_record
from workbench.core.lm.measure import is_causal_lm, measure_generation
from workbench.core.measure import benchmark, evaluate
from workbench.core.measure.conditions import Conditions, default_provider
from workbench.core.measure.environment import cpu_description
from workbench.core.measure.inputs import data_for
from workbench.core.measure.metrics import Metrics, figures
from workbench.core.measure.options import MeasureOptions
from workbench.core.named_sources import is_named_source
from workbench.core.project import Project
from workbench.core.project_files import model_source

PROJECT_FILE = "project.json"


@dataclass
class Source:
    entry: Entry
    measured: bool  # measured on the spot (not read from a folder)
    op_types: list[str] | None = None
    notes: list[str] = field(default_factory=list)
    graph: Any = None
    model: tuple[str, Any] | None = None  # (where its model opens from, its arch) if stored


def target_conditions(options: MeasureOptions) -> Conditions | None:
    """The conditions ``options`` measure under, or None when only a measurement can
    tell (device "auto": ONNX Runtime takes CUDA where it works)."""
    device = (options.device or "cpu").strip().lower()
    if device == "auto":
        return None
    if device == "cuda":
        device = "cuda:0"
    return Conditions(
        options.runtime, default_provider(options.runtime, device), device, options.threads
    )


def has_figures(metrics: dict[str, Any], options: MeasureOptions) -> bool:
    """Whether ``metrics`` already hold a latency under ``options``' conditions at each
    of its batch sizes, taken on this machine (the record's CPU is this one's)."""

    wanted = target_conditions(options)
    if wanted is None:
        return False
    stored = Metrics.from_json(metrics)
    environment = stored.environment or {}
    if environment.get("cpu") != cpu_description()[0]:
        return False  # another machine's figure, or one that does not say where
    points = figures(stored).get(wanted, {})
    return all(batch in points for batch in (options.batches or [1]))


def read_folder(folder: Path) -> list[Source]:
    """A variant folder (``variant.json``) or a project folder (``project.json``)."""
    folder = Path(folder)
    if (folder / PROJECT_FILE).is_file():
        project = Project.open(folder)
        sources = []
        for variant in project.variants.values():
            try:
                model = model_source(variant, folder, trust=False)
            except WorkbenchError:
                model = None  # no model file: its stored figures are all there is
            sources.append(Source(Entry.from_variant(variant), False, model=model))
        return sources
    if not is_variant_folder(folder):
        raise WorkbenchError(f"{folder}: neither {VARIANT_FILE} nor {PROJECT_FILE} in it")
    record = read_record(folder)
    if not isinstance(record.get("metrics", {}), dict):
        raise WorkbenchError(f"{folder / VARIANT_FILE}: not a variant file (no metrics object)")
    entry = Entry(
        id=folder.name,
        name=str(record.get("name") or folder.name),
        metrics=dict(record.get("metrics") or {}),
        step=dict(record.get("step") or {}),
        source=str(record.get("source") or ""),
    )
    return [Source(entry, False, model=(str(folder), None))]


def measure_folder(folder: Path, options: MeasureOptions, ctx: RunContext | None = None) -> Source:
    """A variant folder whose own model file is measured now; its stored figures (the
    training ones `workbench train` writes, another device's latency) stay beside the
    new ones.

    The folder is opened as ``workbench inspect DIR`` opens it, so the architecture its
    ``variant.json`` names is built only when it is a zoo name or ``--trust`` was given.
    """
    (stored,) = read_folder(folder)
    return measure_stored(stored, options, ctx)


def measure_stored(
    stored: Source, options: MeasureOptions, ctx: RunContext | None = None
) -> Source:
    """``stored`` (from ``read_folder``) with its model measured now under ``options``;
    newer figures replace those taken under the same conditions, the rest stay."""
    if stored.model is None:
        raise WorkbenchError(f"{stored.entry.name}: no model file to measure")
    where, arch = stored.model
    measured = measure_source(where, options, ctx, arch=arch)
    measured.entry.id, measured.entry.name = stored.entry.id, stored.entry.name
    measured.entry.metrics = merged(stored.entry.metrics, measured.entry.metrics)
    measured.entry.step, measured.entry.source = stored.entry.step, stored.entry.source
    measured.entry.parent = stored.entry.parent
    measured.model = stored.model
    return measured


def merged(stored: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``new`` measurements over ``stored`` ones (``Metrics.merge``); a run's own
    figures (val_accuracy, a pass's record) stay as they were."""
    own = {f.name for f in dataclasses.fields(Metrics)}
    kept = {k: v for k, v in stored.items() if k not in own}
    old, fresh = Metrics.from_json(stored), Metrics.from_json(new)
    both = old.merge(fresh)
    # For the comparison only a newer figure under all the same conditions replaces a
    # stored one; a stored report at another thread count stays as a row of its own.
    reports = [*old.latency.values(), *fresh.latency.values()]
    both.latency = {report.conditions.row_key: report for report in reports}
    return {**kept, **both.to_json()}


def measure_source(
    source: str, options: MeasureOptions, ctx: RunContext | None = None, *, arch: Any = None
) -> Source:
    """Open ``source`` (a model file or zoo:NAME), benchmark it and, where it has a
    dataset, evaluate it: the same functions `workbench bench` and `eval` call. ``arch``
    (a project's recorded one) stands in for ``options.arch``."""

    ctx = ctx or RunContext(device=options.device)
    loaded = load(source, arch=arch or options.arch, trust=options.trust, shapes=options.shapes)
    notes = []
    if isinstance(options.data, str):  # read once for this model: its image size, tokenizer
        try:
            dataset = data_for(loaded, options.data, text_options=options.text)
            options = dataclasses.replace(options, data=dataset)
        except DataError:
            pass  # the data does not fit this model: accuracy says why below
    metrics = benchmark(loaded, options, ctx=ctx)
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
    if is_causal_lm(loaded):  # a language model: its decode tokens/s beside latency
        try:
            report = measure_generation(
                loaded, runtime=options.runtime, device=options.device,
                threads=options.threads, ctx=ctx,
            )  # fmt: skip
            metrics.generation[report.key] = report
        except WorkbenchError as exc:
            notes.append(f"{loaded.display_name}: tokens/s not measured ({exc.message})")
    graph = from_model(loaded)
    entry = Entry(id=source, name=_name(source, loaded), metrics=metrics.to_json(), source=source)
    return Source(entry, True, [n.op_type for n in graph.nodes], notes, graph)


def _name(source: str, loaded: Any) -> str:
    return source if is_named_source(source) else loaded.display_name


def unique_names(sources: list[Source]) -> None:
    """Two variants named alike get their source appended (table columns must differ)."""
    seen: dict[str, int] = {}
    for s in sources:
        seen[s.entry.name] = seen.get(s.entry.name, 0) + 1
    for s in sources:
        if seen[s.entry.name] > 1:
            s.entry.name = f"{s.entry.name} [{s.entry.id}]"
