"""The comparison table: every measured figure of each variant, side by side.

A variant's ``metrics`` (the ``Metrics`` JSON ``store_metrics`` keeps, plus the plain
training figures ``workbench train`` writes) become flat, named values; a row per
figure that at least one variant has, a cell per variant with its delta and ratio
against the baseline, and the best cell marked. A figure a variant lacks is None and
reads "—": it was not measured, which is not zero. Latencies share a row only when
taken under the same conditions (runtime, provider, device, threads, batch). What a
pass recorded about how it made the variant (a distillation's teacher figures, a
pruning's "before") is no row: ``details`` lists it apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.core.measure.metrics import Metrics, figure_rows
from workbench.core.units import human_bytes, human_count

MISSING = "—"
LOWER, HIGHER = "lower", "higher"


@dataclass(frozen=True)
class MetricSpec:
    """What one row is: its key, how it reads, and which way is better (None: neither)."""

    key: str
    label: str
    kind: str  # ms | bytes | count | percent | per_s | plain
    better: str | None = None
    group: str = ""  # facts | latency | generation | memory | accuracy | training


@dataclass
class Entry:
    """One variant as the comparison sees it: a name, its lineage and its metrics."""

    id: str
    name: str
    metrics: dict[str, Any] = field(default_factory=dict)
    parent: str | None = None
    step: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    @classmethod
    def from_variant(cls, variant: Any) -> Entry:
        return cls(
            id=variant.id,
            name=variant.name,
            metrics=dict(variant.metrics or {}),
            parent=variant.parent,
            step=dict(variant.step or {}),
            source=getattr(variant, "source", "") or "",
        )


@dataclass
class Cell:
    value: float | None
    text: str  # the value as it reads ("—" when not measured)
    delta: float | None = None  # value - baseline
    ratio: float | None = None  # value / baseline
    delta_text: str = ""
    best: bool = False
    baseline: bool = False


@dataclass
class Row:
    spec: MetricSpec
    cells: list[Cell]

    def values(self) -> list[float | None]:
        return [c.value for c in self.cells]


@dataclass
class ComparisonTable:
    entries: list[Entry]
    baseline: int  # index into entries
    rows: list[Row]

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.entries]

    @property
    def details(self) -> list[list[tuple[str, str]]]:
        """Per entry, what its own run recorded that is not a row (see ``details``)."""
        return [details(e.metrics) for e in self.entries]

    def row(self, key: str) -> Row | None:
        return next((r for r in self.rows if r.spec.key == key), None)

    def value(self, key: str, entry: int) -> float | None:
        row = self.row(key)
        return row.cells[entry].value if row is not None else None

    def as_records(self) -> list[dict[str, Any]]:
        """One dict per row (JSON and CSV): label, key, unit, then each variant's figures."""
        records = []
        for row in self.rows:
            record: dict[str, Any] = {
                "metric": row.spec.label,
                "key": row.spec.key,
                "better": row.spec.better,
            }
            for entry, cell in zip(self.entries, row.cells, strict=True):
                record[entry.name] = cell.value
                record[f"{entry.name} delta"] = cell.delta
                record[f"{entry.name} ratio"] = cell.ratio
            records.append(record)
        return records

    def to_text(self, width: int = 16) -> str:
        """The table the CLI prints and the tab shows: value, then delta and ratio."""
        label_width = max([len("metric"), *(len(r.spec.label) for r in self.rows)])
        names = [
            _fit(n + (" (baseline)" if i == self.baseline else ""), width * 2)
            for i, n in enumerate(self.names)
        ]
        lines = ["  ".join([f"{'metric':<{label_width}}", *(f"{n:>{width * 2}}" for n in names)])]
        for row in self.rows:
            parts = [f"{row.spec.label:<{label_width}}"]
            for cell in row.cells:
                text = cell_text(cell)
                parts.append(f"{text:>{width * 2}}")
            lines.append("  ".join(parts))
        lines.append(
            "* best of the row; deltas and ratios are against the baseline; — not measured"
        )
        return "\n".join(lines)


def cell_text(cell: Cell) -> str:
    """One cell as both faces print it: "1.20 ms (−0.30, ×0.80)*"."""
    text = cell.text
    if cell.delta_text:
        text += f" ({cell.delta_text})"
    return text + ("*" if cell.best else "")


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# -- reading metrics ----------------------------------------------------------------------

TRAINING = (
    MetricSpec("train.val_accuracy", "val accuracy (training)", "percent", HIGHER, "training"),
    MetricSpec("train.val_loss", "val loss (training)", "plain", LOWER, "training"),
    MetricSpec("train.train_accuracy", "train accuracy (training)", "percent", HIGHER, "training"),
    MetricSpec("train.train_loss", "train loss (training)", "plain", LOWER, "training"),
    MetricSpec("train.val_perplexity", "val perplexity (training)", "plain", LOWER, "training"),
)


def flat_values(metrics: Mapping[str, Any] | None) -> dict[MetricSpec, float]:
    """Every figure in a variant's metrics, by spec; what was not measured is absent."""
    data = dict(metrics or {})
    m = Metrics.from_json(data)
    out: dict[MetricSpec, float] = {}

    def put(spec: MetricSpec, value: Any) -> None:
        if value is not None:
            out[spec] = float(value)

    if m.facts is not None:
        f = m.facts
        put(MetricSpec("facts.file_size", "file size", "bytes", LOWER, "facts"), f.file_size)
        put(MetricSpec("facts.weights_bytes", "weights", "bytes", LOWER, "facts"), f.weights_bytes)
        put(MetricSpec("facts.parameters", "parameters", "count", LOWER, "facts"), f.parameters)
        put(MetricSpec("facts.macs", "MACs (batch 1)", "count", LOWER, "facts"), f.macs)
        put(MetricSpec("facts.sparsity", "sparsity", "percent", None, "facts"), f.sparsity)
    for report in m.latency.values():
        # One row per figure *and* conditions: a GPU and a CPU latency never share a row.
        conditions = report.conditions
        where = conditions.row_key
        for point in report.batches:
            at = conditions.label(point.batch)
            key = f"latency.{where}.b{point.batch}"
            s = point.latency
            put(MetricSpec(f"{key}.p50_ms", f"latency p50 {at}", "ms", LOWER, "latency"), s.p50_ms)
            put(MetricSpec(f"{key}.p90_ms", f"latency p90 {at}", "ms", LOWER, "latency"), s.p90_ms)
            put(
                MetricSpec(f"{key}.samples_per_s", f"throughput {at}", "per_s", HIGHER, "latency"),
                point.samples_per_s,
            )
        put(
            MetricSpec(
                f"memory.{where}.peak_rss",
                f"peak RSS {conditions.label()}",
                "bytes",
                LOWER,
                "memory",
            ),
            report.peak_rss_bytes,
        )
    for report in m.generation.values():  # a language model's greedy decode (no KV cache)
        conditions = report.conditions
        for point in report.points:
            at, key = conditions.label(point.batch), f"generation.{conditions.row_key}"
            key += f".b{point.batch}"
            put(
                MetricSpec(f"{key}.tokens_per_s", f"decode tokens/s {at}", "per_s", HIGHER,
                           "generation"),
                point.tokens_per_s,
            )  # fmt: skip
            put(
                MetricSpec(f"{key}.prefill_ms", f"prefill {point.prompt_tokens} tokens {at}",
                           "ms", LOWER, "generation"),
                point.prefill_ms,
            )  # fmt: skip
    for runtime, acc in m.accuracy.items():
        on = f"{runtime} ({acc.dataset})"
        put(
            MetricSpec(f"accuracy.{runtime}.top1", f"top-1 {on}", "percent", HIGHER, "accuracy"),
            acc.top1,
        )
        put(
            MetricSpec(f"accuracy.{runtime}.loss", f"loss {on}", "plain", LOWER, "accuracy"),
            acc.loss,
        )
        put(MetricSpec(f"accuracy.{runtime}.mse", f"MSE {on}", "plain", LOWER, "accuracy"), acc.mse)
        put(
            MetricSpec(
                f"accuracy.{runtime}.perplexity", f"perplexity {on}", "plain", LOWER, "accuracy"
            ),
            acc.perplexity,
        )
        put(
            MetricSpec(
                f"accuracy.{runtime}.token_accuracy",
                f"next-token accuracy {on}",
                "percent",
                HIGHER,
                "accuracy",
            ),
            acc.token_accuracy,
        )
        if acc.agreement is not None:
            put(
                MetricSpec(
                    f"accuracy.{runtime}.agreement",
                    f"top-1 agreement with parent {on}",
                    "percent",
                    HIGHER,
                    "accuracy",
                ),
                acc.agreement.top1_agreement,
            )
    training = {spec.key.removeprefix("train."): spec for spec in TRAINING}
    for key, value in data.items():
        if key in training and isinstance(value, (int, float)) and not isinstance(value, bool):
            put(training[key], value)
    return out


def details(metrics: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """What a run or pass recorded beside the comparable figures ("epochs", a
    distillation's "teacher macs", a pruning's "macs before"), as (label, text).

    These describe how the variant was made, and some describe *another* model (the
    teacher, the unpruned parent): as table rows they would read as this variant's own
    figures, so the faces show them apart, per variant.
    """

    training = {spec.key.removeprefix("train.") for spec in TRAINING}
    own = {k: v for k, v in (metrics or {}).items() if k not in training}
    # plain figures only; nested records (a quantization's before/after) stay in the file
    return [(label, value) for label, value in figure_rows(own) if isinstance(value, str)]


GROUP_ORDER = ("facts", "latency", "generation", "memory", "accuracy", "training")


def build_table(entries: Sequence[Entry], baseline: int | str = 0) -> ComparisonTable:
    """The table of ``entries``; ``baseline`` is an index, an id or a name."""
    entries = list(entries)
    if not entries:
        raise ValueError("nothing to compare")
    base = _index(entries, baseline)
    values = [flat_values(e.metrics) for e in entries]
    specs: dict[str, MetricSpec] = {}
    for found in values:
        for spec in found:
            specs.setdefault(spec.key, spec)
    ordered = sorted(specs.values(), key=lambda s: GROUP_ORDER.index(s.group))
    by_key = [{spec.key: v for spec, v in found.items()} for found in values]
    rows = [_row(spec, [v.get(spec.key) for v in by_key], base) for spec in ordered]
    return ComparisonTable(entries, base, rows)


def _index(entries: Sequence[Entry], baseline: int | str) -> int:
    if isinstance(baseline, int):
        if not 0 <= baseline < len(entries):
            raise ValueError(f"baseline index {baseline} out of range")
        return baseline
    for i, e in enumerate(entries):
        if baseline in (e.id, e.name):
            return i
    raise ValueError(f"no variant named {baseline!r} to use as the baseline")


def _row(spec: MetricSpec, values: list[float | None], base: int) -> Row:
    reference = values[base]
    present = [v for v in values if v is not None]
    best_value = None
    if spec.better is not None and len(present) >= 2 and min(present) != max(present):
        best_value = min(present) if spec.better == LOWER else max(present)
    cells = []
    for i, value in enumerate(values):
        cell = Cell(value, format_value(value, spec.kind), baseline=i == base)
        if value is not None and reference is not None and i != base:
            cell.delta = value - reference
            cell.ratio = value / reference if reference else None
            cell.delta_text = format_delta(cell.delta, cell.ratio, spec.kind)
        cell.best = best_value is not None and value == best_value
        cells.append(cell)
    return Row(spec, cells)


def format_value(value: float | None, kind: str) -> str:
    if value is None:
        return MISSING
    if kind == "ms":
        return f"{value:.3f} ms"
    if kind == "bytes":
        return human_bytes(int(value))
    if kind == "count":
        return human_count(value) if value >= 1000 else f"{value:,.0f}"
    if kind == "percent":
        return f"{value:.2%}"
    if kind == "per_s":
        return f"{value:,.1f}/s"
    return f"{value:.4g}"


def format_delta(delta: float, ratio: float | None, kind: str) -> str:
    sign = "+" if delta > 0 else "−" if delta < 0 else "±"
    size = abs(delta)
    if kind == "percent":
        text = f"{sign}{100 * size:.2f} pp"
    elif kind == "bytes":
        text = f"{sign}{human_bytes(int(size))}"
    elif kind in ("count", "per_s") and size >= 1000:
        text = f"{sign}{human_count(size)}"
    elif kind == "ms":
        text = f"{sign}{size:.3f}"
    else:
        text = f"{sign}{size:.3g}"
    return text + (f", ×{ratio:.2f}" if ratio is not None else "")


def specs_of(table: ComparisonTable, kinds: Iterable[str] | None = None) -> list[MetricSpec]:
    wanted = set(kinds) if kinds is not None else None
    return [r.spec for r in table.rows if wanted is None or r.spec.kind in wanted]
