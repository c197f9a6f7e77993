"""The question a weights-only file needs answered: which architecture are these weights for?

A state_dict or safetensors file holds tensors only; the command line takes ``--arch``,
the app asks here and opens the file again with the answer. The list is the registry's
models (built-ins and plugins'), then common torchvision and timm backbones when those
libraries are installed (any other ``tv:NAME`` / ``timm:NAME`` can be typed); a
``package.module:factory`` typed by the user is their
own code, chosen by them, so it runs without the trust question (as ``--arch`` does).
"""

from __future__ import annotations

import importlib.util

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from workbench.core.catalogue import get_registry
from workbench.ui.app_words import error_line


class ArchitectureDialog(QDialog):
    """An editable list of the known architectures; Open is enabled once one is named."""

    def __init__(
        self, label: str, reason: BaseException, current: str | None, parent: QWidget | None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("architecture-dialog")
        self.setWindowTitle("Choose an architecture")
        question = QLabel(
            f"<b>{label}</b> holds weights only. Choose the architecture they were "
            "trained with: a built-in one, a torchvision or timm model "
            "(<tt>tv:resnet50</tt>, <tt>timm:mobilenetv3_large_100:num_classes=5</tt>), "
            "or <tt>package.module:factory</tt>, a function in your own code that builds "
            "the model (its module must be importable)."
        )
        question.setWordWrap(True)
        why = QLabel(error_line(reason))
        why.setObjectName("architecture-reason")
        why.setWordWrap(True)
        why.setStyleSheet("color: #666")
        self.choice = QComboBox()
        self.choice.setObjectName("architecture-choice")
        self.choice.setEditable(True)
        self.choice.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        for name, entry in sorted(get_registry().models.items()):
            self.choice.addItem(name)
            self.choice.setItemData(
                self.choice.count() - 1, entry.description, Qt.ItemDataRole.ToolTipRole
            )
        for name in library_backbones():
            self.choice.addItem(name)
            self.choice.setItemData(
                self.choice.count() - 1,
                f"{name}: the library's own architecture, with your weights",
                Qt.ItemDataRole.ToolTipRole,
            )
        self.choice.setCurrentText(current or "")
        self.choice.lineEdit().setPlaceholderText("digits_cnn, or mypackage.nets:build")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.choice.editTextChanged.connect(self._named)
        layout = QVBoxLayout(self)
        layout.addWidget(question)
        layout.addWidget(why)
        layout.addWidget(self.choice)
        layout.addWidget(self.buttons)
        self._named(self.choice.currentText())
        self.resize(520, self.sizeHint().height())

    def _named(self, text: str) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Open).setEnabled(bool(text.strip()))

    def architecture(self) -> str:
        return self.choice.currentText().strip()


# Backbones people most often fine-tune, offered first; any other name can be typed.
COMMON_BACKBONES = {
    "torchvision": ("tv:resnet18", "tv:resnet50", "tv:mobilenet_v3_large", "tv:efficientnet_b0",
                    "tv:vit_b_16", "tv:convnext_tiny"),
    "timm": ("timm:resnet50", "timm:mobilenetv3_large_100", "timm:efficientnet_b0",
             "timm:vit_small_patch16_224", "timm:convnext_tiny"),
}  # fmt: skip


def library_backbones() -> list[str]:
    """The common backbones of the installed libraries (found, not imported: cheap)."""
    return [
        name
        for package, names in COMMON_BACKBONES.items()
        if importlib.util.find_spec(package) is not None
        for name in names
    ]


def ask_architecture(
    parent: QWidget | None, label: str, reason: BaseException, current: str | None = None
) -> str | None:
    """The architecture the user named for ``label``'s weights, or None when cancelled."""
    dialog = ArchitectureDialog(label, reason, current, parent)
    accepted = dialog.exec() == QDialog.DialogCode.Accepted
    return dialog.architecture() if accepted and dialog.architecture() else None
