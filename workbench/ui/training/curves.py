"""Live training curves: loss per step, validation loss and accuracy per epoch, learning rate.

Every curve is a PlotDataItem made once and fed growing arrays with ``setData``
(``autoDownsample`` + ``clipToView``), so a redraw costs the same at 100 or 100,000
steps; pyqtgraph's own downsampling does the heavy part. Smoothing is a debiased EMA
(TensorBoard's) extended incrementally as points arrive.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

RAW = "#9ab8d8"
SMOOTH = "#1f5fa8"
TRAIN = "#e07b1a"
VAL = "#1f5fa8"
LR = "#2e8b57"
PLANNED = "#b8d8c4"
EARLIER = "#a0a0a0"
MIN_TICK_PX = 34  # labels ("0.25") on a small plot at least this far apart
TITLE_POINTS = 9
TITLE_MARGIN = 24  # px either side of a title pyqtgraph keeps free (axis, padding)
ENVELOPE_BUCKETS = 600
MAX_OVERLAYS = 5


def ema(values: np.ndarray, weight: float, state: tuple[float, int] = (0.0, 0)) -> tuple:
    """Debiased exponential moving average of ``values`` continuing from ``state``.

    Returns (smoothed, new state). Vectorised in blocks: within a block the recurrence
    ``r_k = w r_{k-1} + (1 - w) x_k`` is a scaled cumulative sum; the block length keeps
    ``w**-k`` below 1e30 so float64 stays exact enough.
    """
    values = np.asarray(values, dtype=np.float64)
    raw, count = state
    if weight <= 0.0 or len(values) == 0:
        return values.copy(), (float(values[-1]) if len(values) else raw, count + len(values))
    block = int(min(1024, max(1, 30 / -math.log10(weight))))
    out = np.empty_like(values)
    for start in range(0, len(values), block):
        x = values[start : start + block]
        k = np.arange(len(x))
        inverse = weight ** (-k.astype(np.float64))
        raws = weight ** (k + 1) * raw + (1 - weight) * weight**k * np.cumsum(x * inverse)
        steps = count + start + k + 1
        out[start : start + block] = raws / (1 - weight**steps)
        raw = float(raws[-1])
    return out, (raw, count + len(values))


def envelope(x: np.ndarray, y: np.ndarray, buckets: int = ENVELOPE_BUCKETS) -> tuple:
    """(centres, minima, maxima) of ``y`` over about ``buckets`` equal runs of points."""
    size = max(1, math.ceil(len(y) / buckets))
    whole = len(y) // size * size
    xs, lo, hi = [], [], []
    if whole:
        xs.append(x[:whole].reshape(-1, size).mean(axis=1))
        lo.append(y[:whole].reshape(-1, size).min(axis=1))
        hi.append(y[:whole].reshape(-1, size).max(axis=1))
    if whole < len(y):
        xs.append([x[whole:].mean()])
        lo.append([y[whole:].min()])
        hi.append([y[whole:].max()])
    if not xs:
        return np.empty(0), np.empty(0), np.empty(0)
    return np.concatenate(xs), np.concatenate(lo), np.concatenate(hi)


class Series:
    """A growing float64 array with amortised appends (capacity doubles)."""

    def __init__(self) -> None:
        self._data = np.empty(1024)
        self.size = 0

    def extend(self, values: Any) -> None:
        values = np.asarray(values, dtype=np.float64)
        needed = self.size + len(values)
        if needed > len(self._data):
            grown = np.empty(max(needed, 2 * len(self._data)))
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : needed] = values
        self.size = needed

    def clear(self) -> None:
        self.size = 0

    @property
    def values(self) -> np.ndarray:
        return self._data[: self.size]


def _pen(colour: str, width: float = 1.5, style: Any = Qt.PenStyle.SolidLine) -> Any:
    return pg.mkPen(colour, width=width, style=style)


def _curve(plot: Any, colour: str, width: float = 1.5, name: str | None = None, **kw: Any) -> Any:
    item = pg.PlotDataItem(
        pen=_pen(colour, width, kw.pop("style", Qt.PenStyle.SolidLine)), name=name, **kw
    )
    item.setDownsampling(auto=True, method="peak")
    item.setClipToView(True)
    plot.addItem(item)
    return item


def _epoch_curve(plot: Any, colour: str, name: str) -> Any:
    """One point per epoch: a line with dots, so a short run still shows its points."""
    return _curve(plot, colour, 2.0, name, symbol="o", symbolSize=5, symbolBrush=colour,
                  symbolPen=None)  # fmt: skip


def _key_html(earlier: bool = False, lr: bool = True) -> str:
    """The colour key for the three small plots (their curves carry no legend)."""
    entries = [(TRAIN, "train"), (VAL, "validation")]
    if earlier:
        entries.append((EARLIER, "earlier runs (dashed)"))
    if lr:
        entries += [(LR, "learning rate"), (PLANNED, "planned rate")]
    spans = [
        f"<span style='color:{colour}'>&#9644;</span>&nbsp;{name.replace(' ', '&nbsp;')}"
        for colour, name in entries
    ]
    return "<span style='color:#555'>" + " &nbsp; ".join(spans) + "</span>"


def add_legend(plot: Any, offset: tuple[int, int]) -> Any:
    """A legend for the curves added to `plot` from now on (earlier ones stay out)."""
    return plot.getPlotItem().addLegend(
        offset=offset, labelTextColor="#333", brush=pg.mkBrush(255, 255, 255, 200)
    )


class TrainingCurves(QWidget):
    """Four plots: step loss (raw + smoothed or min/max envelope), epoch loss, accuracy, LR."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("training-curves")
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        # The small plots are a third of the width: short titles, and one colour key
        # under the big plot instead of legends that would sit on their curves.
        self.loss_plot = self._plot("Training loss", "step", "loss", legend=True)
        self.epoch_plot = self._plot("Epoch loss", "epoch", "loss")
        self.acc_plot = self._plot("Accuracy", "epoch", "accuracy")
        self.lr_plot = self._plot("Learning rate", "step", "lr")
        self.key = QLabel(_key_html())
        self.key.setObjectName("curves-key")
        self.key.setWordWrap(True)
        layout.addWidget(self.loss_plot, 0, 0, 1, 3)
        layout.addWidget(self.key, 1, 0, 1, 3)
        layout.addWidget(self.epoch_plot, 2, 0)
        layout.addWidget(self.acc_plot, 2, 1)
        layout.addWidget(self.lr_plot, 2, 2)
        layout.setRowStretch(0, 3)
        layout.setRowStretch(2, 2)
        self.acc_plot.setYRange(0, 1, padding=0.02)
        self.acc_plot.getAxis("left").setTickSpacing(0.1, 0.05)

        lp = self.loss_plot
        self.overlays: list[Any] = []
        self.raw = _curve(lp, RAW, 1.0, "raw")
        self.smooth = _curve(lp, SMOOTH, 2.2, "smoothed")
        self.env_low = pg.PlotDataItem(pen=_pen(SMOOTH, 1.0))
        self.env_high = pg.PlotDataItem(pen=_pen(SMOOTH, 1.0))
        self.env_fill = pg.FillBetweenItem(
            self.env_low, self.env_high, brush=pg.mkBrush(31, 95, 168, 70)
        )
        for item in (self.env_fill, self.env_low, self.env_high):
            lp.addItem(item)
        self.train_epoch = _epoch_curve(self.epoch_plot, TRAIN, "train")
        self.val_epoch = _epoch_curve(self.epoch_plot, VAL, "validation")
        self.train_acc = _epoch_curve(self.acc_plot, TRAIN, "train")
        self.val_acc = _epoch_curve(self.acc_plot, VAL, "validation")
        self.planned = _curve(self.lr_plot, PLANNED, 3.0, "planned")
        self.lr = _curve(self.lr_plot, LR, 1.8, "actual")

        self.steps, self.losses, self.lrs, self.smoothed = Series(), Series(), Series(), Series()
        self.epochs = {
            k: Series() for k in ("epoch", "train_loss", "val_loss", "train_acc", "val_acc")
        }
        self.weight = 0.6
        self.mode = "smooth"  # smooth | envelope | raw
        self._ema_state: tuple[float, int] = (0.0, 0)
        self._earlier: list[dict[str, Any]] = []
        self.show_earlier = True
        self._apply_mode()

    def _plot(self, title: str, x: str, y: str, legend: bool = False) -> Any:
        # The big plot (the one with a legend) keeps pyqtgraph's ticks; small ones thin theirs.
        axes = {} if legend else {"bottom": SparseAxis("bottom"), "left": SparseAxis("left")}
        plot = pg.PlotWidget(background="w", axisItems=axes)
        plot.setToolTip(f"{title} ({y} by {x})")
        item = plot.getPlotItem()
        _title(plot, title)
        # A plot narrower than its title cut it ("Learning ra"): the layout may not
        # squeeze a plot below the width its title needs.
        font = QFont(self.font())
        font.setPointSize(TITLE_POINTS)
        plot.setMinimumWidth(QFontMetrics(font).horizontalAdvance(title) + 2 * TITLE_MARGIN)
        item.setLabel("bottom", x)
        item.showGrid(x=True, y=True, alpha=0.15)
        if legend:
            add_legend(plot, offset=(-8, 8))
        for axis in ("left", "bottom"):
            item.getAxis(axis).setTextPen("#555")
            item.getAxis(axis).setPen("#999")
        item.setMenuEnabled(False)
        return plot

    # -- data -------------------------------------------------------------------------

    def reset(
        self, planned_lrs: list[float] | None = None, history: dict | None = None, epochs: int = 0
    ) -> None:
        """Empty every curve; draw the planned learning rate and a resumed run's past."""
        if epochs:
            for plot in (self.epoch_plot, self.acc_plot):
                plot.setXRange(0.5, epochs + 0.5, padding=0)
        for series in (self.steps, self.losses, self.lrs, self.smoothed, *self.epochs.values()):
            series.clear()
        self._ema_state = (0.0, 0)
        planned = np.asarray(planned_lrs or [], dtype=np.float64)
        self.planned.setData(np.arange(1, len(planned) + 1), planned)
        if history and history.get("steps"):
            self.add_steps(history["steps"], history["losses"], history["lrs"])
            for record in history.get("epochs", []):
                self.add_epoch(record)
        self.redraw()

    def add_steps(self, steps: Any, losses: Any, lrs: Any) -> None:
        self.steps.extend(steps)
        self.losses.extend(losses)
        self.lrs.extend(lrs)
        smoothed, self._ema_state = ema(np.asarray(losses, float), self.weight, self._ema_state)
        self.smoothed.extend(smoothed)

    def add_epoch(self, record: dict[str, Any]) -> None:
        nan = float("nan")
        perplexity = record.get("val_perplexity")
        if perplexity is not None:  # a language model: accuracy is per next token
            _title(self.acc_plot, "Next-token accuracy")
            _title(self.epoch_plot, f"Loss · perplexity {perplexity:.0f}")
        self.epochs["epoch"].extend([record["epoch"]])
        self.epochs["train_loss"].extend([record["train_loss"]])
        self.epochs["train_acc"].extend([record["train_accuracy"]])
        self.epochs["val_loss"].extend([nan if record["val_loss"] is None else record["val_loss"]])
        self.epochs["val_acc"].extend(
            [nan if record["val_accuracy"] is None else record["val_accuracy"]]
        )

    def set_earlier_runs(self, histories: list[dict[str, Any]]) -> None:
        """Overlay earlier runs of the variant (the newest ``MAX_OVERLAYS``), faint."""
        self._earlier = histories[-MAX_OVERLAYS:]
        for plot, item in self.overlays:
            plot.removeItem(item)
        self.overlays = []
        dash = Qt.PenStyle.DashLine
        for index, history in enumerate(self._earlier):
            steps = np.asarray(history.get("steps", []), float)
            losses = np.asarray(history.get("losses", []), float)
            label = "earlier runs" if index == 0 else None
            loss_item = _curve(self.loss_plot, EARLIER, 1.2, label, style=dash)
            loss_item.setData(steps, ema(losses, self.weight)[0] if len(losses) else losses)
            epochs = history.get("epochs", [])
            acc_item = _curve(self.acc_plot, EARLIER, 1.2, label, style=dash)
            acc_item.setData(
                [r["epoch"] for r in epochs],
                [float("nan") if r["val_accuracy"] is None else r["val_accuracy"] for r in epochs],
            )
            for item in (loss_item, acc_item):
                item.setZValue(-10)
            self.overlays += [(self.loss_plot, loss_item), (self.acc_plot, acc_item)]
        self.set_show_earlier(self.show_earlier)

    def set_show_earlier(self, shown: bool) -> None:
        self.show_earlier = shown
        for _, item in self.overlays:
            item.setVisible(shown)
        self.key.setText(
            _key_html(earlier=shown and bool(self.overlays), lr=self.lr_plot.isVisibleTo(self))
        )

    # -- view -------------------------------------------------------------------------

    def set_smoothing(self, weight: float) -> None:
        self.weight = min(max(weight, 0.0), 0.999)
        self.smoothed.clear()
        smoothed, self._ema_state = ema(self.losses.values, self.weight)
        self.smoothed.extend(smoothed)
        if self._earlier:
            self.set_earlier_runs(self._earlier)
        self.redraw()

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self._apply_mode()
        self.redraw()

    def _apply_mode(self) -> None:
        self.smooth.setVisible(self.mode == "smooth")
        for item in (self.env_fill, self.env_low, self.env_high):
            item.setVisible(self.mode == "envelope")
        self.raw.setOpacity(0.35 if self.mode == "envelope" else 1.0)

    def set_log(self, x: bool, y: bool) -> None:
        """Log axes: x for the step plots, y for the loss plots and learning rate."""
        self.loss_plot.setLogMode(x=x, y=y)
        self.lr_plot.setLogMode(x=x, y=y)
        self.epoch_plot.setLogMode(x=False, y=y)
        # FillBetweenItem keeps the path (and bounds) it built in linear coordinates;
        # left stale, those bounds stretch a log axis to 1e-200..1e300.
        self.env_fill.updatePath()

    def redraw(self) -> None:
        """Feed every curve its arrays (called at most ~30 times a second)."""
        steps = self.steps.values
        self.raw.setData(steps, self.losses.values)
        if self.mode == "smooth":
            self.smooth.setData(steps, self.smoothed.values)
        elif self.mode == "envelope":
            centres, low, high = envelope(steps, self.losses.values)
            self.env_low.setData(centres, low)
            self.env_high.setData(centres, high)
        self.lr.setData(steps, self.lrs.values)
        e = {k: s.values for k, s in self.epochs.items()}
        self.train_epoch.setData(e["epoch"], e["train_loss"])
        self.val_epoch.setData(e["epoch"], e["val_loss"], connect="finite")
        self.train_acc.setData(e["epoch"], e["train_acc"])
        self.val_acc.setData(e["epoch"], e["val_acc"], connect="finite")


class SparseAxis(pg.AxisItem):
    """Labelled ticks at least MIN_TICK_PX apart, and no minor level. pyqtgraph puts at
    least 2.25 intervals and a labelled minor level on any axis, so a 100-px plot read
    "0.20.40.60.8" along x and "0.9 0.8 0.7 ..." stacked along y."""

    def tickSpacing(self, minVal: float, maxVal: float, size: float) -> list:
        levels = super().tickSpacing(minVal, maxVal, size)
        if not levels or size <= 0:
            return levels
        spacing = levels[0][0]
        while spacing > 0 and abs(maxVal - minVal) / spacing * MIN_TICK_PX > size:
            spacing = _next_round(spacing)
        return [(spacing, 0)]


def _next_round(spacing: float) -> float:
    """The next of 1, 2, 5, 10, 20, 50, ... above ``spacing``."""
    power = 10 ** math.floor(math.log10(spacing))
    mantissa = round(spacing / power, 6)
    return power * (2 if mantissa < 2 else 5 if mantissa < 5 else 10)


def _title(plot: Any, title: str) -> None:
    plot.getPlotItem().setTitle(
        f"<span style='color:#333;font-size:{TITLE_POINTS}pt'>{title}</span>"
    )
