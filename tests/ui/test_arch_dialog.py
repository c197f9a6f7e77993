"""The architecture question for weights-only files: a list of what exists, or your own."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PySide6.QtWidgets import QDialogButtonBox, QLabel

from workbench.core.catalogue import get_registry
from workbench.core.errors import ArchitectureNeeded
from workbench.core.io import load
from workbench.ui.arch_dialog import ArchitectureDialog


@pytest.fixture
def needed(tmp_path: Path) -> ArchitectureNeeded:
    torch.save(torch.nn.Linear(3, 2).state_dict(), tmp_path / "w.pt")
    with pytest.raises(ArchitectureNeeded) as missing:
        load(str(tmp_path / "w.pt"))
    return missing.value


def test_the_dialog_lists_every_known_architecture_and_says_why_it_asks(qtbot, needed) -> None:
    dialog = ArchitectureDialog("w.pt", needed, None, None)
    qtbot.addWidget(dialog)
    listed = [dialog.choice.itemText(i) for i in range(dialog.choice.count())]
    assert listed == sorted(get_registry().models)  # plugins' models too
    assert "blobs_mlp" in listed  # from plugins/tiny_models or blobs_dataset
    text = dialog.findChild(QLabel, "architecture-reason").text()
    assert "choose its architecture" in text and "--arch" not in text


def test_open_is_enabled_once_an_architecture_is_named(qtbot, needed) -> None:
    dialog = ArchitectureDialog("w.pt", needed, None, None)
    qtbot.addWidget(dialog)
    open_button = dialog.buttons.button(QDialogButtonBox.StandardButton.Open)
    assert not open_button.isEnabled()
    dialog.choice.setCurrentText("  mypackage.nets:build ")
    assert open_button.isEnabled() and dialog.architecture() == "mypackage.nets:build"
    dialog.choice.setCurrentIndex(dialog.choice.findText("digits_cnn"))
    assert dialog.architecture() == "digits_cnn"
