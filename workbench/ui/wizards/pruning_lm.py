"""The pruning wizard's pages for a language model: heads, MLP width and depth.

A model whose dataset is a language-modeling one gets the ``lm-prune`` pass: this page
replaces the method, target, layers and review pages (there are no channels to pick by
hand), and the summary adds the depth scan's table. Every field is ``LMPruneConfig``'s,
through ``ConfigForm``, so the limits are the CLI's (``prune --heads --mlp --depth``).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWizardPage

from workbench.core.compress.pruning.config import LMPruneConfig
from workbench.ui.config_form import ConfigForm

LM_FIELDS = ("heads", "mlp", "depth", "method")
LM_FINETUNE_FIELDS = ("finetune_epochs", "finetune_lr")  # LMPruneConfig has no steps


class LMMethodPage(QWizardPage):
    """What to remove from a decoder language model, and how heads/channels are ranked."""

    def __init__(self, blocks: int) -> None:
        super().__init__()
        self.setTitle("What to remove")
        self.setSubTitle(
            "A language model loses whole attention heads, part of each MLP's hidden width, "
            "or whole blocks. Quality is judged by perplexity (lower is better)."
        )
        self.blocks = blocks
        self.form = ConfigForm(LMPruneConfig, only=LM_FIELDS)
        self.form.setObjectName("lm-prune-form")
        self.form.set_value({"heads": 0.25, "mlp": 0.25})
        self.form.editors["depth"].setMaximum(max(0, blocks - 1))  # one block must stay
        self.explain = QLabel()
        self.explain.setObjectName("lm-prune-explain")
        self.explain.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(self.explain)
        layout.addStretch(1)
        self.form.changed.connect(self._explain)
        self.form.validity_changed.connect(lambda _valid: self.completeChanged.emit())
        self._explain()

    def value(self) -> str:
        """The ranking method (what the fine-tuning page asks about Taylor)."""
        return self.form.values()["method"]

    def settings(self) -> dict[str, Any]:
        values = self.form.values()
        return {name: values[name] for name in LM_FIELDS}

    def isComplete(self) -> bool:  # Qt's name
        values = self.form.values()
        nothing = not (values["heads"] or values["mlp"] or values["depth"])
        return self.form.is_valid() and not nothing

    def _explain(self, *_args: Any) -> None:
        values = self.form.values()
        parts = []
        if values["heads"]:
            parts.append(f"{values['heads']:.0%} of the attention heads of every block")
        if values["mlp"]:
            parts.append(f"{values['mlp']:.0%} of every MLP's hidden width")
        if values["depth"]:
            parts.append(
                f"{values['depth']} of the {self.blocks} blocks, those whose absence costs the "
                "least perplexity in a scan that drops each block in turn (needs data)"
            )
        text = ("Removes " + "; ".join(parts) + ". The embedding width and the output layer "
                "stay whole.") if parts else "Choose something to remove."  # fmt: skip
        self.explain.setText(text)


def depth_table(scan: dict[str, Any] | None, dropped: list[int]) -> QTableWidget:
    """The depth scan, least important block first; the dropped ones marked."""
    table = QTableWidget(0, 4)
    table.setObjectName("depth-scan-table")
    table.setHorizontalHeaderLabels(["Block", "Perplexity without it", "Change", ""])
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    fill_depth_table(table, scan, dropped)
    return table


def fill_depth_table(table: QTableWidget, scan: dict[str, Any] | None, dropped: list[int]) -> None:
    blocks = sorted((scan or {}).get("blocks", []), key=lambda b: b["perplexity"])
    baseline = (scan or {}).get("baseline") or 1.0
    table.setRowCount(len(blocks))
    for row, block in enumerate(blocks):
        cells = (
            str(block["block"]),
            f"{block['perplexity']:.2f}",
            f"{block['perplexity'] / baseline - 1:+.1%}",
            "removed" if block["block"] in dropped else "",
        )
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if column in (1, 2):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(row, column, item)
    table.resizeColumnsToContents()
    table.setVisible(bool(blocks))
