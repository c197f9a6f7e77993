"""The Compare tab's plots (pyqtgraph): bars of one figure per variant, and the
latency-versus-accuracy scatter with the Pareto front and the budget pick."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont

from workbench.core.compare import Comparison
from workbench.core.compare.table import MISSING, Row, format_value

PALETTE = (
    "#3f6fbf",
    "#e07800",
    "#b1457c",
    "#6f4fbf",
    "#2a8891",
    "#b08a10",
    "#5b6b7f",
)  # no green: green marks the best
BEST, FRONT, PICK = "#1a7f37", "#c4522f", "#111827"


class BarChart(pg.PlotWidget):
    """One bar per variant for one row of the table; no bar (a "—") where unmeasured."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent=parent, background="w")
        self.setObjectName("compare-bars")
        self.showGrid(x=False, y=True, alpha=0.25)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.bars: pg.BarGraphItem | None = None
        self.heights: list[float | None] = []
        self.getAxis("left").enableAutoSIPrefix(False)

    def show_row(self, row: Row, names: list[str]) -> None:
        self.clear()
        self.setTitle(row.spec.label, color="#1d2430")
        values = row.values()
        self.heights = values
        brushes = [
            pg.mkBrush(BEST if cell.best else PALETTE[i % len(PALETTE)])
            for i, cell in enumerate(row.cells)
        ]
        xs = [i for i, v in enumerate(values) if v is not None]
        self.bars = pg.BarGraphItem(
            x=xs, height=[values[i] for i in xs], width=0.6, brushes=[brushes[i] for i in xs]
        )
        self.addItem(self.bars)
        top = max([v for v in values if v is not None] or [1.0])
        for i, value in enumerate(values):
            text = MISSING if value is None else format_value(value, row.spec.kind)
            label = pg.TextItem(text, color="#1d2430", anchor=(0.5, 1.0))
            label.setPos(i, 0 if value is None else value)
            self.addItem(label)
        self.getAxis("bottom").setTicks([[(i, n) for i, n in enumerate(names)]])
        self.getAxis("left").setLabel(_unit(row.spec.kind))
        self.setXRange(-0.6, len(values) - 0.4, padding=0)
        self.setYRange(0, top * 1.15, padding=0)


def _unit(kind: str) -> str:
    return {"ms": "ms", "bytes": "bytes", "percent": "fraction", "per_s": "samples/s"}.get(kind, "")


class ParetoPlot(pg.PlotWidget):
    """Each variant at (latency, accuracy); the front in orange joined by a line, the
    variant picked under the budget ringed."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent=parent, background="w")
        self.setObjectName("compare-pareto")
        self.showGrid(x=True, y=True, alpha=0.25)
        self.hideButtons()
        self.scatter = pg.ScatterPlotItem()
        self.front_line = pg.PlotDataItem(pen=pg.mkPen(FRONT, width=2))
        self.pick_ring = pg.ScatterPlotItem()
        self.front_names: list[str] = []
        self.labels: list[pg.TextItem] = []
        self.page_name = "Latency vs accuracy"  # what the axes are (a model's kind decides)
        for side in ("left", "bottom"):
            self.getAxis(side).enableAutoSIPrefix(False)  # "ms", not "ms (x0.001)"

    def show_comparison(self, comparison: Comparison) -> None:
        self.clear()
        self.labels = []
        if comparison.axes is None or not comparison.points:
            self.setTitle(
                "needs a latency and an accuracy figure for two variants", color="#4f5b6b"
            )
            self.front_names = []
            return
        table = comparison.table
        x_row, y_row = table.row(comparison.axes.x), table.row(comparison.axes.y)
        self.page_name = comparison.axes.name(y_row.spec.better)  # the page's tab says it
        lower = y_row.spec.better == "lower"  # perplexity: the front runs downwards
        self.setTitle(f"{self.page_name}{' (lower is better)' if lower else ''} — orange: "
                      "Pareto front", color="#1d2430")  # fmt: skip
        self.setLabel("bottom", x_row.spec.label)
        self.setLabel("left", y_row.spec.label)
        front = {p.index for p in comparison.front}
        self.front_names = [p.name for p in comparison.front]
        spots = [
            {
                "pos": (p.x, p.y),
                "size": 14,
                "brush": pg.mkBrush(FRONT if p.index in front else PALETTE[0]),
                "pen": pg.mkPen("w"),
                "data": p.index,
            }
            for p in comparison.points
        ]
        self.scatter = pg.ScatterPlotItem(spots=spots)
        self.front_line = pg.PlotDataItem(
            [p.x for p in comparison.front],
            [p.y for p in comparison.front],
            pen=pg.mkPen(FRONT, width=2),
        )
        self.addItem(self.front_line)
        self.addItem(self.scatter)
        font = QFont()
        font.setPointSizeF(9)
        for p in comparison.points:
            label = pg.TextItem(p.name, color="#1d2430", anchor=(0, 1.1))
            label.setFont(font)
            label.setPos(p.x, p.y)
            self.addItem(label)
            self.labels.append(label)
        if comparison.pick is not None:
            picked = next((p for p in comparison.points if p.index == comparison.pick), None)
            if picked is not None:
                self.pick_ring = pg.ScatterPlotItem(
                    [picked.x],
                    [picked.y],
                    size=26,
                    brush=pg.mkBrush(0, 0, 0, 0),
                    pen=pg.mkPen(QColor(PICK), width=2),
                )
                self.addItem(self.pick_ring)
        self.getViewBox().autoRange(padding=0.25)
