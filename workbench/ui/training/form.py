"""The training settings form: a TrainConfig in widgets, and back."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
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

from workbench.core.train.config import (
    AMP_MODES,
    OPTIMIZERS,
    SCHEDULES,
    AugmentConfig,
    TrainConfig,
)
from workbench.ui.device_combo import DeviceCombo

BUILTIN_DATASETS = ("digits", "shapes", "sequences")


def _spin(low: float, high: float, decimals: int = 0, step: float = 1.0) -> Any:
    if decimals == 0:
        box = QSpinBox()
        box.setRange(int(low), int(high))
        box.setSingleStep(int(step))
    else:
        box = QDoubleSpinBox()
        box.setDecimals(decimals)
        box.setRange(low, high)
        box.setSingleStep(step)
    box.setKeyboardTracking(False)
    return box


def _combo(items: tuple[str, ...]) -> QComboBox:
    box = QComboBox()
    box.addItems(list(items))
    return box


class TrainingForm(QWidget):
    """Grouped settings; ``config()`` reads them, ``set_config()`` fills them."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("training-form")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 4, 0)

        self.dataset = QComboBox()
        self.dataset.setEditable(True)
        self.dataset.addItems(list(BUILTIN_DATASETS))
        self.dataset.setToolTip("a built-in dataset, a folder of class subfolders, .csv or .npz")
        browse = QPushButton("…")
        browse.setFixedWidth(28)
        browse.setToolTip("Choose a folder of images, a .csv or a .npz")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.dataset, 1)
        row.addWidget(browse)
        self.target = QLineEdit()
        self.target.setPlaceholderText("class column (.csv only)")
        self.image_size = _spin(4, 1024)
        self.image_size.setValue(32)
        self.image_size.setSuffix(" px")
        data = self._group(outer, "Data")
        data.addRow("Dataset", row)
        data.addRow("Target", self.target)
        data.addRow("Image size", self.image_size)

        self.optimizer = _combo(OPTIMIZERS)
        self.lr = _spin(1e-6, 10.0, 6, 1e-4)
        self.weight_decay = _spin(0.0, 1.0, 6, 1e-4)
        self.momentum = _spin(0.0, 0.999, 3, 0.01)
        opt = self._group(outer, "Optimizer")
        opt.addRow("Optimizer", self.optimizer)
        opt.addRow("Learning rate", self.lr)
        opt.addRow("Weight decay", self.weight_decay)
        opt.addRow("Momentum (SGD)", self.momentum)

        self.schedule = _combo(SCHEDULES)
        self.warmup = _spin(0.0, 100.0, 2, 0.5)
        self.epochs = _spin(1, 10_000)
        self.batch_size = _spin(1, 65_536)
        run = self._group(outer, "Schedule")
        run.addRow("Schedule", self.schedule)
        run.addRow("Warm-up epochs", self.warmup)
        run.addRow("Epochs", self.epochs)
        run.addRow("Batch size", self.batch_size)

        self.label_smoothing = _spin(0.0, 0.99, 3, 0.05)
        self.grad_clip = _spin(0.0, 1000.0, 2, 0.5)
        self.grad_clip.setSpecialValueText("off")
        self.patience = _spin(0, 1000)
        self.patience.setSpecialValueText("off")
        self.early_metric = _combo(("val_accuracy", "val_loss"))
        reg = self._group(outer, "Regularisation")
        reg.addRow("Label smoothing", self.label_smoothing)
        reg.addRow("Gradient clip", self.grad_clip)
        reg.addRow("Early stop after", self.patience)
        reg.addRow("… epochs without", self.early_metric)

        self.crop = _spin(0, 64)
        self.crop.setSpecialValueText("off")
        self.hflip = QCheckBox("horizontal flip")
        self.rotation = _spin(0.0, 180.0, 1, 5.0)
        self.rotation.setSpecialValueText("off")
        self.brightness = _spin(0.0, 1.0, 2, 0.05)
        self.brightness.setSpecialValueText("off")
        self.contrast = _spin(0.0, 1.0, 2, 0.05)
        self.contrast.setSpecialValueText("off")
        aug = self._group(outer, "Augmentation (images)")
        aug.addRow("Crop padding", self.crop)
        aug.addRow("", self.hflip)
        aug.addRow("Rotation ±°", self.rotation)
        aug.addRow("Brightness ±", self.brightness)
        aug.addRow("Contrast ±", self.contrast)

        self.device = DeviceCombo()  # the GPUs come with load() (TrainingTab)
        self.device.setObjectName("training-device")
        self.device.set_hint("where the model trains")
        self.amp = _combo(AMP_MODES)
        self.amp.setToolTip("mixed precision: CUDA only; ignored (with a note) elsewhere")
        self.seed = _spin(0, 2**31 - 1)
        self.workers = _spin(0, 64)
        self.resume = QCheckBox("resume the last stopped run")
        self.resume.setEnabled(False)
        dev = self._group(outer, "Run")
        dev.addRow("Device", self.device)
        dev.addRow("Mixed precision", self.amp)
        dev.addRow("Seed", self.seed)
        dev.addRow("Loader workers", self.workers)
        dev.addRow("", self.resume)
        outer.addStretch(1)
        self.set_config(TrainConfig())

    def _group(self, outer: QVBoxLayout, title: str) -> QFormLayout:
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setContentsMargins(8, 6, 8, 6)
        form.setVerticalSpacing(4)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        outer.addWidget(box)
        return form

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Training data", "", "Data (*.csv *.npz);;All files (*)"
        )
        if not path:
            path = QFileDialog.getExistingDirectory(self, "Folder of class subfolders")
        if path:
            self.dataset.setCurrentText(path)

    # -- values -------------------------------------------------------------------------

    def set_dataset(self, spec: str | None) -> None:
        self.dataset.setCurrentText(spec or "digits")

    def dataset_spec(self) -> str:
        return self.dataset.currentText().strip()

    def data_options(self) -> dict[str, Any]:
        return {"target": self.target.text().strip() or None, "image_size": self.image_size.value()}

    def set_config(self, config: TrainConfig) -> None:
        self.optimizer.setCurrentText(config.optimizer)
        self.lr.setValue(config.lr)
        self.weight_decay.setValue(config.weight_decay)
        self.momentum.setValue(config.momentum)
        self.schedule.setCurrentText(config.schedule)
        self.warmup.setValue(config.warmup_epochs)
        self.epochs.setValue(config.epochs)
        self.batch_size.setValue(config.batch_size)
        self.label_smoothing.setValue(config.label_smoothing)
        self.grad_clip.setValue(config.grad_clip)
        self.patience.setValue(config.early_stopping)
        self.early_metric.setCurrentText(config.early_metric)
        aug = config.augment
        self.crop.setValue(aug.crop_padding)
        self.hflip.setChecked(aug.hflip)
        self.rotation.setValue(aug.rotation)
        self.brightness.setValue(aug.brightness)
        self.contrast.setValue(aug.contrast)
        self.device.set_device(config.device)
        self.amp.setCurrentText(config.amp)
        self.seed.setValue(config.seed)
        self.workers.setValue(config.loader_workers)

    def config(self) -> TrainConfig:
        """The settings as a TrainConfig (validated: ConfigError names a bad one)."""
        return TrainConfig(
            optimizer=self.optimizer.currentText(),
            lr=self.lr.value(),
            weight_decay=self.weight_decay.value(),
            momentum=self.momentum.value(),
            schedule=self.schedule.currentText(),
            warmup_epochs=self.warmup.value(),
            epochs=self.epochs.value(),
            batch_size=self.batch_size.value(),
            seed=self.seed.value(),
            device=self.device.device(),
            amp=self.amp.currentText(),
            grad_clip=self.grad_clip.value(),
            label_smoothing=self.label_smoothing.value(),
            early_stopping=self.patience.value(),
            early_metric=self.early_metric.currentText(),
            augment=AugmentConfig(
                crop_padding=self.crop.value(),
                hflip=self.hflip.isChecked(),
                rotation=self.rotation.value(),
                brightness=self.brightness.value(),
                contrast=self.contrast.value(),
            ),
            loader_workers=self.workers.value(),
        ).validate()
