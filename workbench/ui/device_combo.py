"""A device chooser: each GPU by name and memory, and why CUDA is absent when it is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QComboBox, QWidget

from workbench.core.device import DeviceChoice, DeviceList

UNAVAILABLE = "cuda — not available here"


class DeviceCombo(QComboBox):
    """Items show labels ("cuda:0 — NVIDIA H200, 139.8 GiB"), ``device()`` gives the
    name a config takes ("cuda:0"). It starts with ``names`` and is filled with the real
    list by ``load`` (in the background: listing GPUs imports torch and may probe ONNX
    Runtime). Without CUDA a disabled item, and the tooltip, say why."""

    def __init__(
        self, names: tuple[str, ...] = ("auto", "cpu"), parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setModel(QStandardItemModel(self))
        self.devices = DeviceList(tuple(DeviceChoice(n, n) for n in names))
        self.hint = ""  # what the chooser is for: the tooltip's first line
        self.reason = ""  # why CUDA is not offered: its second line
        self.set_devices(self.devices)

    def load(self, tasks: Any, lister: Callable[[], DeviceList]) -> None:
        """Run ``lister`` (torch_devices or onnxruntime_devices) in ``tasks``' thread."""
        tasks.start(lister, self.set_devices, lambda error: self._say(f"devices unknown: {error}"))

    def set_devices(self, devices: DeviceList) -> None:
        """Offer ``devices``; the chosen one stays chosen (kept as an extra item if the
        list lacks it, so a saved setting is not silently changed)."""
        chosen = self.device()
        self.devices = devices
        model: QStandardItemModel = self.model()  # type: ignore[assignment]
        self.blockSignals(True)
        model.clear()
        for choice in devices.choices:
            self._add(choice.name, choice.label)
        if devices.cuda_missing:
            item = QStandardItem(UNAVAILABLE)
            item.setEnabled(False)
            item.setData(devices.cuda_missing, Qt.ItemDataRole.ToolTipRole)
            model.appendRow(item)
        self.blockSignals(False)
        self.set_device(chosen or devices.choices[0].name)
        self._say(f"CUDA is not offered: {devices.cuda_missing}" if devices.cuda_missing else "")

    def device(self) -> str:
        data = self.currentData()
        return str(data) if data else ""

    def set_device(self, name: str) -> None:
        index = self.findData(name)
        if index < 0:
            self._add(name, f"{name} (not found here)")
            index = self.findData(name)
        self.setCurrentIndex(index)

    def set_hint(self, text: str) -> None:
        self.hint = text
        self._say(self.reason)

    def _say(self, reason: str) -> None:
        self.reason = reason
        self.setToolTip("\n".join(part for part in (self.hint, reason) if part))

    def _add(self, name: str, label: str) -> None:
        model: QStandardItemModel = self.model()  # type: ignore[assignment]
        item = QStandardItem(label)
        item.setData(name, Qt.ItemDataRole.UserRole)
        model.appendRow(item)
