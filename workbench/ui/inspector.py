"""Details of whatever is selected: a node, or a variant with its lineage and summary."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem

from workbench.core.graph.model import Graph, Node
from workbench.core.project import Project, Variant
from workbench.core.units import human_bytes, human_count

MAX_VALUE_CHARS = 200


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


class Inspector(QTreeWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector")
        self.setColumnCount(2)
        self.setHeaderLabels(("Property", "Value"))
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.setWordWrap(True)

    def _section(self, title: str, rows: list[tuple[str, Any]]) -> None:
        section = QTreeWidgetItem([title, ""])
        font = section.font(0)
        font.setBold(True)
        section.setFont(0, font)
        for key, value in rows:
            item = QTreeWidgetItem([key, _short(value)])
            item.setToolTip(1, str(value))
            section.addChild(item)
        self.addTopLevelItem(section)
        section.setExpanded(True)

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
                *[(f"input {t['name']}", _tensor(t)) for t in summary["inputs"]],
                *[(f"output {t['name']}", _tensor(t)) for t in summary["outputs"]],
            ],
        )

    def show_variant(self, project: Project, variant: Variant, summary: dict | None) -> None:
        self.clear()
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
        from workbench.core.measure.metrics import summary_rows

        self._section("Metrics", summary_rows(variant.metrics) or [("(none yet)", "")])


def _tensor(entry: dict[str, Any]) -> str:
    dims = entry.get("shape")
    shape = "?" if dims is None else "x".join("?" if d is None else str(d) for d in dims)
    return f"{entry.get('dtype') or '?'}[{shape}]"
