"""The search: screen the ratios cheaply, then train, quantize and measure candidates
against the original until the budget is spent, writing each as it finishes.

Qt-free and synchronous: ``optimize(..., on_event=f)`` calls ``f`` with a
``SearchStarted``, then a ``CandidateFinished`` (with the front so far) or a
``CandidateSkipped`` per candidate, so a CLI prints lines and a GUI worker plots points
live. ``ctx.check()`` runs between and inside the passes: a cancel keeps every finished
candidate (``pareto.json`` is rewritten after each one) and ``resume=True`` carries on.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.context import Cancelled, RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel
from workbench.core.optimize.config import OptimizeConfig
from workbench.core.optimize.front import ORIGINAL, choose, front_keys
from workbench.core.optimize.report import PARETO_FILE, write_outputs
from workbench.core.optimize.report import conditions_of as _conditions
from workbench.core.optimize.space import Candidate, layer_caps, plan, pruning_step

SENSITIVE_DROP = 0.10  # a layer losing this much top-1 pruned alone is pruned less


@dataclass
class SearchStarted:
    conditions: dict[str, Any]  # runtime, device, threads, batches
    threads_note: str  # why the timing uses this many threads
    baseline: dict[str, Any]  # the original's record
    planned: list[str]  # candidate keys in the order they will be tried


@dataclass
class CandidateFinished:
    record: dict[str, Any]
    front: list[str]  # keys on the front so far
    resumed: bool = False  # taken from an earlier run's pareto.json


@dataclass
class CandidateSkipped:
    key: str
    reason: str


@dataclass
class SearchResult:
    records: list[dict[str, Any]]  # the original first, then each finished candidate
    front: list[str]
    chosen: dict[str, Any] | None
    stopped: str  # "done", "budget" or "cancelled"
    elapsed_s: float
    out: Path
    skipped: list[dict[str, str]] = field(default_factory=list)


Listener = Callable[[Any], None]


@dataclass
class _Search:
    source: str
    original: LoadedModel
    dataset: Any
    data_name: str
    config: OptimizeConfig
    out: Path
    ctx: RunContext
    emit: Listener
    started: float
    threads: int | None
    threads_note: str
    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    proxies: list[dict[str, Any]] = field(default_factory=list)
    sensitivity: dict[str, Any] | None = None
    models: dict[str, LoadedModel] = field(default_factory=dict)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def over_budget(self) -> bool:
        return self.elapsed >= self.config.budget_s

    def step_ctx(self, label: str) -> RunContext:
        def progress(fraction: float | None, message: str) -> None:
            self.ctx.report(fraction, f"{label}: {message}")

        return RunContext(device=self.config.device, progress=progress, cancel=self.ctx.cancel,
                          seed=self.config.seed, data=self.dataset)  # fmt: skip


def optimize(
    source: str | LoadedModel,
    config: OptimizeConfig,
    out: Path,
    *,
    arch: str | None = None,
    trust: bool = False,
    data: str | None = None,
    resume: bool = False,
    ctx: RunContext | None = None,
    on_event: Listener | None = None,
) -> SearchResult:
    """Search compressed versions of ``source`` (a file, variant folder or zoo name, or a
    model already open, as the app has it) and write them to ``out`` (module doc).
    ``data`` is a dataset name or path (default: the model's own)."""
    from workbench.core.io import load
    from workbench.core.measure.environment import usable_cpus
    from workbench.core.measure.inputs import data_for

    started = time.monotonic()
    ctx = ctx or RunContext()
    out = Path(out)
    previous = _previous(out) if resume else {}
    if not resume and (out / PARETO_FILE).exists():
        raise WorkbenchError(f"{out} holds a search already: continue it with --resume, "
                             "or name another folder")  # fmt: skip
    if isinstance(source, LoadedModel):
        original = source
        source = str(source.path) if source.path else source.display_name
    else:
        original = load(source, arch=arch, trust=trust)
    if original.framework != "pytorch" or original.module is None:
        raise WorkbenchError(f"optimize prunes and distils PyTorch models; "
                             f"{original.display_name} is {original.framework}: open its "
                             "checkpoint with --arch")  # fmt: skip
    data_name = data or original.dataset
    if not data_name:
        raise WorkbenchError(f"{original.display_name} names no dataset: pass --data NAME|PATH")
    dataset = data_for(original, data_name, seed=config.seed)
    original = dataclasses.replace(original, dataset=data_name)
    cpus = usable_cpus()
    threads = config.threads
    if threads is None and cpus <= 4:
        threads, note = 1, f"1 thread ({cpus} cores: more threads would time the neighbours)"
    else:
        note = f"{threads} threads (asked)" if threads else "the runtime's default threads"
    search = _Search(source, original, dataset, data_name, config, out, ctx, on_event or _quiet,
                     started, threads, note)  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    stopped = "done"
    try:
        _run(search, previous)
    except Cancelled:
        stopped = "cancelled"
    except _OutOfTime:
        stopped = "budget"
    return _finish(search, stopped)


class _OutOfTime(Exception):
    pass


def _quiet(event: Any) -> None:
    """The default listener: nobody listens."""


def _run(search: _Search, previous: dict[str, Any]) -> None:
    config = search.config
    baseline = _measure_original(search)
    search.records.append(baseline)
    old = {r["key"]: r for r in previous.get("candidates", []) if r["key"] != ORIGINAL}
    caps = _sensitivity(search, previous)
    ratios, late = _screen(search, previous)
    scanned = len((search.sensitivity or {}).get("accuracy", {}))
    blocks = _droppable(search)
    candidates, same = plan(config, ratios, caps, scanned, blocks)
    for key, twin in same.items():
        _skip(search, key, f"the sensitivity caps leave it the same layers as {twin}")
    search.emit(SearchStarted(_conditions(search), search.threads_note, baseline,
                              [c.key for c in candidates]))  # fmt: skip
    failed: set[str] = set()
    _try(search, candidates, old, failed)
    # The screen orders the work; it does not forbid it. Time left after every promising
    # candidate goes to the screened-out ratios, least pruned first (a 1-epoch fine-tune
    # of a width-2 ResNet at 0.875 scored 84 %, distilled for 3 epochs 96 %), until one
    # ratio has nothing within the floor.
    floor = _floor(search)
    for ratio in late:
        planned = [c for c in plan(config, [ratio], caps, scanned, blocks)[0] if c.ratio == ratio]
        try:
            finished = _try(search, planned, old, failed)
        finally:  # once one of them is timed, the ratio was not skipped after all
            if {c.key for c in planned} & {r["key"] for r in search.records}:
                search.skipped = [s for s in search.skipped if s["key"] != f"p{ratio:g}"]
        if not any(r["top1"] is not None and r["top1"] >= floor for r in finished):
            break


def _try(
    search: _Search, candidates: list[Candidate], old: dict[str, Any], failed: set[str]
) -> list[dict[str, Any]]:
    """Run ``candidates`` in turn (an earlier run's records taken as they are); the
    records of those that finished."""
    finished = []
    for candidate in candidates:
        search.ctx.check()
        if candidate.key in old:
            search.records.append(old[candidate.key])
            search.emit(CandidateFinished(old[candidate.key], _front(search), resumed=True))
            finished.append(old[candidate.key])
            continue
        if candidate.parent in failed:
            failed.add(candidate.key)
            _skip(search, candidate.key, f"{candidate.parent} did not finish")
            continue
        if search.over_budget():
            raise _OutOfTime
        try:
            record = _run_candidate(search, candidate)
        except WorkbenchError as exc:
            failed.add(candidate.key)
            _skip(search, candidate.key, exc.message)
            continue
        search.records.append(record)
        _write(search, "running")
        search.emit(CandidateFinished(record, _front(search)))
        finished.append(record)
    return finished


def _floor(search: _Search, margin: float = 0.0) -> float:
    """The lowest top-1 allowed: the original's less ``max_drop`` (and ``margin``) points."""
    return search.records[0]["top1"] - (search.config.max_drop + margin) / 100


def _skip(search: _Search, key: str, reason: str) -> None:
    search.skipped.append({"key": key, "reason": reason})
    search.emit(CandidateSkipped(key, reason))


def _measure_original(search: _Search) -> dict[str, Any]:
    from workbench.core.measure.accuracy import evaluate

    search.ctx.report(0.0, "measuring the original")
    report = evaluate(search.original, data=search.dataset, device=_eval_device(search))
    return _record(search, ORIGINAL, search.original, report, sides=None)


def _droppable(search: _Search) -> int:
    """How many blocks the original could lose (``compress.pruning.blocks``); a depth
    asked for beyond that is skipped, said once (not for a model with none: depth
    pruning does not apply to it, as FP16 does not on a CPU)."""
    from workbench.core.compress.distillation.students import example_input
    from workbench.core.compress.pruning.blocks import droppable_blocks
    from workbench.core.train.setup import stacked_inputs

    config = search.config
    deeper = sorted(d for d in set(config.drop_blocks) if d > 0)
    if not deeper or "distill" not in config.recovery or stacked_inputs(search.dataset):
        return 0  # (a text model's student is a folder, never a pruned: copy)
    count = len(droppable_blocks(search.original.module,
                                 example_input(search.original, search.dataset)))  # fmt: skip
    for depth in deeper:
        if 0 < count < depth:
            _skip(search, f"d{depth}", f"dropping {depth} block(s): {search.original.display_name}"
                  f" has {count} that keep their input's shape")  # fmt: skip
    return count


def _sensitivity(search: _Search, previous: dict[str, Any]) -> dict[float, dict[str, float]]:
    """Per-ratio layer caps from one scan (fine-tuned candidates use them)."""
    from workbench.core.compress.pruning.sensitivity import SensitivityReport, sensitivity_scan

    config = search.config
    if not config.sensitivity or "finetune" not in config.recovery:
        return {}
    if previous.get("sensitivity"):
        report = SensitivityReport(**previous["sensitivity"])
    else:
        scan_ratios = sorted({min(r, 0.9) for r in config.ratios})
        report = sensitivity_scan(search.original, search.dataset, ratios=scan_ratios,
                                  ctx=search.step_ctx("sensitivity scan"))  # fmt: skip
    search.sensitivity = report.to_json()
    return {r: layer_caps(report, r, SENSITIVE_DROP) for r in config.ratios}


def _screen(search: _Search, previous: dict[str, Any]) -> tuple[list[float], list[float]]:
    """The ratios worth full training, and those left for the time that remains: each is
    pruned uniformly and fine-tuned briefly (least pruning first); the first whose accuracy
    is hopeless goes to the second list, larger ratios with it (not screened). MACs are
    recorded beside, the proxy for speed. A ratio that leaves every layer
    the channels a smaller one left (each keeps one multiple of ``round_to`` already) would
    train the same network again: it is skipped."""
    from workbench.core.compress.pruning.structured import layer_channels
    from workbench.core.measure.accuracy import evaluate
    from workbench.core.measure.latency import model_facts

    config = search.config
    floor = _floor(search, config.proxy_margin)
    done = {p["ratio"]: p for p in previous.get("proxies", [])}
    kept: list[float] = []
    for ratio in sorted(config.ratios):
        search.ctx.check()
        if ratio in done:
            proxy = done[ratio]
        else:
            if search.over_budget():
                break
            step = pruning_step(
                config, ratio, "finetune", config.proxy_epochs, {}
            )  # uniform: the worst case
            from workbench.core.optimize.steps import run_step

            model, _, _ = run_step(
                search.original, step, config, search.step_ctx(f"screening {ratio:g}")
            )
            top1 = evaluate(model, data=search.dataset, device=_eval_device(search)).top1
            proxy = {"ratio": ratio, "top1": top1, "macs": model_facts(model).macs,
                     "epochs": config.proxy_epochs,
                     "channels": layer_channels(model.module)}  # fmt: skip
        proxy["hopeless"] = proxy["top1"] < floor
        search.proxies.append(proxy)
        channels = proxy.get("channels")  # absent from an earlier run's pareto.json
        twin = next((p["ratio"] for p in search.proxies[:-1]
                     if channels and p["ratio"] in kept and p.get("channels") == channels),
                    None)  # fmt: skip
        if twin is not None:
            _skip(search, f"p{ratio:g}", f"pruned at {ratio:g} it keeps the channels {twin:g} "
                  f"keeps (multiples of {config.channel_multiple()})")  # fmt: skip
            continue
        if proxy["hopeless"]:
            late = [r for r in sorted(config.ratios) if r >= ratio]
            for larger in late:
                _skip(search, f"p{larger:g}", f"screened out: {proxy['top1']:.1%} after "
                      f"{proxy['epochs']} epoch(s) at {ratio:g}, below {floor:.1%}; tried "
                      "last if time is left")  # fmt: skip
            return kept, late
        kept.append(ratio)
    return kept, []


def _run_candidate(search: _Search, candidate: Candidate) -> dict[str, Any]:
    from workbench.core.measure.accuracy import evaluate
    from workbench.core.optimize.steps import run_step

    began = time.monotonic()
    start = search.original if candidate.parent is None else _model(search, candidate.parent)
    model, step, notes = run_step(start, candidate.own_step, search.config,
                                  search.step_ctx(candidate.key))  # fmt: skip
    candidate.steps[-1] = step  # as recorded: the INT8 step names its float nodes
    search.models[candidate.key] = model
    search.ctx.check()
    report = evaluate(model, data=search.dataset, device=_eval_device(search))
    sides = _timed(search, model, candidate.key)
    record = _record(search, candidate.key, model, report, sides)
    record.update(ratio=candidate.ratio, recovery=candidate.recovery, quant=candidate.quant,
                  parent=candidate.parent, steps=_steps(search, candidate),
                  seconds=round(time.monotonic() - began, 2))  # fmt: skip
    record["folder"] = _write_folder(search, candidate, model, record, notes)
    return record


def _steps(search: _Search, candidate: Candidate) -> list[dict[str, Any]]:
    """The whole chain, the parent's steps as that candidate recorded them."""
    if candidate.parent is None:
        return list(candidate.steps)
    parent = next(r for r in search.records if r["key"] == candidate.parent)
    return [*parent["steps"], candidate.steps[-1]]


def _model(search: _Search, key: str) -> LoadedModel:
    """A finished candidate's model: in memory, or reopened from its folder (resume)."""
    if key not in search.models:
        from workbench.core.io import load

        search.models[key] = dataclasses.replace(
            load(search.out / "candidates" / key), dataset=search.data_name
        )
    return search.models[key]


def _timed(search: _Search, model: LoadedModel, key: str) -> Any:
    """The original and the candidate timed in turn (interleaved rounds), same options."""
    from workbench.core.measure.before_after import measure_before_after

    return measure_before_after({"before": search.original, "after": model}, _options(search),
                                data=search.dataset, rounds=search.config.rounds,
                                ctx=search.step_ctx(f"{key}: timing"))  # fmt: skip


def _options(search: _Search) -> Any:
    from workbench.core.measure.options import MeasureOptions

    return MeasureOptions(runtime="ort", batches=list(search.config.batch), runs=10,
                          seconds=search.config.seconds, warmup=3, threads=search.threads,
                          device=search.config.device)  # fmt: skip


def _eval_device(search: _Search) -> str:
    return "cpu" if not search.config.gpu else search.config.device


def _record(
    search: _Search, key: str, model: LoadedModel, accuracy: Any, sides: Any
) -> dict[str, Any]:
    from workbench.core.compress.quantization.workflow import model_bytes
    from workbench.core.measure.latency import model_facts
    from workbench.core.measure.metrics import Metrics

    facts = model_facts(model)
    top1 = accuracy.top1
    record: dict[str, Any] = {"key": key, "top1": top1, "size_bytes": model_bytes(model),
                              "macs": facts.macs, "parameters": facts.parameters}  # fmt: skip
    alone = sides is None  # the original: timed alone once, for its own row
    if alone:
        sides = _timed(search, model, key)
    # The same figures as Metrics (what Compare and the inspector read), so a candidate
    # added as a variant, or its folder opened, compares with the others.
    record["metrics"] = Metrics(facts=facts, latency=sides["after"].metrics.latency,
                                accuracy={accuracy.runtime: accuracy}).to_json()  # fmt: skip
    if alone:
        record["latency_ms"] = _per_batch(sides["after"].latency_ms)
        return record
    after, before = _per_batch(sides["after"].latency_ms), _per_batch(sides["before"].latency_ms)
    base = search.records[0]
    record.update(
        latency_ms=after,
        original_ms=before,
        speedup={b: round(before[b] / after[b], 3) for b in after if after[b]},
        drop_points=None if top1 is None else round(100 * (base["top1"] - top1), 3),
        size_ratio=round(base["size_bytes"] / record["size_bytes"], 3),
    )
    return record


def _per_batch(latency: dict[int, float]) -> dict[str, float]:
    return {str(batch): round(ms, 4) for batch, ms in latency.items()}


def _front(search: _Search) -> list[str]:
    return front_keys(search.records, search.config.objective)


def _write_folder(search: _Search, candidate: Candidate, model: LoadedModel, record: dict[str, Any],
                  notes: list[str]) -> str:  # fmt: skip
    from workbench.core.io.variant_folder import VariantRecord, write_variant

    folder = search.out / "candidates" / candidate.key
    label = search.original.arch or Path(search.source).stem
    variant = VariantRecord(
        name=f"{label} ({candidate.key})",
        source=search.source,
        arch=search.original.arch,
        dataset=search.data_name,
        framework=model.framework,
        step=candidate.steps[-1],
        metrics={
            **record["metrics"],
            **{k: v for k, v in record.items() if k not in ("steps", "folder", "metrics")},
        },
        notes=notes,
        kind="optimized",
        status="finished",
        extra={"recipe_steps": record["steps"]},
    )
    write_variant(folder, variant, model)
    return str(folder.relative_to(search.out))


def _previous(out: Path) -> dict[str, Any]:
    path = out / PARETO_FILE
    if not path.is_file():
        raise WorkbenchError(f"nothing to resume: {path} does not exist")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WorkbenchError(f"{path}: not readable ({exc})") from None


def _write(search: _Search, state: str) -> None:

    write_outputs(search, state)


def _finish(search: _Search, stopped: str) -> SearchResult:
    _write(search, stopped)
    floor = _floor(search) if search.records else 0.0
    chosen = choose(search.records, search.config.objective, floor) if search.records else None
    return SearchResult(search.records, _front(search), chosen, stopped,
                        round(search.elapsed, 2), search.out, search.skipped)  # fmt: skip
