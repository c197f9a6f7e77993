"""Save Project and Open Project in the app: the tree comes back with its lineage."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from workbench.core.project import PROJECT_FILE
from workbench.ui.main_window import MainWindow


def _tree(window: MainWindow) -> list[tuple[str, int]]:
    top = window.variants.topLevelItem(0)
    return [(top.text(0), top.childCount())] + [
        (top.child(i).text(0), top.child(i).childCount()) for i in range(top.childCount())
    ]


def test_save_then_open_restores_the_variants_tree(
    qtbot, main_window, apply_pass_in_app, tmp_path: Path
) -> None:
    window = main_window
    window.open_source("zoo:digits_mlp")
    qtbot.waitUntil(lambda: window.current is not None, timeout=30_000)
    apply_pass_in_app(window)
    qtbot.waitUntil(lambda: len(window.project.variants) == 2, timeout=30_000)
    qtbot.waitUntil(lambda: window.variants.topLevelItem(0).childCount() == 1, timeout=10_000)
    before = _tree(window)
    ids = set(window.project.variants)

    window.projects.save(str(tmp_path / "proj"))
    qtbot.waitUntil(lambda: (tmp_path / "proj" / PROJECT_FILE).is_file(), timeout=30_000)
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=30_000)
    assert window.project.folder == tmp_path / "proj"

    fresh = MainWindow()
    qtbot.addWidget(fresh)
    fresh.projects.open(str(tmp_path / "proj"))
    qtbot.waitUntil(lambda: len(fresh.project.variants) == 2, timeout=30_000)
    assert set(fresh.project.variants) == ids
    assert _tree(fresh) == before
    assert set(fresh.inspections) == ids
    qtbot.waitUntil(lambda: not fresh.tasks.busy, timeout=30_000)
    fresh.close()


def test_opening_a_broken_project_shows_a_dialog(qtbot, main_window, tmp_path: Path) -> None:
    (tmp_path / PROJECT_FILE).write_text("{not json")
    main_window.projects.open(str(tmp_path))
    qtbot.waitUntil(lambda: main_window.findChild(QMessageBox, "error-dialog") is not None)
    box = main_window.findChild(QMessageBox, "error-dialog")
    assert "project.json" in box.text() and "not a readable project file" in box.text()
    assert (tmp_path / PROJECT_FILE).read_text() == "{not json"


def _menu_action(window: MainWindow, menu: str, text: str):
    for top in window.menuBar().actions():
        if top.text().replace("&", "") == menu:
            for action in top.menu().actions():
                if action.text().replace("&", "") == text:
                    return action
    raise AssertionError(f"no {menu} > {text}")


def test_open_project_asks_before_code_the_project_names_runs(
    qtbot, main_window, tmp_path: Path, monkeypatch
) -> None:
    """Project > Open Project… on a project whose variant names module:factory: the
    trust dialog names the file and the reference; Cancel runs nothing, Open runs it."""
    import json

    from fixtures.planted import digits_mlp_weights, plant_module
    from PySide6.QtWidgets import QFileDialog

    planted = plant_module(tmp_path / "code")
    monkeypatch.syspath_prepend(str(planted.folder))
    monkeypatch.setenv("PYTHONPATH", str(planted.folder))  # the isolated parsing child
    folder = tmp_path / "proj"
    digits_mlp_weights(folder / "variants" / "0123abcd" / "model.pt")
    entry = {
        "id": "0123abcd",
        "name": "planted",
        "framework": "pytorch",
        "arch": planted.reference,
        "artifacts": {"torch": "variants/0123abcd/model.pt"},
    }
    (folder / PROJECT_FILE).write_text(json.dumps({"schema": 1, "variants": [entry]}))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    asked: list[str] = []
    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Open]

    def answer(_parent, title, text, *_args):
        asked.append(f"{title}: {text}")
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "warning", answer)
    action = _menu_action(main_window, "Project", "Open Project…")
    action.trigger()
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=30_000)
    assert "project.json" in asked[0] and planted.reference in asked[0]
    qtbot.waitUntil(lambda: not main_window.tasks.busy, timeout=30_000)
    assert not planted.ran and not main_window.project.variants

    action.trigger()
    qtbot.waitUntil(lambda: len(asked) == 2, timeout=30_000)
    qtbot.waitUntil(lambda: len(main_window.project.variants) == 1, timeout=60_000)
    assert planted.ran
    assert main_window.project.variants["0123abcd"].loaded.arch == planted.reference
