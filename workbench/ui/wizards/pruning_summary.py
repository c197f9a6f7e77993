"""The pruning wizard's last page: before -> after figures and per-layer bars."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWizardPage,
)

from workbench.core.measure.spread import SpeedRatio
from workbench.core.units import human_bytes, human_count, speed_change
from workbench.ui.wizards.pruning_lm import depth_table, fill_depth_table
from workbench.ui.wizards.pruning_pages import plot_widget


class SummaryPage(QWizardPage):
    """Before -> after: parameters, MACs, size, accuracy, latency; per-layer bars."""

    ROWS = (
        ("Parameters", "parameters", human_count),
        ("MACs (batch 1)", "macs", human_count),
        ("Weights size", "weights_bytes", human_bytes),
        ("Zero weights", "sparsity", lambda v: f"{v:.1%}"),
        ("Accuracy", "accuracy", lambda v: f"{v:.2%}"),
        ("Perplexity (lower is better)", "perplexity", lambda v: f"{v:.2f}"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Summary")
        self.setSubTitle("Measured on this machine; Finish adds the pruned model as a variant.")
        self.table = QTableWidget(0, 4)
        self.table.setObjectName("summary-table")
        self.table.setHorizontalHeaderLabels(["", "Before", "After", "Change"])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.bars = plot_widget("Per layer", "", "")
        self.bars.setObjectName("summary-bars")
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setObjectName("summary-notes")
        layout = QVBoxLayout(self)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.bars)
        # A language model's depth scan (its bars would be empty: no channel layers).
        self.depth = depth_table(None, [])
        split.addWidget(self.depth)
        split.setSizes([210, 290, 200])  # the depth table's share: shown only for an LM
        layout.addWidget(split, 1)
        layout.addWidget(self.notes)

    def show_run(self, run: Any) -> None:
        figures = run.figures
        rows: list[tuple[str, str, str, str]] = []
        before, after = figures.get("before", {}), figures.get("after", {})
        for label, key, fmt in self.ROWS:
            if key == "sparsity" and not (before.get(key) or after.get(key)):
                continue  # structured pruning leaves no zeros: the row says nothing
            if key in before and key in after and before[key] is not None:
                change = _change(before[key], after[key], key)
                rows.append((label, fmt(before[key]), fmt(after[key]), change))
        label = figures.get("conditions") or "ONNX Runtime"
        flags = []
        for batch, ms in before.get("latency_ms", {}).items():
            new = after["latency_ms"][batch]
            paired = figures.get("speedup_rounds", {}).get(batch)
            ratio = SpeedRatio.from_json(paired) if paired else SpeedRatio([ms / new])
            change = speed_change(ratio.median)
            if ratio.spread is not None:
                change += f" ({ratio.low:.2f}x-{ratio.high:.2f}x)"
            if ratio.unsteady:
                change = "⚠ " + change
                flags.append(f"Latency, batch {batch}: {ratio.flag()}.")
            rows.append((f"Latency, batch {batch} ({label})", f"{ms:.3f} ms",
                         f"{new:.3f} ms", change))  # fmt: skip
        self.table.setRowCount(len(rows))
        for row, values in enumerate(rows):
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self._bars(run.pass_metrics)
        metrics = run.pass_metrics
        fill_depth_table(self.depth, metrics.get("depth_scan"), metrics.get("dropped_blocks", []))
        self.bars.setVisible("layer_channels" in metrics or "layer_sparsity" in metrics)
        self.notes.setText("\n".join([*flags, *run.notes]))

    def _bars(self, metrics: dict[str, Any]) -> None:
        """Horizontal bars, one row per layer, so full layer names fit on the axis."""
        self.bars.clear()
        if "layer_channels" in metrics:
            names = list(metrics["layer_channels"])
            before = [metrics["layer_channels"][n][0] for n in names]
            after = [metrics["layer_channels"][n][1] for n in names]
            self.bars.setTitle("Channels per layer: before (grey), after (blue)", color="#333")
            self._bar(before, "#c8c8c8", 0.8)
            self._bar(after, "#1f5fa8", 0.5)
        elif "layer_sparsity" in metrics:
            names = list(metrics["layer_sparsity"])
            self.bars.setTitle("Fraction of zero weights per layer", color="#333")
            self._bar([metrics["layer_sparsity"][n] for n in names], "#1f5fa8", 0.6)
        else:
            return
        self.bars.getAxis("left").setTicks([list(enumerate(names))])
        self.bars.getPlotItem().invertY(True)
        self.bars.setYRange(-0.6, len(names) - 0.4, padding=0)

    def _bar(self, widths: list[float], colour: str, height: float) -> None:
        item = pg.BarGraphItem(
            x0=0, y=list(range(len(widths))), width=widths, height=height, brush=colour, pen=None
        )
        self.bars.addItem(item)


def _change(before: float, after: float, key: str) -> str:
    if key == "accuracy":
        return f"{(after - before) * 100:+.1f} points"
    if key == "sparsity":
        return f"{(after - before) * 100:+.1f} points"
    if key == "perplexity":
        return f"{after / before - 1:+.1%}"
    if not after:
        return ""
    return f"{before / after:.2f}x smaller" if after < before else f"{after / before:.2f}x"
