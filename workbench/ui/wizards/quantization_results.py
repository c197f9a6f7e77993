"""The quantization wizard's last page: before/after figures and the per-node error.

The error table lists nodes by the error they add (worst first) with a check box each;
"Keep ticked in float and re-run" runs the pass again with those nodes excluded.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from workbench.core.units import human_bytes, speed_change

COLUMNS = ("Keep float", "Node", "Op", "Error added", "Error at output", "SQNR (dB)")
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
SHOWN_ROWS = 200  # a table of thousands of nodes helps nobody; the worst come first


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f} ms"


def summary_html(outcome: Any) -> str:
    """Before/after as a small HTML table: accuracy, latency per batch, size."""
    b, a = outcome.before, outcome.after
    if b is None or a is None:
        return "Not measured."
    ratios = outcome.ratios()
    rows = []
    if b.top1 is not None and a.top1 is not None:
        rows.append(("Top-1 accuracy", f"{b.top1:.2%}", f"{a.top1:.2%}",
                     f"{ratios['top1_change_points']:+.2f} points"))  # fmt: skip
    if b.perplexity is not None and a.perplexity is not None:
        rows.append(("Perplexity (lower is better)", f"{b.perplexity:.2f}",
                     f"{a.perplexity:.2f}", f"{ratios['perplexity_change']:+.2%}"))  # fmt: skip
    paired, flags = outcome.speed_rounds(), []
    for batch, before_ms in b.latency_ms.items():
        after_ms = a.latency_ms.get(batch)
        speed = speed_change(before_ms / after_ms) if after_ms else "—"
        ratio = paired.get(batch)
        if ratio is not None:
            speed = speed_change(ratio.median)
            if ratio.spread is not None:
                speed += f" ({ratio.low:.2f}x-{ratio.high:.2f}x)"
            if ratio.unsteady:
                speed = "⚠ " + speed
                flags.append(f"Latency, batch {batch}: {ratio.flag()}.")
        rows.append((f"Latency, batch {batch} (p50)", _ms(before_ms), _ms(after_ms), speed))
    rows.append(("Size", human_bytes(b.size_bytes), human_bytes(a.size_bytes),
                 f"{ratios['size_ratio']:.2f}x smaller"))  # fmt: skip
    weights = outcome.pass_metrics.get("matmul_weight_bytes") or {}
    if ratios.get("matmul_weight_ratio"):
        rows.append(("MatMul weights", human_bytes(weights["float"]),
                     human_bytes(weights["quantized"]),
                     f"{ratios['matmul_weight_ratio']:.2f}x smaller"))  # fmt: skip
    cells = "".join(
        "<tr>" + "".join(f"<td style='padding: 2px 14px 2px 0'>{c}</td>" for c in row) + "</tr>"
        for row in rows
    )
    head = "".join(
        f"<th align='left' style='padding-right: 14px'>{h}</th>"
        for h in ("", "Float", "Quantized", "Change")
    )
    where = outcome.latency_label()
    rounds = max((len(r.rounds) for r in paired.values()), default=1)
    if rounds > 1:
        where += f"; change: median of {rounds} interleaved rounds (range)"
    text = f"<table><tr>{head}</tr>{cells}</table><p>Measured with {html.escape(where)}.</p>"
    table = outcome.node_error
    if table is not None and table.blocks:  # a decoder's layers, each one's output drift
        shown = ", ".join(f"{html.escape(r.block)} {r.sqnr_db:.1f} dB" for r in table.blocks)
        text += f"<p>Error at each block's output (SQNR, higher is better): {shown}.</p>"
    if flags:
        text += "<p><b>" + "<br>".join(html.escape(f) for f in flags) + "</b></p>"
    if outcome.auto_exclusion is not None:
        lines = [html.escape(line) for line in outcome.auto_exclusion.describe(a)]
        text += f"<p><b>{lines[0][0].upper()}{lines[0][1:]}</b><br>" + "<br>".join(lines[1:])
        text += "</p>"
    advice = outcome.advice()
    if advice:  # what the figures say about this precision on this device
        escape = functools.partial(html.escape, quote=False)
        items = "".join(
            f"<li>{escape(a.text)} <small>[{escape(a.figure)}]</small></li>" for a in advice
        )
        text += f"<p><b>On this device</b></p><ul style='margin-top: 0'>{items}</ul>"
    return text


class ResultsPage(QWizardPage):
    def __init__(self, rerun: Callable[[list[str]], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Results")
        self.setSubTitle("Finish adds the quantized model as a new variant. Tick nodes that "
                         "lose the most to keep them in float, then re-run.")  # fmt: skip
        self._rerun = rerun
        self.excluded: list[str] = []
        self.summary = QLabel()
        self.summary.setObjectName("quant-summary")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)  # the advice is prose: it wraps, the wizard keeps its width
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("quant-error-table")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # no focus frame on the check cell
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.itemChanged.connect(lambda _item: self._update_button())
        self.table_note = QLabel()
        self.table_note.setWordWrap(True)
        self.notes = QLabel()
        self.notes.setObjectName("quant-notes")
        self.notes.setWordWrap(True)
        self.rerun_button = QPushButton("Keep ticked nodes in float and re-run")
        self.rerun_button.setObjectName("quant-rerun")
        self.rerun_button.clicked.connect(lambda: self._rerun(self.ticked()))
        row = QHBoxLayout()
        row.addWidget(self.table_note, 1)
        row.addWidget(self.rerun_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(QLabel("<b>Per-node error</b> (float vs quantized activations)"))
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        layout.addWidget(self.notes)

    def show_outcome(self, outcome: Any) -> None:
        self.summary.setText(summary_html(outcome))
        self.excluded = list(outcome.config.get("exclude") or [])
        table = outcome.node_error
        rows = table.rows[:SHOWN_ROWS] if table is not None else []
        listed = {entry.node for entry in rows}
        # Nodes kept in float may write no quantized tensor any more: list them first,
        # ticked, so they can be unticked.
        kept = [name for name in self.excluded if name not in listed]
        # Auto-excluded nodes keep the figures of the run that picked them.
        auto = outcome.auto_exclusion
        picked = {row["node"]: row for row in (auto.nodes if auto is not None else [])}
        self.table.blockSignals(True)
        self.table.setRowCount(len(kept) + len(rows))
        cells = [
            (name, picked[name]["op_type"], f"kept float (was {picked[name]['added']:.2%})",
             f"was {picked[name]['error']:.2%}", f"was {picked[name]['sqnr_db']:.1f}")
            if name in picked
            else (name, "", "kept float", "—", "—")
            for name in kept
        ]  # fmt: skip
        cells += [
            (e.node, e.op_type, f"{e.added:.2%}", f"{e.error:.2%}", f"{e.sqnr_db:.1f}")
            for e in rows
        ]
        for index, values in enumerate(cells):
            check = QTableWidgetItem()
            check.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            ticked = values[0] in self.excluded
            check.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
            check.setData(Qt.ItemDataRole.UserRole, values[0])
            self.table.setItem(index, 0, check)
            for column, text in enumerate(values, start=1):
                item = QTableWidgetItem(text)
                if column >= 3:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.table.setItem(index, column, item)
        self.table.blockSignals(False)
        if table is None:
            self.table_note.setText("No per-node error table (no data, or error samples 0).")
        else:
            self.table_note.setText(
                f"{len(table.rows)} nodes on {table.samples} samples, by error added; the "
                "graph's “Quantization error” overlay shows the error at each output."
            )
        self.notes.setText("<br>".join(f"• {n}" for n in outcome.notes))
        self._update_button()

    def ticked(self) -> list[str]:
        names = []
        for index in range(self.table.rowCount()):
            item = self.table.item(index, 0)
            if item.checkState() == Qt.CheckState.Checked:
                names.append(item.data(Qt.ItemDataRole.UserRole))
        return names

    def tick(self, names: list[str]) -> None:
        for index in range(self.table.rowCount()):
            item = self.table.item(index, 0)
            if item.data(Qt.ItemDataRole.UserRole) in names:
                item.setCheckState(Qt.CheckState.Checked)

    def _update_button(self) -> None:
        self.rerun_button.setEnabled(sorted(self.ticked()) != sorted(self.excluded))
