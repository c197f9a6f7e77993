"""The report's charts as PNG files, drawn with Pillow (a dependency already).

Hand-drawn on purpose: matplotlib is not installed, and pyqtgraph's exporters need a
QApplication, which the CLI must not start. Two kinds suffice: bars of one figure per
variant, and the latency-versus-accuracy scatter with its Pareto front.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from workbench.core.compare.pareto import Point

WIDTH, HEIGHT = 720, 380
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 80, 24, 44, 86
PALETTE = (
    "#3f6fbf",
    "#e07800",
    "#b1457c",
    "#6f4fbf",
    "#2a8891",
    "#b08a10",
    "#5b6b7f",
)  # no green: green marks the best
BEST, FRONT, PICK, GRID, TEXT = "#1a7f37", "#c4522f", "#111827", "#e3e7ee", "#1d2430"


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size
        return ImageFont.load_default()


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    step = (high - low) / (count - 1)
    return [low + i * step for i in range(count)]


def bar_chart(
    path: Path,
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    fmt: Callable[[float], str],
    best: int | None = None,
) -> Path:
    """One bar per variant; unmeasured variants get no bar and a "—"."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    draw.text((MARGIN_L, 12), title, fill=TEXT, font=_font(16))
    top = max([v for v in values if v is not None] or [1.0]) or 1.0
    plot_h = HEIGHT - MARGIN_T - MARGIN_B
    base_y = HEIGHT - MARGIN_B
    small = _font(11)
    for tick in _ticks(0.0, top):
        y = base_y - plot_h * tick / top
        draw.line((MARGIN_L, y, WIDTH - MARGIN_R, y), fill=GRID)
        draw.text((MARGIN_L - 6, y), fmt(tick), fill=TEXT, font=small, anchor="rm")
    slot = (WIDTH - MARGIN_L - MARGIN_R) / max(len(values), 1)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x0 = MARGIN_L + i * slot + slot * 0.18
        x1 = MARGIN_L + (i + 1) * slot - slot * 0.18
        centre = (x0 + x1) / 2
        if value is None:
            draw.text((centre, base_y - 14), "—", fill=TEXT, font=_font(14), anchor="mm")
        else:
            y = base_y - plot_h * value / top
            color = BEST if i == best else PALETTE[i % len(PALETTE)]
            draw.rectangle((x0, y, x1, base_y), fill=color)
            draw.text((centre, y - 4), fmt(value), fill=TEXT, font=small, anchor="md")
        draw.text((centre, base_y + 8), _short(label, 22), fill=TEXT, font=small, anchor="ma")
    draw.line((MARGIN_L, base_y, WIDTH - MARGIN_R, base_y), fill=TEXT)
    if best is not None:
        draw.text((MARGIN_L, HEIGHT - 22), "green: best", fill=BEST, font=small)
    image.save(path, "PNG")
    return Path(path)


def scatter_chart(
    path: Path,
    title: str,
    points: Sequence[Point],
    front: Sequence[Point],
    x_label: str,
    y_label: str,
    pick: int | None = None,
    x_fmt: Callable[[float], str] = lambda v: f"{v:.3g}",
    y_fmt: Callable[[float], str] = lambda v: f"{v:.3g}",
) -> Path:
    """Latency (x) against accuracy (y); the front joined by a line, the budget pick ringed."""
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    draw.text((MARGIN_L, 12), title, fill=TEXT, font=_font(16))
    small = _font(11)
    if not points:
        draw.text(
            (WIDTH / 2, HEIGHT / 2),
            "no variant has both figures",
            fill=TEXT,
            font=_font(14),
            anchor="mm",
        )
        image.save(path, "PNG")
        return Path(path)
    xs, ys = [p.x for p in points], [p.y for p in points]
    x_lo, x_hi = _padded(min(xs), max(xs))
    y_lo, y_hi = _padded(min(ys), max(ys))
    left, right, top, bottom = MARGIN_L, WIDTH - MARGIN_R, MARGIN_T, HEIGHT - MARGIN_B + 30

    def at(x: float, y: float) -> tuple[float, float]:
        return (
            left + (right - left) * (x - x_lo) / (x_hi - x_lo),
            bottom - (bottom - top) * (y - y_lo) / (y_hi - y_lo),
        )

    for tick in _ticks(x_lo, x_hi):
        x, _ = at(tick, y_lo)
        draw.line((x, top, x, bottom), fill=GRID)
        draw.text((x, bottom + 6), x_fmt(tick), fill=TEXT, font=small, anchor="ma")
    for tick in _ticks(y_lo, y_hi):
        _, y = at(x_lo, tick)
        draw.line((left, y, right, y), fill=GRID)
        draw.text((left - 6, y), y_fmt(tick), fill=TEXT, font=small, anchor="rm")
    draw.rectangle((left, top, right, bottom), outline=TEXT)
    draw.text(((left + right) / 2, HEIGHT - 16), x_label, fill=TEXT, font=small, anchor="mm")
    draw.text((8, top - 18), y_label, fill=TEXT, font=small)
    if len(front) > 1:
        draw.line([at(p.x, p.y) for p in front], fill=FRONT, width=2)
    on_front = {p.index for p in front}
    for p in points:
        x, y = at(p.x, p.y)
        color = FRONT if p.index in on_front else PALETTE[0]
        draw.ellipse((x - 6, y - 6, x + 6, y + 6), fill=color, outline="white")
        if p.index == pick:
            draw.ellipse((x - 11, y - 11, x + 11, y + 11), outline=PICK, width=2)
        near_right = x > right - 170
        draw.text(
            (x - 9 if near_right else x + 9, y - 9),
            _short(p.name, 26),
            fill=TEXT,
            font=small,
            anchor="rd" if near_right else "ld",
        )
    draw.ellipse((right - 110, top + 8, right - 100, top + 18), fill=FRONT)
    draw.text((right - 94, top + 13), "Pareto front", fill=FRONT, font=small, anchor="lm")
    image.save(path, "PNG")
    return Path(path)


def _padded(low: float, high: float) -> tuple[float, float]:
    span = high - low or abs(high) or 1.0
    return low - 0.12 * span, high + 0.12 * span


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
