"""The architecture question for weights-only files: a list of what exists, or your own."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from PySide6.QtWidgets import QDialogButtonBox, QLabel, QMessageBox

from workbench.core.catalogue import get_registry
from workbench.core.errors import ArchitectureNeeded
from workbench.core.io import load
from workbench.ui import open_actions
from workbench.ui.app_words import error_line
from workbench.ui.arch_dialog import ArchitectureDialog, library_backbones


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
    assert listed == sorted(get_registry().models) + library_backbones()  # plugins' models too
    if importlib.util.find_spec("torchvision"):
        assert "tv:resnet50" in listed
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


def test_opening_weights_asks_for_their_architecture_and_opens_them(
    qtbot, main_window, monkeypatch, tmp_path: Path
) -> None:
    weights = tmp_path / "mlp.pt"
    torch.save(get_registry().model("digits_mlp").build(seed=1).state_dict(), weights)
    asked: list[tuple[str, str, str | None]] = []

    def answer(_parent, label, reason, current=None):
        asked.append((label, error_line(reason), current))
        return "digits_cnn" if len(asked) == 1 else "digits_mlp"  # wrong first, then right

    monkeypatch.setattr(open_actions, "ask_architecture", answer)
    main_window.open_source(str(weights))
    qtbot.waitUntil(lambda: main_window.variants.topLevelItemCount() == 1, timeout=60_000)
    assert [a[0] for a in asked] == ["mlp.pt", "mlp.pt"]
    assert "choose its architecture" in asked[0][1]  # no architecture given
    assert "does not fit architecture 'digits_cnn'" in asked[1][1] and asked[1][2] == "digits_cnn"
    (variant,) = main_window.project.variants.values()
    assert variant.arch == "digits_mlp"
    assert main_window.findChild(QMessageBox, "error-dialog") is None


def test_a_cancelled_architecture_question_opens_nothing(
    qtbot, main_window, monkeypatch, tmp_path: Path
) -> None:
    weights = tmp_path / "w.pt"
    torch.save(torch.nn.Linear(3, 2).state_dict(), weights)
    asked: list[str] = []
    monkeypatch.setattr(open_actions, "ask_architecture", lambda *a, **k: asked.append(a[1]))
    main_window.open_source(str(weights))
    qtbot.waitUntil(lambda: asked == ["w.pt"], timeout=60_000)
    qtbot.waitUntil(lambda: not main_window.tasks.busy, timeout=60_000)
    assert main_window.project.variants == {}


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is None, reason="no vision extra")
def test_a_torchvision_checkpoint_opens_with_its_backbone_named(
    qtbot, main_window, monkeypatch, tmp_path: Path
) -> None:
    """Your own ResNet-18 fine-tuned to 3 classes: its state_dict opens once the dialog
    is answered with tv:resnet18:num_classes=3, and its graph is the 224x224 ResNet."""
    weights = tmp_path / "my_resnet.pt"
    torch.save(load("tv:resnet18:num_classes=3", seed=3).module.state_dict(), weights)
    monkeypatch.setattr(
        open_actions, "ask_architecture", lambda *_a, **_k: "tv:resnet18:num_classes=3"
    )
    main_window.open_source(str(weights))
    qtbot.waitUntil(lambda: main_window.variants.topLevelItemCount() == 1, timeout=60_000)
    qtbot.waitUntil(lambda: not main_window.tasks.busy, timeout=60_000)
    (variant,) = main_window.project.variants.values()
    assert variant.arch == "tv:resnet18:num_classes=3"
    inspection = main_window.inspections[variant.id]
    assert inspection.loaded.inputs[0].shape == (1, 3, 224, 224)
    assert sum(node.op_type == "conv2d" for node in inspection.graph.nodes) == 20
    assert main_window.findChild(QMessageBox, "error-dialog") is None
