"""The pruning wizard's richer pages: the layer tree with the sensitivity chart, and the
run page's live loss (the summary is in ``pruning_summary``).

The scan and the run are core functions started through the wizard's ``TaskRunner``;
these pages only show what comes back.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from workbench.core.errors import WorkbenchError
from workbench.ui.app_words import error_line

PALETTE = ("#1f5fa8", "#d35400", "#27ae60", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d")
NAME, AMOUNT, CHANNELS, KIND = range(4)  # the editable Amount next to the name
MAX_LEGEND = 8


def plot_widget(title: str, x_label: str, y_label: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w")
    plot.setTitle(title, color="#333", size="10pt")
    plot.setLabel("bottom", x_label)
    plot.setLabel("left", y_label)
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setMenuEnabled(False)
    for side in ("bottom", "left"):
        plot.getAxis(side).enableAutoSIPrefix(False)
    return plot


class LayersPage(QWizardPage):
    """Which layers to prune (a checkable tree) and how sensitive each one is.

    ``scan_job()`` is supplied by the wizard: it returns the function to run in a
    worker, ``job(ctx) -> SensitivityReport``.
    """

    def __init__(self, scan_job: Callable[[], Callable[[Any], Any]]) -> None:
        super().__init__()
        self.setTitle("Layers")
        self.setSubTitle(
            "Untick layers to leave them alone. The scan prunes one layer at a time on the "
            "validation data (no fine-tuning): a flat curve means the layer can lose more."
        )
        self._scan_job = scan_job
        self._job: Any = None
        self.report: Any = None
        self.leaves: dict[str, QTreeWidgetItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.tree = QTreeWidget()
        self.tree.setObjectName("layer-tree")
        self.tree.setHeaderLabels(["Layer", "Amount", "Channels", "Kind"])
        self.tree.setIndentation(14)
        # Names (deeply indented in a ResNet) always fit; the Kind column takes the rest.
        self.tree.header().setStretchLastSection(True)
        for column in (NAME, AMOUNT, CHANNELS):
            self.tree.header().setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.currentItemChanged.connect(self._highlight)
        # Only the Amount column is edited (double-click), not the names.
        self.tree.setEditTriggers(QTreeWidget.EditTrigger.NoEditTriggers)
        self.tree.itemDoubleClicked.connect(self._edit_amount)
        self.chart = plot_widget("Sensitivity", "% of the layer pruned", "validation accuracy (%)")
        self.chart.setObjectName("sensitivity-chart")
        self.chart.addLegend(offset=(8, -8), labelTextColor="#333")  # bottom left: empty
        self.scan_button = QPushButton("Run sensitivity scan")
        self.scan_button.setObjectName("scan-run")
        self.scan_button.clicked.connect(self.start_scan)
        self.cancel_button = QPushButton("Cancel scan")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_scan)
        self.bar = QProgressBar()
        self.bar.setObjectName("scan-progress")
        self.status = QLabel("Not scanned yet (optional).")
        self.status.setWordWrap(True)
        self.max_drop = QDoubleSpinBox()
        self.max_drop.setObjectName("scan-max-drop")
        self.max_drop.setRange(0.0, 50.0)
        self.max_drop.setSingleStep(0.5)
        self.max_drop.setValue(1.0)
        self.max_drop.setSuffix(" points")
        self.suggest_button = QPushButton("Set per-layer amounts")
        self.suggest_button.setObjectName("scan-apply")
        self.suggest_button.setToolTip(
            "Give each layer the largest scanned fraction that loses at most this much "
            "accuracy on its own"
        )
        self.suggest_button.setEnabled(False)
        self.suggest_button.clicked.connect(self.apply_suggestions)
        self.clear_button = QPushButton("Clear amounts")
        self.clear_button.clicked.connect(lambda: self.set_amounts({}))
        controls = QHBoxLayout()
        controls.addWidget(self.scan_button)
        controls.addWidget(self.cancel_button)
        controls.addWidget(self.bar, 1)
        apply_row = QHBoxLayout()
        apply_row.addWidget(QLabel("Accuracy budget per layer:"))
        apply_row.addWidget(self.max_drop)
        apply_row.addWidget(self.suggest_button)
        apply_row.addWidget(self.clear_button)
        apply_row.addStretch(1)
        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.chart, 1)
        column.addLayout(controls)
        column.addWidget(self.status)
        column.addLayout(apply_row)
        split = QSplitter()
        split.addWidget(self.tree)
        split.addWidget(right)
        self.tree.setMinimumWidth(320)
        self.chart.setMinimumWidth(300)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(split)

    # -- the tree -----------------------------------------------------------------------

    def set_layers(self, layers: list[Any]) -> None:
        """Fill the tree from ``prunable_layers``; containers tick all they hold."""
        self.tree.clear()
        self.leaves.clear()
        nodes: dict[str, QTreeWidgetItem] = {}
        flags = Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled
        flags |= Qt.ItemFlag.ItemIsSelectable
        for layer in layers:
            parts = layer.name.split(".")
            parent: Any = self.tree.invisibleRootItem()
            for depth in range(1, len(parts)):
                path = ".".join(parts[:depth])
                if path not in nodes:
                    node = QTreeWidgetItem(parent, [parts[depth - 1]])
                    node.setFlags(flags | Qt.ItemFlag.ItemIsAutoTristate)
                    node.setCheckState(NAME, Qt.CheckState.Checked)
                    node.setExpanded(True)
                    nodes[path] = node
                parent = nodes[path]
            kind = layer.kind + (" (depthwise)" if layer.depthwise else "")
            kind += " (classifier)" if layer.classifier else ""
            item = QTreeWidgetItem(parent, [parts[-1], "", str(layer.channels), kind])
            item.setFlags(flags | Qt.ItemFlag.ItemIsEditable)
            item.setToolTip(AMOUNT, "double-click to set this layer's own amount, e.g. 30%")
            item.setData(NAME, Qt.ItemDataRole.UserRole, layer.name)
            item.setToolTip(NAME, layer.name)
            checked = Qt.CheckState.Unchecked if layer.classifier else Qt.CheckState.Checked
            item.setCheckState(NAME, checked)
            self.leaves[layer.name] = item

    def ignored(self) -> list[str]:
        """Unticked layers, by module name."""
        return [
            n for n, item in self.leaves.items() if item.checkState(NAME) != Qt.CheckState.Checked
        ]

    def chosen(self) -> list[str]:
        return [n for n in self.leaves if n not in self.ignored()]

    def set_checked(self, name: str, checked: bool) -> None:
        state = Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        self.leaves[name].setCheckState(NAME, state)

    def amounts(self) -> dict[str, float]:
        """Per-layer amounts in the Amount column (from the scan or typed), as fractions."""
        found = {}
        for name, item in self.leaves.items():
            text = item.text(AMOUNT).strip().rstrip("%").strip()
            if not text or name in self.ignored():
                continue
            try:
                value = float(text) / 100
            except ValueError:
                value = -1.0
            if not 0.0 <= value < 1.0:
                raise WorkbenchError(
                    f"layer {name}: amount {item.text(AMOUNT)!r} is not a percentage below 100"
                )
            found[name] = value
        return found

    def _edit_amount(self, item: QTreeWidgetItem, _column: int) -> None:
        if item.data(NAME, Qt.ItemDataRole.UserRole):
            self.tree.editItem(item, AMOUNT)

    def set_amounts(self, amounts: dict[str, float]) -> None:
        for name, item in self.leaves.items():
            item.setText(AMOUNT, f"{amounts[name]:.0%}" if name in amounts else "")

    # -- the scan -----------------------------------------------------------------------

    @property
    def scanning(self) -> bool:
        return self._job is not None

    def start_scan(self) -> None:
        wizard = self.wizard()
        try:
            job = self._scan_job()
        except WorkbenchError as exc:  # e.g. no data chosen: say so where the button is
            self.status.setText(f"Cannot scan: {error_line(exc)}")
            return
        self.bar.setRange(0, 0)
        self.status.setText("Scanning…")
        self.scan_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._job = wizard.start_job(  # type: ignore[attr-defined]
            job,
            self._scanned,
            self._scan_failed,
            on_progress=self._progress,
            on_cancelled=lambda: self._scan_ended("Scan cancelled."),
        )

    def cancel_scan(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def cleanupPage(self) -> None:  # Qt's name: left with Back
        self.cancel_scan()

    def _progress(self, fraction: float | None, message: str) -> None:
        if fraction is not None:
            self.bar.setRange(0, 1000)
            self.bar.setValue(round(1000 * fraction))
        self.status.setText(message)

    def _scan_ended(self, text: str) -> None:
        self._job = None
        self.scan_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.bar.setRange(0, 1000)
        self.status.setText(text)

    def _scan_failed(self, error: BaseException) -> None:
        message = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        self._scan_ended(f"Scan failed: {message}")

    def _scanned(self, report: Any) -> None:
        self.report = report
        self._scan_ended(
            f"Scanned {len(report.accuracy)} layers on {report.samples} validation samples; "
            f"unpruned accuracy {report.baseline:.1%}."
        )
        self.bar.setValue(1000)
        self.suggest_button.setEnabled(True)
        self.show_report(report)
        if len(report.accuracy) > MAX_LEGEND:
            self.status.setText(self.status.text() + " Select a layer to highlight its curve.")

    def show_report(self, report: Any) -> None:
        self.chart.clear()
        self.curves.clear()
        ratios = [0.0, *(100 * r for r in report.ratios)]
        base = pg.InfiniteLine(
            100 * report.baseline, angle=0, pen=pg.mkPen("#888", style=Qt.PenStyle.DashLine)
        )
        self.chart.addItem(base)
        legend = len(report.accuracy) <= MAX_LEGEND  # beyond that the legend hides the plot
        for index, (name, values) in enumerate(report.accuracy.items()):
            colour = PALETTE[index % len(PALETTE)]
            curve = self.chart.plot(
                ratios, [100 * report.baseline, *(100 * v for v in values)],
                pen=pg.mkPen(colour, width=1.5), symbol="o", symbolSize=5,
                symbolBrush=colour, name=name if legend else None,
            )  # fmt: skip
            self.curves[name] = curve
            worst = values[-1]
            if name in self.leaves:
                self.leaves[name].setToolTip(
                    KIND, f"{name}: {worst:.1%} accuracy with {report.ratios[-1]:.0%} pruned"
                )
        self.chart.setYRange(0, 100)

    def apply_suggestions(self) -> None:
        if self.report is None:
            return
        amounts = self.report.suggest_amounts(max_drop=self.max_drop.value() / 100)
        self.set_amounts(amounts)
        self.status.setText(
            f"Per-layer amounts set within {self.max_drop.value():g} points each; they "
            "replace the overall amount for those layers."
        )

    def _highlight(self, current: QTreeWidgetItem | None, _previous: Any) -> None:
        chosen = current.data(NAME, Qt.ItemDataRole.UserRole) if current else None
        for name, curve in self.curves.items():
            pen = curve.opts["pen"]
            colour = pg.mkPen(pen).color()
            curve.setPen(pg.mkPen(colour, width=3.5 if name == chosen else 1.5))


class LiveLoss:
    """Training losses from the worker thread, drawn on the GUI thread every 100 ms.

    ``listener`` is handed to the core (a training-event listener); it only appends to
    a deque, which is safe across threads, and the timer drains it into one curve.
    """

    def __init__(self, plot: pg.PlotWidget) -> None:
        self.plot = plot
        self.curve = plot.plot([], [], pen=pg.mkPen("#1f5fa8", width=1.2))
        self.queue: collections.deque[tuple[int, float]] = collections.deque()
        self.xs: list[int] = []
        self.ys: list[float] = []
        self.offset = 0
        self.timer = QTimer(plot)
        self.timer.setInterval(100)
        self.timer.timeout.connect(self.drain)

    def reset(self) -> None:
        self.queue.clear()
        self.xs.clear()
        self.ys.clear()
        self.offset = 0
        self.curve.setData([], [])

    def listener(self, event: Any) -> None:
        kind = type(event).__name__
        if kind == "Started":  # each pruning step fine-tunes anew: continue the x axis
            self.offset = self.xs[-1] if self.xs else 0
        elif kind == "Step":
            self.queue.append((event.step, event.loss))

    def drain(self) -> None:
        if not self.queue:
            return
        while self.queue:
            step, loss = self.queue.popleft()
            self.xs.append(self.offset + step)
            self.ys.append(loss)
        self.curve.setData(self.xs, self.ys)
