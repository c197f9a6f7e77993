"""The training settings form: the data to train on, and a form generated from TrainConfig.

The settings are ``ConfigForm(TrainConfig)``: their editors, limits, labels and boxes
come from the config's field metadata, as the ``workbench train`` flags do. The
datasets offered are the registry's (built-in and plugins'), beside a path to a folder
of images, a .csv or a .npz.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.core.catalogue import get_registry
from workbench.core.data import DEFAULT_IMAGE_SIDE
from workbench.core.data.text import DEFAULT_TEXT_COLUMN, TextOptions
from workbench.core.train.config import TrainConfig
from workbench.ui.config_form import ConfigForm, CustomEditor
from workbench.ui.device_combo import DeviceCombo


class TrainingForm(QWidget):
    """Data and settings; ``config()`` reads them, ``set_config()`` fills them."""

    changed = Signal()

    def __init__(self, registry: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("training-form")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 4, 0)

        self.dataset = QComboBox()
        self.dataset.setObjectName("training-dataset")
        self.dataset.setEditable(True)
        for entry in (registry or get_registry()).datasets.values():
            self.dataset.addItem(entry.name)
            tip = f"{entry.description} ({entry.source})" if entry.description else entry.source
            self.dataset.setItemData(self.dataset.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.dataset.setToolTip("a dataset by name, a folder of class subfolders, .csv or .npz")
        browse = QPushButton("…")
        browse.setFixedWidth(28)
        browse.setToolTip("Choose a folder of images, a .csv or a .npz")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.dataset, 1)
        row.addWidget(browse)
        self.target = QLineEdit()
        self.target.setPlaceholderText("class column (.csv only)")
        self.image_size = QSpinBox()
        self.image_size.setRange(4, 1024)
        self.image_size.setValue(DEFAULT_IMAGE_SIDE)
        self.image_size.setSuffix(" px")
        self.image_size.setToolTip("side of the images read from a folder")
        # Labelled texts (.csv, .jsonl) for a text model: read by its own tokenizer.
        self.text_column = QLineEdit()
        self.text_column.setObjectName("training-text-column")
        self.text_column.setPlaceholderText(DEFAULT_TEXT_COLUMN)
        self.text_column.setToolTip("the column of a .csv or .jsonl that holds the texts")
        self.max_length = QSpinBox()
        self.max_length.setObjectName("training-max-length")
        self.max_length.setRange(0, 4096)
        self.max_length.setSpecialValueText("longest text's")
        self.max_length.setSuffix(" tokens")
        self.max_length.setToolTip("tokens per text, padded or cut to it (at most 512 when left)")
        box = QGroupBox("Data")
        self.data_rows = data = QFormLayout(box)
        data.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        data.addRow("Dataset", row)
        data.addRow("Target", self.target)
        data.addRow("Image size", self.image_size)
        data.addRow("Text column", self.text_column)
        data.addRow("Max length", self.max_length)
        outer.addWidget(box)
        self.set_text_model(False)

        self.device = DeviceCombo()  # the GPUs come with load() (TrainingTab)
        self.device.setObjectName("training-device")
        self.device.set_hint("where the model trains")
        device = CustomEditor(
            self.device, self.device.device, self.device.set_device, self.device.currentIndexChanged
        )
        self.settings = ConfigForm(TrainConfig, compact=True, custom={"device": device})
        self.settings.changed.connect(self.changed)
        outer.addWidget(self.settings)
        self.resume = QCheckBox("resume the last stopped run")
        self.resume.setEnabled(False)
        outer.addWidget(self.resume)
        outer.addStretch(1)

    @property
    def editors(self) -> dict[str, QWidget]:
        """The settings' editors by field name (``editors["epochs"]``: a spin box)."""
        return self.settings.editors

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Training data", "", "Data (*.csv *.npz *.jsonl);;All files (*)"
        )
        if not path:
            path = QFileDialog.getExistingDirectory(self, "Folder of class subfolders")
        if path:
            self.dataset.setCurrentText(path)

    # -- values -------------------------------------------------------------------------

    def set_dataset(self, spec: str | None, *, texts: bool = False) -> None:
        """``spec``, else the demo's digits; nothing for a text model (no built-in
        dataset holds labelled texts: the user names their file)."""
        self.dataset.setCurrentText(spec or ("" if texts else "digits"))

    def dataset_spec(self) -> str:
        return self.dataset.currentText().strip()

    def set_text_model(self, text: bool) -> None:
        """Show the text rows for a model that reads texts, the image size for others."""
        self.data_rows.setRowVisible(self.image_size, not text)
        self.data_rows.setRowVisible(self.text_column, text)
        self.data_rows.setRowVisible(self.max_length, text)
        self.target.setPlaceholderText("label column (texts: label)" if text else
                                       "class column (.csv only)")  # fmt: skip

    def data_options(self) -> dict[str, Any]:
        target = self.target.text().strip() or None
        texts = TextOptions(
            column=self.text_column.text().strip() or None,
            max_length=self.max_length.value() or None,
            label=target,
        )
        return {"target": target, "image_size": self.image_size.value(), "text_options": texts}

    def set_config(self, config: TrainConfig) -> None:
        self.settings.set_value(config)

    def config(self) -> TrainConfig:
        """The settings as a TrainConfig (validated: a WorkbenchError names a bad one)."""
        return self.settings.value().validate()
