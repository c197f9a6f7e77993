"""The window's status bar: what the background task is doing, its Cancel, the device."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar, QToolButton, QWidget

from workbench.core.device import describe_device
from workbench.ui.workers import TaskRunner


class StatusBar(QStatusBar):
    def __init__(self, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.device_label = QLabel("device: …")
        self.task_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setRange(0, 0)  # busy indicator: loading reports no fraction
        self.progress.hide()
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop the background task")
        self.cancel_button.clicked.connect(tasks.cancel_all)
        self.cancel_button.hide()
        self.addWidget(self.task_label, 1)
        self.addPermanentWidget(self.progress)
        self.addPermanentWidget(self.cancel_button)
        self.addPermanentWidget(self.device_label)

    def set_busy(self, message: str | None) -> None:
        """Say what runs (with the busy bar and Cancel), or, with None, that nothing does."""
        self.task_label.setText(message or "")
        self.progress.setVisible(message is not None)
        self.cancel_button.setVisible(message is not None)

    def report(self, _fraction: float | None, message: str) -> None:
        """A job's progress (``on_progress``): its message replaces the task's text."""
        self.task_label.setText(message)

    def detect_device(self) -> None:
        """Name the device the work would run on, found in the background."""
        self.tasks.start(
            describe_device,
            lambda label: self.device_label.setText(f"device: {label}"),
            lambda error: self.device_label.setText(f"device: unknown ({error})"),
        )
