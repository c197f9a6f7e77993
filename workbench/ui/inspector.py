"""Details of whatever is selected: a node, or a variant with its lineage and summary.

A variant shown stays current: the inspector follows the project's events and shows it
again when it changes (new metrics, a new state) and no more once it is removed."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem

from workbench.core.graph.model import Graph, Node
from workbench.core.graph.shape_math import ShapeMathIndex
from workbench.core.project import Project, Variant
from workbench.core.units import human_bytes, human_count

MAX_VALUE_CHARS = 200
MAX_FOLDED_ROWS = 40  # of the shape arithmetic listed under a node; the rest counted
LABEL_SHARE = 0.6  # of the width, at most, for the Property column


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


class Inspector(QTreeWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector")
        self.setColumnCount(2)
        self.setHeaderLabels(("Property", "Value"))
        # Sized to its labels, but never so wide that the values go out of sight (a long
        # variant name in the lineage did that with ResizeToContents): see _fit_labels.
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.header().setStretchLastSection(True)
        self.setWordWrap(True)
        self._shown: tuple[Project, Variant, dict | None] | None = None  # the variant shown
        self._shape_math: ShapeMathIndex | None = None  # of the last graph a node came from

    def follow(self, project: Project) -> None:
        """Keep a variant of ``project`` that is shown up to date with it."""
        project.events.variant_changed.connect(self._on_variant_changed)
        project.events.state_changed.connect(self._on_variant_changed)
        project.events.variant_removed.connect(self._on_variant_removed)
        project.events.replaced.connect(self._on_replaced)

    def _on_variant_changed(self, variant: Variant) -> None:
        if self._shown is not None and self._shown[1] is variant:
            self.show_variant(*self._shown)

    def _on_variant_removed(self, variant: Variant) -> None:
        if self._shown is not None and self._shown[1] is variant:
            self.clear()

    def _on_replaced(self, project: Project) -> None:
        # The tree may already have selected a variant of the new project (it heard first).
        if self._shown is not None and self._shown[1] not in project.variants.values():
            self.clear()

    def clear(self) -> None:
        super().clear()
        self._shown = None

    def _section(self, title: str, rows: list[tuple[str, Any]], *, nested: bool = False) -> None:
        """A bold heading over ``rows``; with ``nested``, a list value is a group of rows
        (``figure_rows``' shape) rather than a value to print."""
        section = QTreeWidgetItem([title, ""])
        font = section.font(0)
        font.setBold(True)
        section.setFont(0, font)
        self._add_rows(section, rows, nested)
        self.addTopLevelItem(section)
        section.setExpanded(True)
        if section.childCount() == 1:  # a lone group (a quantization's figures) is opened
            section.child(0).setExpanded(True)
        self._fit_labels()

    def _add_rows(self, parent: QTreeWidgetItem, rows: list[tuple[str, Any]], nested: bool) -> None:
        for key, value in rows:
            if nested and isinstance(value, list):
                group = QTreeWidgetItem([key, ""])
                parent.addChild(group)
                self._add_rows(group, value, nested)  # shut until clicked: keeps it short
                continue
            item = QTreeWidgetItem([key, _short(value)])
            item.setToolTip(0, key)
            item.setToolTip(1, str(value))
            parent.addChild(item)

    def _fit_labels(self) -> None:
        self.resizeColumnToContents(0)
        widest = max(120, int(self.viewport().width() * LABEL_SHARE))
        self.setColumnWidth(0, min(self.columnWidth(0), widest))

    def resizeEvent(self, event) -> None:  # Qt's name
        super().resizeEvent(event)
        self._fit_labels()

    def show_node(self, graph: Graph, node: Node) -> None:
        self.clear()
        self._section(
            "Node",
            [
                ("name", node.name or node.id),
                ("op type", node.op_type),
                ("scope", "/".join(node.scope) or "(top level)"),
                ("parameters", f"{node.params:,}"),
                ("MACs", human_count(node.macs)),
            ],
        )
        if node.attributes:
            self._section("Attributes", sorted(node.attributes.items()))

        def tensor_rows(names: list[str]) -> list[tuple[str, Any]]:
            rows = []
            for name in names:
                tensor = graph.tensors.get(name)
                weight = graph.weights.get(name)
                if weight is not None:
                    rows.append(
                        (name, f"{weight.dtype}[{'x'.join(map(str, weight.shape))}] weight")
                    )
                else:
                    rows.append((name, tensor.describe() if tensor else "?"))
            return rows

        self._section("Inputs", tensor_rows(node.inputs))
        self._section("Outputs", tensor_rows(node.outputs))
        folded = self._shape_math_of(graph).feeding(node)
        if folded:  # what "Hide shape arithmetic" folds into this node, listed here
            rows = [(n.name or n.id, n.op_type) for n in folded[:MAX_FOLDED_ROWS]]
            if len(folded) > MAX_FOLDED_ROWS:
                rows.append((f"… {len(folded) - MAX_FOLDED_ROWS} more", ""))
            self._section(f"Shape arithmetic feeding it ({len(folded)})", rows)

    def _shape_math_of(self, graph: Graph) -> ShapeMathIndex:
        if self._shape_math is None or self._shape_math.graph is not graph:
            self._shape_math = ShapeMathIndex(graph)
        return self._shape_math

    def show_model(self, summary: dict[str, Any]) -> None:
        """Only what the file says (a model whose variant is still being opened)."""
        self.clear()
        self._model_section(summary)

    def _model_section(self, summary: dict[str, Any]) -> None:
        file_size = summary["file_size"]
        self._section(
            "Model",
            [
                ("format", summary["format"]),
                ("file size", human_bytes(file_size) if file_size else "—"),
                ("nodes", f"{summary['node_count']:,}"),
                ("parameters", f"{summary['parameters']:,}"),
                ("MACs (batch 1)", human_count(summary["macs"])),
                *[_block_row(b) for b in summary.get("repeated_blocks", [])],
                *[(f"input {t['name']}", _tensor(t)) for t in summary["inputs"]],
                *[(f"output {t['name']}", _tensor(t)) for t in summary["outputs"]],
            ],
        )

    def show_variant(self, project: Project, variant: Variant, summary: dict | None) -> None:
        self.clear()
        self._shown = (project, variant, summary)
        self._section(
            "Variant",
            [
                ("name", variant.name),
                ("id", variant.id),
                ("framework", variant.framework),
                ("source", variant.source),
                ("architecture", variant.arch or "—"),
                ("dataset", variant.dataset or "—"),
                ("state", variant.state),
            ],
        )
        lineage = project.lineage(variant.id)
        self._section(
            "Lineage",
            [(v.name, v.step.get("pass", "opened") if v.step else "opened") for v in lineage],
        )
        if summary:
            self._model_section(summary)
        from workbench.core.measure.metrics import figure_rows, summary_rows

        figures = figure_rows(variant.metrics)
        if figures:  # what the pass or training run that made this variant reported
            self._section("Result", figures, nested=True)
        self._section("Metrics", summary_rows(variant.metrics) or [("(none yet)", "")])


def _block_row(block: dict[str, Any]) -> tuple[str, str]:
    """One block of a folded run ("blocks ×4"): what each of the identical layers holds."""
    return (
        f"each of {block['label']}",
        f"{block['params']:,} parameters, {human_count(block['macs'])} MACs, "
        f"{block['nodes']} nodes",
    )


def _tensor(entry: dict[str, Any]) -> str:
    dims = entry.get("shape")
    shape = "?" if dims is None else "x".join("?" if d is None else str(d) for d in dims)
    return f"{entry.get('dtype') or '?'}[{shape}]"
