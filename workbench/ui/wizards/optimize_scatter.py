"""The Optimize run page's live scatter: the original, each finished candidate as it
arrives, and the Pareto front so far highlighted and joined (pyqtgraph)."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont

from workbench.core.optimize.front import ORIGINAL, cost
from workbench.ui.compare.charts import FRONT, PALETTE

ORIGINAL_COLOUR = "#1a7f37"


class SearchScatter(pg.PlotWidget):
    """x: the objective's cost (latency at the first batch, or size), y: top-1 (%)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent=parent, background="w")
        self.setObjectName("optimize-scatter")
        self.showGrid(x=True, y=True, alpha=0.25)
        self.hideButtons()
        for side in ("left", "bottom"):
            self.getAxis(side).enableAutoSIPrefix(False)
        self.setLabel("left", "top-1 (%)")
        self.objective = "latency"
        self.records: dict[str, dict[str, Any]] = {}
        self.front: list[str] = []
        self.points = pg.ScatterPlotItem(size=10, brush=pg.mkBrush(PALETTE[0]), pen=pg.mkPen("w"))
        self.front_line = pg.PlotDataItem(pen=pg.mkPen(FRONT, width=2), symbol="o",
                                          symbolSize=13, symbolBrush=FRONT,
                                          symbolPen=pg.mkPen("w"))  # fmt: skip
        self.original = pg.ScatterPlotItem(
            size=18, symbol="star", brush=pg.mkBrush(ORIGINAL_COLOUR), pen=pg.mkPen("w")
        )
        # Named in the title: a label on the line would sit over the points near it.
        self.floor = pg.InfiniteLine(angle=0, pen=pg.mkPen("#7f7f7f", style=Qt.PenStyle.DashLine))
        self.labels: list[pg.TextItem] = []
        for item in (self.floor, self.front_line, self.points, self.original):
            self.addItem(item)
        self.floor.hide()
        self.reset("latency", None)

    def reset(self, objective: str, batch: int | None) -> None:
        self.objective = objective
        self.records, self.front = {}, []
        self.setLabel("bottom", "model size (KiB)" if objective == "size"
                      else f"latency at batch {batch or 1} (ms, ONNX Runtime)")  # fmt: skip
        self.setTitle("Waiting for the original's figures…", color="#4f5b6b")
        self.floor.hide()
        self._redraw()

    def x_of(self, record: dict[str, Any]) -> float | None:
        value = cost(record, self.objective)
        if value is None:
            return None
        return value / 1024 if self.objective == "size" else float(value)

    def set_original(self, record: dict[str, Any], max_drop: float) -> None:
        self.records[ORIGINAL] = record
        if record.get("top1") is not None:
            self.floor.setValue(100 * record["top1"] - max_drop)
            self.floor.show()
        self._redraw()

    def add(self, record: dict[str, Any], front: list[str]) -> None:
        self.records[record["key"]] = record
        self.front = list(front)
        self._redraw()

    def candidate_xy(self) -> tuple[list[float], list[float]]:
        """The plotted candidate points (the original apart), as the scatter holds them."""
        xs, ys = self.points.getData()
        return [float(x) for x in xs], [float(y) for y in ys]

    def _xy(self, keys: list[str]) -> tuple[list[float], list[float]]:
        xs, ys = [], []
        for key in keys:
            record = self.records[key]
            x, top1 = self.x_of(record), record.get("top1")
            if x is not None and top1 is not None:
                xs.append(x)
                ys.append(100 * top1)
        return xs, ys

    def _redraw(self) -> None:
        candidates = [k for k in self.records if k != ORIGINAL]
        self.points.setData(*self._xy(candidates))
        front = sorted((k for k in self.front if k in self.records),
                       key=lambda k: self.x_of(self.records[k]) or 0.0)  # fmt: skip
        self.front_line.setData(*self._xy(front))
        self.original.setData(*self._xy([ORIGINAL] if ORIGINAL in self.records else []))
        for label in self.labels:
            self.removeItem(label)
        self.labels = []
        font = QFont()
        font.setPointSizeF(8.5)
        for key in front + ([ORIGINAL] if ORIGINAL in self.records else []):
            xs, ys = self._xy([key])
            if xs:
                label = pg.TextItem(key, color="#1d2430", anchor=(0, 1.2))
                label.setFont(font)
                label.setPos(xs[0], ys[0])
                self.addItem(label)
                self.labels.append(label)
        if self.records:
            done = len(candidates)
            self.setTitle(f"{done} candidate{'s' * (done != 1)} — star: original, orange: "
                          "Pareto front, dashed: accuracy floor", color="#1d2430")  # fmt: skip
            self.getViewBox().autoRange(padding=0.2)
