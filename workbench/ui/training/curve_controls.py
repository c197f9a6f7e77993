"""How the training curves are shown: smoothing, envelope mode, log axes, earlier runs."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from workbench.ui.training.curves import TrainingCurves

MODES = (("Smoothed", "smooth"), ("Min/max envelope", "envelope"), ("Raw only", "raw"))


class CurveControls(QWidget):
    """The controls above ``curves``, applied to it as they change."""

    def __init__(self, curves: TrainingCurves, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.curves = curves
        self.smoothing = QSlider(Qt.Orientation.Horizontal)
        self.smoothing.setRange(0, 99)
        self.smoothing.setValue(60)
        self.smoothing.setMinimumWidth(80)
        self.smoothing.setMaximumWidth(200)
        self.smoothing_label = QLabel("0.60")
        self.mode = QComboBox()
        for text, value in MODES:
            self.mode.addItem(text, value)
        self.log_x = QCheckBox("log x")
        self.log_y = QCheckBox("log y")
        self.show_earlier = QCheckBox("earlier runs")
        self.show_earlier.setChecked(True)
        # Two rows, so that the tab fits beside the docks at 1280 px (one row needed 630).
        smoothing_row = QHBoxLayout()
        smoothing_row.addWidget(QLabel("Smoothing"))
        smoothing_row.addWidget(self.smoothing, 1)
        smoothing_row.addWidget(self.smoothing_label)
        smoothing_row.addSpacing(12)
        smoothing_row.addWidget(self.mode)
        smoothing_row.addStretch(0)
        view_row = QHBoxLayout()
        for box in (self.log_x, self.log_y, self.show_earlier):
            view_row.addWidget(box)
        view_row.addStretch(1)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(smoothing_row)
        column.addLayout(view_row)
        self._smooth_timer = QTimer(self)
        self._smooth_timer.setSingleShot(True)
        self._smooth_timer.setInterval(60)
        self._smooth_timer.timeout.connect(
            lambda: self.curves.set_smoothing(self.smoothing.value() / 100)
        )
        self.smoothing.valueChanged.connect(self._on_smoothing)
        self.mode.currentIndexChanged.connect(
            lambda _: self.curves.set_mode(self.mode.currentData())
        )
        self.log_x.toggled.connect(self._on_log)
        self.log_y.toggled.connect(self._on_log)
        self.show_earlier.toggled.connect(self.curves.set_show_earlier)

    def _on_smoothing(self, value: int) -> None:
        self.smoothing_label.setText(f"{value / 100:.2f}")
        self._smooth_timer.start()

    def _on_log(self) -> None:
        self.curves.set_log(self.log_x.isChecked(), self.log_y.isChecked())
