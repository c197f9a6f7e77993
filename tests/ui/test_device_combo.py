"""The device chooser: GPUs by name and memory, CUDA's absence explained, the choice kept."""

from __future__ import annotations

from PySide6.QtCore import Qt

from workbench.core.device import DeviceChoice, DeviceList, gpu_choices, torch_devices
from workbench.ui.device_combo import UNAVAILABLE, DeviceCombo
from workbench.ui.workers import TaskRunner

AUTO_CPU = (DeviceChoice("auto", "auto (cuda here)"), DeviceChoice("cpu", "cpu"))


def _labels(combo: DeviceCombo) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


def test_each_gpu_is_listed_by_name_and_memory(qtbot) -> None:
    """A two-GPU machine's list (the GPU branch of the chooser, on a CPU machine)."""
    combo = DeviceCombo()
    qtbot.addWidget(combo)
    gpus = gpu_choices([("NVIDIA H200", 150_109_593_600), ("NVIDIA H200", 150_109_593_600)])
    combo.set_devices(DeviceList((*AUTO_CPU, *gpus)))
    assert _labels(combo) == [
        "auto (cuda here)",
        "cpu",
        "cuda:0 — NVIDIA H200, 139.8 GiB",
        "cuda:1 — NVIDIA H200, 139.8 GiB",
    ]
    combo.setCurrentIndex(3)
    assert combo.device() == "cuda:1"  # the config gets the name, not the label
    assert "not offered" not in combo.toolTip()


def test_without_cuda_a_disabled_item_and_the_tooltip_say_why(qtbot) -> None:
    combo = DeviceCombo()
    qtbot.addWidget(combo)
    combo.set_hint("where the model trains")
    combo.set_device("cuda:0")  # a saved setting this machine cannot honour is kept
    why = "PyTorch 2.13.0+cpu is built without CUDA"
    combo.set_devices(DeviceList(AUTO_CPU, cuda_missing=why))
    assert combo.device() == "cuda:0" and combo.currentText() == "cuda:0 (not found here)"
    row = _labels(combo).index(UNAVAILABLE)
    item = combo.model().item(row)
    assert not item.isEnabled() and item.data(Qt.ItemDataRole.ToolTipRole) == why
    assert combo.toolTip() == f"where the model trains\nCUDA is not offered: {why}"


def test_load_fills_it_from_this_machine_in_the_background(qtbot) -> None:
    combo = DeviceCombo()
    qtbot.addWidget(combo)
    tasks = TaskRunner()
    combo.load(tasks, torch_devices)
    qtbot.waitUntil(lambda: not tasks.busy, timeout=30_000)
    here = torch_devices()
    assert combo.devices == here and combo.device() == "auto"
    assert _labels(combo)[: len(here.choices)] == [c.label for c in here.choices]
    assert (UNAVAILABLE in _labels(combo)) == (here.cuda_missing is not None)
