"""The Training tab's settings form: generated from TrainConfig, datasets from the registry."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QGroupBox

from workbench.core.catalogue import get_registry, reset_registry
from workbench.core.config_schema import fields_of
from workbench.core.errors import WorkbenchError
from workbench.core.train.config import AugmentConfig, TrainConfig
from workbench.ui.training.form import TrainingForm

PLUGIN = """\
from workbench.core.registry import DatasetEntry


def register(registry):
    registry.add_dataset(
        DatasetEntry("wbt_form_points", "x:y", "points from a plugin", "classification", (2,), 2)
    )
"""


@pytest.fixture
def plugin_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A user plugin that registers one dataset."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "wbt_form_plugin.py").write_text(textwrap.dedent(PLUGIN))
    monkeypatch.setenv("WORKBENCH_PLUGIN_DIR", str(folder))
    monkeypatch.delenv("WORKBENCH_NO_PLUGINS", raising=False)
    path_before = list(sys.path)
    reset_registry()
    yield "wbt_form_points"
    reset_registry()
    sys.path[:] = path_before
    sys.modules.pop("wbt_form_plugin", None)


def test_a_plugin_dataset_is_offered_beside_the_built_in_ones(qtbot, plugin_dataset: str) -> None:
    assert plugin_dataset in get_registry().datasets
    form = TrainingForm()
    qtbot.addWidget(form)
    offered = [form.dataset.itemText(i) for i in range(form.dataset.count())]
    assert plugin_dataset in offered and {"digits", "shapes", "sequences"} <= set(offered)
    assert offered == list(get_registry().datasets)
    form.dataset.setCurrentIndex(offered.index(plugin_dataset))
    assert form.dataset_spec() == plugin_dataset


def test_the_settings_are_the_form_generated_from_train_config(qtbot) -> None:
    form = TrainingForm()
    qtbot.addWidget(form)
    assert set(form.editors) == {spec.name for spec in fields_of(TrainConfig)}
    titles = {box.title() for box in form.findChildren(QGroupBox)}
    assert titles >= {"Data", "Optimizer", "Schedule", "Regularisation", "Run"}
    assert "Augmentation (images)" in titles  # the nested config's own box

    config = TrainConfig(
        optimizer="sgd", lr=0.05, epochs=7, early_stopping=3, device="cpu",
        augment=AugmentConfig(crop_padding=2, hflip=True, rotation=10.0),
    )  # fmt: skip
    form.set_config(config)
    assert form.config() == config
    form.editors["augment"].editors["brightness"].setValue(0.25)
    assert form.config().augment.brightness == 0.25


def test_a_bad_setting_is_one_line_naming_it(qtbot) -> None:
    form = TrainingForm()
    qtbot.addWidget(form)
    form.editors["epochs"].setValue(2)
    form.editors["warmup_epochs"].setValue(3)
    with pytest.raises(WorkbenchError) as info:
        form.config()
    assert info.value.message == "warm-up (3 epochs) must be shorter than the run (2 epochs)"
    assert form.settings.error_label.text() == info.value.message
