"""The Plugins dialog, and the app starting although a plugin is broken."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QColor

from workbench.core.catalogue import get_registry, plugin_reports, reset_registry
from workbench.core.plugins import SOURCE_FOLDER, SOURCE_USER
from workbench.ui.plugins_dialog import FAILED, PluginsDialog

BROKEN = "raise ImportError('wbt_broken_ui needs torchvision, which is not installed')\n"
GOOD = """
from workbench.core.registry import DatasetEntry

def register(registry):
    registry.add_dataset(DatasetEntry("wbt_ui_data", "x:y", "ui", "classification", (2,), 2))
"""


@pytest.fixture
def broken_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A user plugin folder with one plugin that raises on import and one that works."""
    folder = tmp_path / "plugins"
    (folder / "wbt_broken_ui").mkdir(parents=True)
    (folder / "wbt_broken_ui" / "__init__.py").write_text(BROKEN)
    (folder / "wbt_good_ui.py").write_text(textwrap.dedent(GOOD))
    monkeypatch.setenv("WORKBENCH_PLUGIN_DIR", str(folder))
    path_before = list(sys.path)
    reset_registry()
    yield folder
    reset_registry()
    sys.path[:] = path_before
    sys.modules.pop("wbt_good_ui", None)


def _rows(dialog: PluginsDialog) -> dict[str, list[str]]:
    table = dialog.table
    return {
        table.item(r, 0).text(): [table.item(r, c).text() for c in range(table.columnCount())]
        for r in range(table.rowCount())
    }


def test_the_dialog_lists_loaded_and_failed_plugins(qtbot, broken_plugin: Path) -> None:
    dialog = PluginsDialog()
    qtbot.addWidget(dialog)
    rows = _rows(dialog)
    assert len(rows) == len(plugin_reports())
    assert rows["wbt_broken_ui"][1:3] == [SOURCE_USER, "failed"]
    assert "needs torchvision" in rows["wbt_broken_ui"][3]
    assert rows["wbt_good_ui"][1:] == [SOURCE_USER, "loaded", "datasets: wbt_ui_data"]
    assert rows["random_prune"][1:] == [SOURCE_FOLDER, "loaded", "passes: random-prune"]
    broken_row = list(rows).index("wbt_broken_ui")
    assert dialog.table.item(broken_row, 2).foreground().color() == QColor(FAILED)

    # The first failed plugin is selected: its error and traceback are shown.
    assert dialog.selected_report().name == "wbt_broken_ui"
    text = dialog.details.toPlainText()
    assert "status: failed" in text
    assert "error: ImportError: wbt_broken_ui needs torchvision" in text
    assert "Traceback (most recent call last)" in text and str(broken_plugin) in text

    dialog.table.selectRow(list(rows).index("blobs_dataset"))
    text = dialog.details.toPlainText()
    assert "status: loaded" in text and "datasets: blobs" in text and "models: blobs_mlp" in text
    assert "Traceback" not in text
    assert dialog.open_folder_button.toolTip() == str(broken_plugin)


def test_the_dialog_renders(qtbot, broken_plugin: Path, tmp_path: Path) -> None:
    dialog = PluginsDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    image = dialog.grab()
    assert image.save(str(tmp_path / "plugins.png")) and image.width() >= 600


def test_no_plugins_found_is_an_empty_table(qtbot) -> None:
    dialog = PluginsDialog(reports=[], folders=[])
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == 0 and dialog.selected_report() is None


def test_the_app_starts_and_opens_the_demo_despite_a_broken_plugin(
    qtbot, broken_plugin: Path, main_window
) -> None:
    assert main_window.isVisible()
    main_window.open_source("zoo:digits_cnn")  # opened in a child process that loads plugins too
    qtbot.waitUntil(lambda: main_window.variants.topLevelItemCount() == 1, timeout=60_000)
    failed = [r.name for r in plugin_reports() if not r.loaded]
    assert failed == ["wbt_broken_ui"]
    assert "wbt_ui_data" in get_registry().datasets
