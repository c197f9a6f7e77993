"""Forms generated from config dataclasses: editors, validation, wizard pages, pass list."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
from fixtures.example_configs import Jitter, Schedule
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWizard,
)

from workbench.core.catalogue import get_registry
from workbench.core.errors import WorkbenchError
from workbench.core.registry import PassEntry, Registry
from workbench.ui.config_form import ConfigForm, ConfigPage
from workbench.ui.pass_picker import PassPicker


@dataclass
class QuantConfig:
    samples: int = field(
        default=64, metadata={"help": "calibration samples", "min": 1, "max": 4096}
    )
    percentile: float = field(default=99.9, metadata={"min": 90.0, "max": 100.0})
    per_channel: bool = True
    method: Literal["minmax", "entropy", "percentile"] = "minmax"
    ops: list[str] = field(
        default_factory=lambda: ["Conv"], metadata={"choices": ["Conv", "MatMul"]}
    )
    exclude: list[str] = field(default_factory=list, metadata={"help": "node names to keep"})
    limit: int | None = field(default=None, metadata={"min": 1})
    name: str = "int8"

    def __post_init__(self) -> None:
        if self.method == "percentile" and self.samples < 16:
            raise ValueError("percentile calibration needs at least 16 samples")


@pytest.fixture
def form(qtbot) -> ConfigForm:
    widget = ConfigForm(QuantConfig)
    qtbot.addWidget(widget)
    return widget


def test_each_field_gets_the_editor_its_type_calls_for(form: ConfigForm) -> None:
    editors = form.editors
    assert isinstance(editors["samples"], QSpinBox)
    assert (editors["samples"].minimum(), editors["samples"].maximum()) == (1, 4096)
    assert isinstance(editors["percentile"], QDoubleSpinBox)
    assert editors["percentile"].minimum() == 90.0
    assert isinstance(editors["per_channel"], QCheckBox)
    combo = editors["method"]
    assert isinstance(combo, QComboBox)
    assert [combo.itemText(i) for i in range(combo.count())] == ["minmax", "entropy", "percentile"]
    assert [b.text() for b in editors["ops"].findChildren(QCheckBox)] == ["Conv", "MatMul"]
    assert isinstance(editors["exclude"], QLineEdit) and isinstance(editors["limit"], QLineEdit)
    assert editors["samples"].toolTip() == "calibration samples"
    assert form.value() == QuantConfig()  # opens on the defaults


def test_edits_make_the_config_and_set_value_shows_one(form: ConfigForm, qtbot) -> None:
    with qtbot.waitSignal(form.changed):
        form.editors["samples"].setValue(128)
    form.editors["per_channel"].setChecked(False)
    form.editors["method"].setCurrentIndex(1)
    form.editors["ops"].findChildren(QCheckBox)[1].setChecked(True)
    form.editors["exclude"].setText("conv1, fc")
    form.editors["limit"].setText("10")
    expected = QuantConfig(128, 99.9, False, "entropy", ["Conv", "MatMul"], ["conv1", "fc"], 10)
    assert form.value() == expected
    form.set_value(QuantConfig(samples=5, method="entropy", ops=[], limit=None))
    assert form.editors["samples"].value() == 5 and form.editors["limit"].text() == ""
    assert not any(b.isChecked() for b in form.editors["ops"].findChildren(QCheckBox))


def test_invalid_values_are_marked_and_block_the_wizard_page(qtbot) -> None:
    wizard = QWizard()
    qtbot.addWidget(wizard)
    page = ConfigPage(QuantConfig, title="Calibration", subtitle="How to calibrate")
    wizard.addPage(page)
    assert page.isComplete()
    form = page.form
    with qtbot.waitSignal(form.validity_changed) as signal:
        form.editors["limit"].setText("zero")
    assert signal.args == [False] and not page.isComplete()
    assert form.error() == "limit must be a whole number, got 'zero'"
    assert form.error_label.text() == form.error() and not form.error_label.isHidden()
    assert form.editors["limit"].styleSheet()
    with pytest.raises(WorkbenchError):
        form.value()
    form.editors["limit"].setText("")
    assert page.isComplete() and form.error_label.isHidden()
    assert form.editors["limit"].styleSheet() == ""
    # A check across fields, from the config's own __post_init__, is shown the same way.
    form.editors["method"].setCurrentIndex(2)
    form.editors["samples"].setValue(4)
    assert form.error() == "percentile calibration needs at least 16 samples"
    assert not page.isComplete()


def test_the_pass_list_shows_registered_passes_with_their_forms(qtbot) -> None:
    picker = PassPicker()
    qtbot.addWidget(picker)
    assert "random-prune" in picker.names()
    picker.select("random-prune")
    assert picker.title.text() == "Random pruning (control)"
    assert "baseline" in picker.description.text()
    assert set(picker.form.editors) == {"amount", "scope", "layers", "keep_classifier", "seed"}
    picker.form.editors["amount"].setValue(0.25)
    entry, config = picker.selection()
    assert entry.name == "random-prune" and config.amount == 0.25


def test_a_pass_whose_code_is_broken_is_listed_and_explained(qtbot, tmp_path: Path) -> None:
    registry = Registry()
    registry.add_pass(PassEntry("ghost", "wbt_no_such_module:Ghost", "Ghost pass", "Haunts."))
    registry.add_pass(get_registry().pass_("random-prune"))
    picker = PassPicker(registry)
    qtbot.addWidget(picker)
    assert picker.names() == ["ghost", "random-prune"]
    assert picker.form is None
    assert "cannot be used: cannot import module 'wbt_no_such_module'" in (
        picker.description.text()
    )
    with pytest.raises(WorkbenchError, match="choose a pass first"):
        picker.selection()
    picker.select("random-prune")
    assert picker.form is not None


def test_the_form_renders(form: ConfigForm, tmp_path: Path) -> None:
    form.resize(520, 560)
    form.editors["samples"].setValue(0)  # clamped to the minimum by the spin box
    form.editors["limit"].setText("-3")
    form.show()
    image = form.grab()
    assert image.width() == 520 and image.save(str(tmp_path / "form.png"))
    assert form.error() == "limit must be at least 1, got '-3'"


def test_groups_and_a_nested_config_get_boxes_and_exclusive_limits_set_ranges(qtbot) -> None:
    form = ConfigForm(Schedule)
    qtbot.addWidget(form)
    titles = [box.title() for box in form.findChildren(QGroupBox)]
    assert titles == ["Optimizer", "Run", "Jitter"]
    lr, smoothing, epochs = (form.editors[n] for n in ("lr", "smoothing", "epochs"))
    assert lr.minimum() > 0 and smoothing.maximum() < 1
    assert (epochs.minimum(), epochs.maximum()) == (1, 50)  # above 0; form_max
    nested = form.editors["jitter"]
    assert isinstance(nested, ConfigForm) and set(nested.editors) == {"scale", "flip", "size"}
    nested.editors["scale"].setValue(0.5)
    nested.editors["flip"].setChecked(True)
    assert form.value() == Schedule(jitter=Jitter(scale=0.5, flip=True))
    form.set_value(Schedule(lr=0.2, jitter=Jitter(size=3)))
    assert nested.editors["size"].value() == 3 and form.value().lr == 0.2


def test_compact_forms_keep_help_in_tooltips(qtbot) -> None:
    form = ConfigForm(QuantConfig, compact=True)
    qtbot.addWidget(form)
    assert form.editors["samples"].toolTip() == "calibration samples"
    assert not [
        label for label in form.findChildren(QLabel) if label.text() == "calibration samples"
    ]
