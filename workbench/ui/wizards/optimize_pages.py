"""The Optimize wizard's set-up pages, generated from ``OptimizeConfig``.

``GoalPage``: what to optimize for, the accuracy floor, the device and the time budget.
``SearchPage``: the data, the rest of the search's settings (the space and how it is
measured) and the output folder, which offers to resume when it already holds a search.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from workbench.core.optimize.config import OptimizeConfig
from workbench.core.optimize.report import PARETO_FILE
from workbench.ui.config_form import ConfigForm, CustomEditor
from workbench.ui.device_combo import DeviceCombo

GOAL_FIELDS = ("objective", "max_drop", "device", "budget")


class GoalPage(QWizardPage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Goal")
        self.setSubTitle("What the search makes smaller, how much accuracy it may give up, "
                         "where the result will run and how long the search may take.")  # fmt: skip
        self.device = DeviceCombo(("cpu",))  # GPUs once ONNX Runtime's CUDA provider loads
        self.device.setObjectName("optimize-device")
        self.device.set_hint("where every candidate is timed (ONNX Runtime)")
        device = CustomEditor(
            self.device, self.device.device, self.device.set_device, self.device.currentIndexChanged
        )
        self.form = ConfigForm(OptimizeConfig, only=GOAL_FIELDS, custom={"device": device})
        self.form.setObjectName("optimize-goal")
        self.form.validity_changed.connect(lambda _valid: self.completeChanged.emit())
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addStretch(1)

    def isComplete(self) -> bool:  # Qt's name
        return self.form.is_valid()


class SearchPage(QWizardPage):
    """The data, the search space and the output folder (resume offered there)."""

    def __init__(self, dataset: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Data, search and output")
        ratios = len(OptimizeConfig().ratios)  # the count follows the defaults
        self.setSubTitle(f"The defaults try {ratios} pruning ratios, two ways to recover "
                         "(distillation also one block shallower, where the model has blocks "
                         "to drop) and INT8; fewer make a shorter search.")  # fmt: skip
        self.data = QLineEdit(dataset or "")
        self.data.setObjectName("optimize-data")
        self.data.setPlaceholderText("a dataset name (digits, shapes) or a folder or file")
        self.data.setToolTip("the data every candidate trains and is scored on")
        self.data.textChanged.connect(lambda _t: self.completeChanged.emit())
        fields = [n for n in OptimizeConfig.__dataclass_fields__ if n not in GOAL_FIELDS]
        self.form = ConfigForm(OptimizeConfig, only=fields)
        self.form.setObjectName("optimize-search")
        self.form.validity_changed.connect(lambda _valid: self.completeChanged.emit())
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        self.folder = QLineEdit()
        self.folder.setObjectName("optimize-folder")
        self.folder.setToolTip("each candidate's variant folder, pareto.json, report.md and "
                               "the chosen recipe are written here")  # fmt: skip
        self.folder.textChanged.connect(lambda _t: self.refresh_folder())
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.resume = QCheckBox("Resume the search in this folder")
        self.resume.setObjectName("optimize-resume")
        self.resume.toggled.connect(lambda _on: self.completeChanged.emit())
        self.folder_note = QLabel("")
        self.folder_note.setObjectName("optimize-folder-note")
        self.folder_note.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        rows = QFormLayout()
        rows.addRow("Data", self.data)
        rows.addRow("Output folder", row)
        rows.addRow("", self.resume)
        rows.addRow("", self.folder_note)
        layout = QVBoxLayout(self)
        layout.addLayout(rows)
        layout.addWidget(scroll, 1)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.previous: dict[str, Any] | None = None
        self.refresh_folder()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def refresh_folder(self) -> None:
        """Offer Resume when the folder holds a search (a small JSON file, read here)."""
        self.previous = earlier_search(Path(self.folder.text())) if self.folder.text() else None
        self.resume.setEnabled(self.previous is not None)
        self.resume.setChecked(self.previous is not None)
        if self.previous is None:
            self.folder_note.setText("")
        else:
            done = len(self.previous.get("candidates", [])) - 1
            self.folder_note.setText(
                f"This folder holds a search ({max(done, 0)} finished candidates, "
                f"{self.previous.get('state', 'stopped')}). Resume continues it; to start "
                "afresh, choose another folder."
            )
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # Qt's name
        resumable = self.previous is None or self.resume.isChecked()
        return self.form.is_valid() and bool(self.folder.text().strip()) and resumable


def earlier_search(folder: Path) -> dict[str, Any] | None:
    """The ``pareto.json`` a search left in ``folder``, or None."""
    try:
        return json.loads((folder / PARETO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def default_folder(project_folder: Path | None, name: str) -> Path:
    """In the project folder when it is saved, else a new folder under the temp folder."""
    import tempfile

    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "model"
    if project_folder is not None:
        return Path(project_folder) / "optimize" / safe
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(tempfile.gettempdir()) / f"workbench-optimize-{safe}-{stamp}"
