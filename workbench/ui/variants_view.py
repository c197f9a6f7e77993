"""The Variants dock: the project's variants as a tree of lineages, kept in step with
the project by its events (added, changed, removed, state changed, replaced)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from workbench.core.project import Project, Variant

VARIANT_ROLE = Qt.ItemDataRole.UserRole + 1


class VariantsView(QTreeWidget):
    """One item per variant, under its parent's; a new variant is selected."""

    current_changed = Signal(object)  # the selected Variant, or None when none is

    def __init__(self, project: Project, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("variants")
        self.setHeaderLabels(("Variant", "State"))
        # The name takes what the state ("ready", "running") leaves: a fixed half of a
        # narrow dock cut "digits_cnn (pruned)" to "digi…".
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        # Siblings share their parent's name as a prefix ("digits_cnn · keep Conv_3 in
        # float", "… per channel"): cut in the middle so their ends stay apart, and the
        # tooltip gives the whole name.
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.project = project
        self.currentItemChanged.connect(self._on_current_item)
        events = project.events
        events.variant_added.connect(self._on_added)
        events.variant_changed.connect(self._on_changed)
        events.state_changed.connect(self._on_changed)
        events.variant_removed.connect(self._on_removed)
        events.replaced.connect(self._on_replaced)

    @property
    def current(self) -> Variant | None:
        item = self.currentItem()
        return self.project.variants.get(item.data(0, VARIANT_ROLE)) if item else None

    def select(self, variant_id: str) -> None:
        item = self.item_of(variant_id)
        if item is not None:
            self.setCurrentItem(item)

    def item_of(self, variant_id: str) -> QTreeWidgetItem | None:
        for item in self.findItems("*", Qt.MatchFlag.MatchWildcard | Qt.MatchFlag.MatchRecursive):
            if item.data(0, VARIANT_ROLE) == variant_id:
                return item
        return None

    def _on_current_item(self, item: QTreeWidgetItem | None, _previous: Any) -> None:
        self.current_changed.emit(
            self.project.variants.get(item.data(0, VARIANT_ROLE)) if item else None
        )

    def _on_added(self, variant: Variant) -> None:
        item = QTreeWidgetItem([variant.name, variant.state])
        item.setData(0, VARIANT_ROLE, variant.id)
        self._set_tooltip(item, variant)
        parent_item = self.item_of(variant.parent) if variant.parent else None
        if parent_item is not None:
            parent_item.addChild(item)
            parent_item.setExpanded(True)
        else:
            self.addTopLevelItem(item)
        self.setCurrentItem(item)

    def _on_changed(self, variant: Variant) -> None:
        item = self.item_of(variant.id)
        if item is not None:
            item.setText(0, variant.name)
            item.setText(1, variant.state)
            self._set_tooltip(item, variant)

    def _set_tooltip(self, item: QTreeWidgetItem, variant: Variant) -> None:
        """The whole name, and the step that made it from which variant."""
        parent = self.project.variants.get(variant.parent) if variant.parent else None
        made = (
            f"made by {variant.step.get('pass', 'a step')} from {parent.name}"
            if parent is not None
            else f"opened from {variant.source}"
            if variant.source
            else ""
        )
        tip = f"{variant.name}\n{made}" if made else variant.name
        item.setToolTip(0, tip)
        item.setToolTip(1, tip)

    def _on_removed(self, variant: Variant) -> None:
        item = self.item_of(variant.id)
        if item is None:
            return
        owner = item.parent()
        if owner is not None:
            owner.removeChild(item)
        else:
            self.takeTopLevelItem(self.indexOfTopLevelItem(item))

    def _on_replaced(self, project: Project) -> None:
        """Rebuild from the project, parents before children; the last one is selected."""
        self.clear()
        ordered = sorted(project.variants.values(), key=lambda v: len(project.lineage(v.id)))
        for variant in ordered:
            self._on_added(variant)
