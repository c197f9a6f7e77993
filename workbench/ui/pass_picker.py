"""The registered passes (built-in and plugins) beside the selected pass's form."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from workbench.core.catalogue import get_registry
from workbench.core.errors import WorkbenchError
from workbench.ui.config_form import ConfigForm


class PassPicker(QWidget):
    """The registered passes on the left; the chosen pass's explanation and form on the right.

    ``selection()`` returns ``(PassEntry, config)``. Each pass's module is imported when
    it is first selected (pass modules import torch only inside ``apply``).
    """

    pass_changed = Signal(str)

    def __init__(self, registry: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.registry = registry or get_registry()
        self.form: ConfigForm | None = None
        self.list = QListWidget()
        self.list.setObjectName("pass-list")
        for entry in self.registry.passes.values():
            item = QListWidgetItem(entry.title)
            item.setData(Qt.ItemDataRole.UserRole, entry.name)
            item.setToolTip(f"{entry.name} ({entry.source})")
            self.list.addItem(item)
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: bold;")
        self.description = QLabel()
        self.description.setWordWrap(True)
        self.form_holder = QVBoxLayout()
        right = QWidget()
        column = QVBoxLayout(right)
        column.addWidget(self.title)
        column.addWidget(self.description)
        column.addLayout(self.form_holder)
        column.addStretch(1)
        # A long form scrolls rather than squeezing each field's help behind the next.
        self.scroll = QScrollArea()
        self.scroll.setObjectName("pass-form-scroll")
        self.scroll.setWidget(right)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        splitter = QSplitter()
        splitter.addWidget(self.list)
        splitter.addWidget(self.scroll)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([220, 540])
        QVBoxLayout(self).addWidget(splitter)
        self.list.currentItemChanged.connect(self._on_selected)
        if self.list.count():
            self.list.setCurrentRow(0)

    def names(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def select(self, name: str) -> None:
        self.list.setCurrentRow(self.names().index(name))

    def selection(self) -> tuple[Any, Any]:
        """(the selected PassEntry, its validated config); WorkbenchError if invalid."""
        item = self.list.currentItem()
        if item is None or self.form is None:
            raise WorkbenchError("choose a pass first")
        return self.registry.pass_(item.data(Qt.ItemDataRole.UserRole)), self.form.value()

    def _on_selected(self, item: QListWidgetItem | None, _previous: Any) -> None:
        if self.form is not None:
            self.form.setParent(None)
            self.form.deleteLater()
            self.form = None
        if item is None:
            return
        entry = self.registry.pass_(item.data(Qt.ItemDataRole.UserRole))
        self.title.setText(entry.title)
        try:
            cls = entry.load()
            self.form = ConfigForm(cls.config_class)
        except WorkbenchError as exc:  # a plugin pass whose code cannot be imported
            self.description.setText(f"{entry.description}\n\nThis pass cannot be used: {exc}")
        else:
            self.description.setText(cls.description or entry.description)
            self.form_holder.addWidget(self.form)
        self.pass_changed.emit(entry.name)
