"""What colour each box gets: its op family, or its value under the chosen overlay."""

from __future__ import annotations

from PySide6.QtGui import QColor

from workbench.core.graph.group_layout import Box, GraphLayout
from workbench.core.graph.hierarchy import GroupPath, Hierarchy
from workbench.core.graph.op_families import FAMILIES, FAMILY_LABELS, op_family
from workbench.core.graph.overlays import ColorScale, Overlay, format_value
from workbench.ui.graph_view.items import (
    FAMILY_COLORS,
    GROUP_COLORS,
    NO_VALUE_COLORS,
    TERMINAL_COLORS,
)
from workbench.ui.graph_view.legend import Legend, scale_color


class Coloring:
    """The current overlay (None: op families) and its colour scale for the boxes in view."""

    def __init__(self) -> None:
        self.hierarchy: Hierarchy | None = None
        self.overlay: Overlay | None = None
        self.scale: ColorScale | None = None
        self._group_values: dict[GroupPath, float] = {}

    def prepare(self, hierarchy: Hierarchy | None, layout: GraphLayout | None) -> None:
        """Recompute group values and the scale (after a relayout or overlay change)."""
        self.hierarchy = hierarchy
        if self.overlay is None or hierarchy is None or layout is None:
            self.scale, self._group_values = None, {}
            return
        self._group_values = self.overlay.group_values(hierarchy)
        values = (self.value(b.kind, b.ref) for b in layout.boxes)
        self.scale = self.overlay.scale(v for v in values if v is not None)

    def value(self, kind: str, ref) -> float | None:
        if self.overlay is None:
            return None
        if kind == "node":
            return self.overlay.values.get(self.hierarchy.graph.nodes[ref].id)
        if kind == "group":
            return self._group_values.get(ref)
        return None

    def colors(self, box: Box) -> tuple[QColor, QColor]:
        """(fill, border) of a box."""
        if box.kind in ("input", "output"):
            return QColor(TERMINAL_COLORS[0]), QColor(TERMINAL_COLORS[1])
        if self.overlay is None or self.scale is None:
            if box.kind == "group":
                return QColor(GROUP_COLORS[0]), QColor(GROUP_COLORS[1])
            fill, border = FAMILY_COLORS[op_family(self.hierarchy.graph.nodes[box.ref].op_type)]
            return QColor(fill), QColor(border)
        value = self.value(box.kind, box.ref)
        if value is None:
            return QColor(NO_VALUE_COLORS[0]), QColor(NO_VALUE_COLORS[1])
        fill = scale_color(self.scale.position(value))
        return fill, fill.darker(160)

    def value_text(self, kind: str, ref) -> str:
        """The tooltip line for a box under the current overlay ("" for op families)."""
        if self.overlay is None or kind not in ("node", "group"):
            return ""
        value = self.value(kind, ref)
        shown = "no value" if value is None else format_value(value, self.overlay.kind)
        return f"{self.overlay.title}: {shown}"

    def show_in(self, legend: Legend) -> None:
        if self.overlay is None or self.scale is None:
            legend.show_families(
                [
                    (FAMILY_LABELS[f], QColor(FAMILY_COLORS[f][0]), QColor(FAMILY_COLORS[f][1]))
                    for f in FAMILIES
                ]
            )
        else:
            legend.show_scale(self.overlay.title, self.scale)
