"""A language model's generation speed as a variant keeps it: prefill latency and decode
tokens/s at each batch size, under one set of conditions (runtime, provider, device,
threads), beside its latency reports in ``Metrics``.

The figures come from ``core.lm.speed`` (which builds on this module); they are
full-prefix-recomputation figures (no KV cache), and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.core.measure.conditions import FiledByConditions


@dataclass
class GenerationPoint:
    """Prefill and greedy decode at one batch size."""

    batch: int
    prompt_tokens: int
    new_tokens: int
    prefill_ms: float
    tokens_per_s: float  # the median round's (batch x new tokens / seconds)
    rounds: list[float] = field(default_factory=list)  # tokens/s of each round
    peak_memory_bytes: int | None = None


@dataclass
class GenerationReport(FiledByConditions):
    """One runtime's generation speed of one model, at each batch size timed."""

    runtime: str  # "ort" or "torch"
    provider: str  # ORT execution provider, or the torch device
    threads: int | None  # intra-op threads asked for; None: the runtime's default
    points: list[GenerationPoint]
    device: str | None = None
    memory_note: str = ""  # what peak_memory_bytes means, or why it is absent
    note: str = ""  # "no KV cache: ..."


def generation_from_json(data: dict[str, Any]) -> GenerationReport:
    """Rebuild from ``dataclasses.asdict`` output; unknown keys (newer files) are ignored."""
    known = {"runtime", "provider", "threads", "device", "memory_note", "note"}
    fields = {k: v for k, v in data.items() if k in known}
    point_keys = set(GenerationPoint.__dataclass_fields__)
    points = [
        GenerationPoint(**{k: v for k, v in p.items() if k in point_keys})
        for p in data.get("points") or []
    ]
    return GenerationReport(points=points, **fields)


def generation_rows(report: GenerationReport) -> list[tuple[str, str]]:
    """(label, value) rows for the inspector: "decode ort/CPU 1t b1", "1,234 tokens/s, ..."."""
    from workbench.core.units import human_bytes

    rows = []
    for point in report.points:
        text = (
            f"{point.tokens_per_s:,.0f} tokens/s ({point.new_tokens} new), prefill "
            f"{point.prompt_tokens} tokens {point.prefill_ms:.2f} ms"
        )
        if point.peak_memory_bytes is not None:
            text += f", memory +{human_bytes(point.peak_memory_bytes)}"
        rows.append((f"decode {report.conditions.label(point.batch)}", text))
    return rows
