"""The graph's "Colour by" chooser: the built-in overlays first, then those added."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QWidget

FAMILY_OVERLAY = "Op family"
SPARSITY = "Weight sparsity"
BUILT_IN = (FAMILY_OVERLAY, "Parameters", "MACs")


class OverlayBox(QComboBox):
    chosen = Signal(str)  # the overlay to colour by; again when chosen again

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("graph-overlay")
        self.setToolTip("Colour the boxes by")
        self.currentTextChanged.connect(self.chosen)

    def reset(self, sparsity: bool) -> None:
        """Only the built-in overlays (and weight sparsity, when weights can be counted)."""
        self.blockSignals(True)
        self.clear()
        self.addItems([*BUILT_IN, SPARSITY] if sparsity else list(BUILT_IN))
        self.blockSignals(False)

    def add(self, name: str) -> None:
        if self.findText(name) < 0:
            self.addItem(name)

    def remove(self, name: str) -> None:
        index = self.findText(name)
        if index >= 0:
            self.removeItem(index)

    def choose(self, name: str) -> None:
        """Colour by ``name``, a known overlay; chosen again if it already is."""
        index = self.findText(name)
        if index < 0:
            raise KeyError(name)
        if self.currentIndex() == index:
            self.chosen.emit(name)
        else:
            self.setCurrentIndex(index)
