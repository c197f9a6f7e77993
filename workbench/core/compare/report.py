"""A comparison written out: Markdown, HTML or CSV, with its charts as PNG files.

The charts go in ``<name>_charts/`` beside the report and are referenced relatively,
so the folder can be moved or zipped whole. HTML is written with ``html.escape``
rather than a template engine: one page, and no dependency for it.
"""

from __future__ import annotations

import csv
import html
import io
from pathlib import Path

from workbench.core.compare.charts import bar_chart, scatter_chart
from workbench.core.compare.comparison import Comparison
from workbench.core.compare.table import LOWER, ComparisonTable, cell_text, format_value
from workbench.core.project import atomic_write_text

FORMATS = ("md", "html", "csv", "json")


def write_charts(comparison: Comparison, folder: Path) -> list[tuple[str, Path]]:
    """(title, PNG path) for each chart: the scatter, then bars of the main figures."""
    folder.mkdir(parents=True, exist_ok=True)
    table, charts = comparison.table, []
    if comparison.axes is not None:
        x, y = table.row(comparison.axes.x), table.row(comparison.axes.y)
        title = f"{x.spec.label} vs {y.spec.label}"
        path = scatter_chart(
            folder / "pareto.png",
            f"{comparison.axes.name(y.spec.better)} (Pareto front)",
            comparison.points,
            comparison.front,
            x.spec.label,
            y.spec.label,
            comparison.pick,
            x_fmt=lambda v, k=x.spec.kind: format_value(v, k),
            y_fmt=lambda v, k=y.spec.kind: format_value(v, k),
        )
        charts.append((title, path))
    keys = [comparison.axes.x, comparison.axes.y] if comparison.axes else []
    keys += ["facts.file_size", "facts.weights_bytes", "facts.macs", "facts.parameters"]
    for key in dict.fromkeys(keys):
        row = table.row(key)
        if row is None or sum(v is not None for v in row.values()) < 1:
            continue
        best = next((i for i, c in enumerate(row.cells) if c.best), None)
        name = key.replace(".", "_") + ".png"
        kind = row.spec.kind
        path = bar_chart(
            folder / name,
            row.spec.label,
            table.names,
            row.values(),
            lambda v, kind=kind: format_value(v, kind),
            best,
        )
        charts.append((row.spec.label, path))
    return charts


def to_csv(comparison: Comparison) -> str:
    records = comparison.table.as_records()
    buffer = io.StringIO()
    if records:
        writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return buffer.getvalue()


def to_markdown(comparison: Comparison, charts: list[tuple[str, Path]], base: Path) -> str:
    t = comparison.table
    names = [n + (" (baseline)" if i == t.baseline else "") for i, n in enumerate(t.names)]
    lines = [
        "# Comparison",
        "",
        "| metric | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for row in t.rows:
        cells = [_md(cell_text(c)).replace("*", "\\*") for c in row.cells]
        cells = [f"**{c}**" if cell.best else c for c, cell in zip(cells, row.cells, strict=True)]
        lines.append(f"| {_md(row.spec.label)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Bold: best of the row. Deltas and ratios are against the baseline; — means not measured.",
        "",
    ]
    recorded = _recorded(t)
    if recorded:
        lines += ["## Recorded by each variant's own run (not compared)", ""]
        lines += [f"- {_md(name)}: {_md(text)}" for name, text in recorded]
        lines.append("")
    if comparison.front:
        lines.append("Pareto front: " + ", ".join(p.name for p in comparison.front))
    if comparison.budget is not None:
        lines.append(comparison.pick_text())
    lines += ["", "## Why is it (not) faster?", ""]
    for e in comparison.explanations:
        lines.append(f"- {e.headline}")
        lines += [f"  - {r.text} ({r.source}: {r.figure})" for r in e.reasons]
    for diff in comparison.diffs.values():
        lines += [
            "",
            f"## Layers: {diff.child_name} vs {diff.parent_name}",
            "",
            diff.summary(),
            "",
            "| layer | status | what changed |",
            "|---|---|---|",
        ]
        for d in diff.layers():
            lines.append(f"| {_md(d.name)} | {d.status} | {_md('; '.join(d.changes))} |")
    if charts:
        lines += ["", "## Charts", ""]
        lines += [f"![{_md(title)}]({path.relative_to(base).as_posix()})" for title, path in charts]
    return "\n".join(lines) + "\n"


def _recorded(table: ComparisonTable) -> list[tuple[str, str]]:
    """(variant, "label value, ...") for each variant whose run recorded plain figures."""
    return [
        (name, ", ".join(f"{label} {value}" for label, value in rows))
        for name, rows in zip(table.names, table.details, strict=True)
        if rows
    ]


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def to_html(comparison: Comparison, charts: list[tuple[str, Path]], base: Path) -> str:
    t, e = comparison.table, html.escape
    head = "".join(
        f"<th>{e(n)}{' (baseline)' if i == t.baseline else ''}</th>" for i, n in enumerate(t.names)
    )
    body = []
    for row in t.rows:
        cells = "".join(
            f'<td class="{"best" if c.best else ""}">{e(c.text)}'
            + (f"<br><small>{e(c.delta_text)}</small>" if c.delta_text else "")
            + "</td>"
            for c in row.cells
        )
        arrow = "" if row.spec.better is None else (" ↓" if row.spec.better == LOWER else " ↑")
        body.append(f"<tr><th>{e(row.spec.label)}{arrow}</th>{cells}</tr>")
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Workbench comparison</title>",
        "<style>body{font-family:sans-serif;margin:2em;color:#1d2430}table{border-collapse:"
        "collapse}td,th{border:1px solid #ccd3dd;padding:4px 8px;text-align:right}"
        "th{text-align:left}td.best{background:#d7f5dd;font-weight:bold}img{max-width:48%;"
        "margin:4px}</style></head><body><h1>Comparison</h1>",
        f"<table><tr><th>metric</th>{head}</tr>{''.join(body)}</table>",
        "<p>Green: best of the row (↓ lower is better, ↑ higher). Small print: delta and "
        "ratio against the baseline; — means not measured.</p>",
    ]
    recorded = _recorded(t)
    if recorded:
        parts.append("<h2>Recorded by each variant's own run (not compared)</h2><ul>")
        parts += [f"<li><b>{e(name)}</b>: {e(text)}</li>" for name, text in recorded]
        parts.append("</ul>")
    if comparison.front:
        parts.append(f"<p>Pareto front: {e(', '.join(p.name for p in comparison.front))}</p>")
    if comparison.budget is not None:
        parts.append(f"<p>{e(comparison.pick_text())}</p>")
    parts.append("<h2>Why is it (not) faster?</h2><ul>")
    for x in comparison.explanations:
        reasons = "".join(
            f"<li>{e(r.text)} <small>({e(r.source)}: {e(r.figure)})</small></li>" for r in x.reasons
        )
        parts.append(f"<li>{e(x.headline)}<ul>{reasons}</ul></li>")
    parts.append("</ul>")
    for diff in comparison.diffs.values():
        rows = "".join(
            f"<tr><td>{e(d.name)}</td><td>{d.status}</td><td>{e('; '.join(d.changes))}</td></tr>"
            for d in diff.layers()
        )
        parts.append(
            f"<h2>Layers: {e(diff.child_name)} vs {e(diff.parent_name)}</h2>"
            f"<p>{e(diff.summary())}</p><table><tr><th>layer</th><th>status</th>"
            f"<th>what changed</th></tr>{rows}</table>"
        )
    if charts:
        parts.append("<h2>Charts</h2>")
        parts += [
            f'<img src="{e(p.relative_to(base).as_posix())}" alt="{e(title)}">'
            for title, p in charts
        ]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(comparison: Comparison, path: Path, fmt: str | None = None) -> Path:
    """Write the comparison to ``path`` as md, html or csv (from the suffix by default);
    md and html get their charts in ``<stem>_charts/`` beside the file."""
    import json

    path = Path(path)
    fmt = fmt or path.suffix.lstrip(".").lower()
    if fmt == "markdown":
        fmt = "md"
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r} (use {', '.join(FORMATS)})")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        text = to_csv(comparison)
    elif fmt == "json":
        text = json.dumps(to_json(comparison), indent=2)
    else:
        charts = write_charts(comparison, path.parent / f"{path.stem}_charts")
        render = to_markdown if fmt == "md" else to_html
        text = render(comparison, charts, path.parent)
    atomic_write_text(path, text)
    return path


def to_json(comparison: Comparison) -> dict:
    from dataclasses import asdict

    t = comparison.table
    return {
        "variants": [
            {"id": x.id, "name": x.name, "parent": x.parent, "details": dict(rows)}
            for x, rows in zip(t.entries, t.details, strict=True)
        ],
        "baseline": t.names[t.baseline],
        "rows": t.as_records(),
        "pareto_front": [p.name for p in comparison.front],
        "axes": asdict(comparison.axes) if comparison.axes else None,
        "budget": asdict(comparison.budget) if comparison.budget else None,
        "pick": t.names[comparison.pick] if comparison.pick is not None else None,
        "explanations": [asdict(x) for x in comparison.explanations],
    }
