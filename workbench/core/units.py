"""Numbers as people read and write them: 4.09 G MACs, 97.6 MiB, batch sizes "1,8,32"."""

from __future__ import annotations


def human_count(value: float, unit: str = "") -> str:
    """1234567 -> '1.23 M' (SI prefixes; exact below a thousand)."""
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {prefix}{unit}"
    return f"{value:g} {unit}".rstrip()


def human_bytes(size: int) -> str:
    """Binary units, as file managers show sizes."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def speed_change(ratio: float) -> str:
    """A before/after latency ratio as a person says it: 2.10x faster, 1.30x slower
    (never "0.81x faster", which reads as faster)."""
    return f"{ratio:.2f}x faster" if ratio >= 1 else f"{1 / ratio:.2f}x slower"


def format_shape(dims: list | tuple | None) -> str:
    """[1, 3, None, 'seq'] -> '1x3x?xseq'; None (unknown rank) -> '?'."""
    if dims is None:
        return "?"
    return "x".join("?" if d is None else str(d) for d in dims)


def parse_batch_sizes(text: str) -> list[int]:
    """``"1,8,32"`` -> [1, 8, 32]; ValueError with a one-line reason (a flag, a form field)."""
    try:
        values = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise ValueError(f"{text!r} is not a list of batch sizes like 1,8,32") from None
    if not values or any(v < 1 for v in values):
        raise ValueError(f"{text!r}: batch sizes must be whole numbers >= 1")
    return values
