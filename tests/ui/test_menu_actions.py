"""Every menu action, triggered as a user would (``QAction.trigger``): none may raise,
and Open Project…, Save Project As… and Export Recipe… do what they say (#19: they got
``checked`` as their folder or path and failed or did nothing).

File dialogs are answered by patching QFileDialog's static methods (a real path, or ""
for Cancel), message boxes by patching QMessageBox's, so nothing waits for a person.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from workbench.core.project import PROJECT_FILE
from workbench.ui.main_window import MainWindow
from workbench.ui.settings import remember_file
from workbench.ui.wizards import WIZARDS

WAIT_MS = 60_000

# Every menu's entries; the Compress menu lists WIZARDS, View starts with the docks.
# A new action fails ``test_the_menus_hold_exactly_the_known_actions`` until it is
# added here, and so is walked by the test that triggers every action.
KNOWN = {
    "File": ["Open…", "Open Demo", "Open Recent", "Export Graph Image…", "Quit"],
    "Project": ["Open Project…", "Save Project", "Save Project As…"],
    "Model": ["Benchmark", "Evaluate", "Export ONNX…", "Export Recipe…"],
    "Compress": [text.replace("&", "") for text, _ in WIZARDS],
    "View": ["Variants", "Inspector", "Recipe", "Find in Graph…", "Open in Netron", "Full Screen"],
    "Help": ["Plugins…", "About Workbench"],
}


def _menus(window: MainWindow) -> dict[str, QMenu]:
    return {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}


def _actions(menu: QMenu) -> list[QAction]:
    """The menu's actions, those of its submenus included; no separators or submenus."""
    found: list[QAction] = []
    for action in menu.actions():
        if action.menu() is not None:
            found += _actions(action.menu())
        elif not action.isSeparator():
            found.append(action)
    return found


def _menu_action(window: MainWindow, menu: str, text: str) -> QAction:
    for action in _actions(_menus(window)[menu]):
        if action.text().replace("&", "") == text:
            return action
    raise AssertionError(f"no {menu} > {text}")


@pytest.fixture
def answers(monkeypatch, tmp_path: Path) -> dict[str, str]:
    """What the file dialogs answer ("" is Cancel); message boxes return at once.
    ``save_in``: a Save dialog answers the name it suggests, in that folder."""
    answer = {"folder": "", "open": "", "save": "", "save_in": ""}

    def save(_parent=None, _caption="", suggested="", *_args, **_kwargs):
        if answer["save_in"]:
            return str(Path(answer["save_in"]) / Path(suggested).name), ""
        return answer["save"], ""

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: answer["folder"])
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (answer["open"], ""))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", save)
    for name in ("warning", "question", "information", "critical"):
        monkeypatch.setattr(QMessageBox, name, lambda *a, **k: QMessageBox.StandardButton.Cancel)
    monkeypatch.setattr(QMessageBox, "about", lambda *a, **k: None)
    return answer


def _open_model(qtbot, window: MainWindow) -> None:
    window.open_source("zoo:digits_mlp")
    qtbot.waitUntil(lambda: window.current is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=WAIT_MS)


def test_the_menus_hold_exactly_the_known_actions(main_window) -> None:
    remember_file(main_window.settings, "/no/such/model.onnx")
    main_window.refresh_recent_menu()
    menus = _menus(main_window)
    assert list(menus) == list(KNOWN)
    for title, menu in menus.items():
        texts = [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]
        assert texts == KNOWN[title], title


def _walk(qtbot, window: MainWindow) -> set[str]:
    """Trigger every menu action but Quit (last, by the caller); the ones heard."""
    heard: set[str] = set()
    for title, menu in _menus(window).items():
        for action in _actions(menu):
            name = f"{title} > {action.text().replace('&', '')}"
            if name == "File > Quit":
                continue
            action.triggered.connect(lambda _checked=False, n=name: heard.add(n))
            action.trigger()
            qtbot.wait(20)  # let queued work (a dialog, a job's start) happen
    return heard


@pytest.mark.parametrize("answer_with", ["cancel", "paths"])
@pytest.mark.parametrize("with_model", [False, True], ids=["empty", "model-open"])
def test_every_menu_action_triggers_without_an_exception(
    qtbot, answers, tmp_path: Path, with_model: bool, answer_with: str
) -> None:
    window = MainWindow()
    window.show()
    model = tmp_path / "model.onnx"
    remember_file(window.settings, str(model))  # Open Recent has an entry: a missing file
    window.refresh_recent_menu()
    if answer_with == "paths":
        (tmp_path / "empty").mkdir()
        answers.update(folder=str(tmp_path / "empty"), open=str(model), save_in=str(tmp_path))
    try:
        with qtbot.capture_exceptions() as exceptions:
            if with_model:
                _open_model(qtbot, window)
            heard = _walk(qtbot, window)
            qtbot.waitUntil(lambda: not window.tasks.busy, timeout=WAIT_MS)
            quit_action = _menu_action(window, "File", "Quit")
            with qtbot.waitSignal(quit_action.triggered):
                quit_action.trigger()
        assert not exceptions, [str(e[1]) for e in exceptions]
        assert not window.isVisible()  # Quit closed it
        every = {
            f"{title} > {a.text().replace('&', '')}"
            for title, menu in _menus(window).items()
            for a in _actions(menu)
        }
        assert heard == every - {"File > Quit"}  # none was skipped or disabled
    finally:
        window.close()
        qtbot.waitUntil(lambda: not window.tasks.busy, timeout=30_000)
        window.deleteLater()
        qtbot.wait(10)


def test_save_as_then_open_project_through_their_actions(
    qtbot, main_window, answers, tmp_path: Path
) -> None:
    _open_model(qtbot, main_window)
    folder = tmp_path / "proj"
    answers["folder"] = str(folder)
    with qtbot.capture_exceptions() as exceptions:
        _menu_action(main_window, "Project", "Save Project As…").trigger()
        qtbot.waitUntil(lambda: (folder / PROJECT_FILE).is_file(), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: not main_window.tasks.busy, timeout=WAIT_MS)
        saved = json.loads((folder / PROJECT_FILE).read_text())
        assert [v["id"] for v in saved["variants"]] == list(main_window.project.variants)

        fresh = MainWindow()
        qtbot.addWidget(fresh)
        _menu_action(fresh, "Project", "Open Project…").trigger()
        qtbot.waitUntil(lambda: len(fresh.project.variants) == 1, timeout=WAIT_MS)
        assert fresh.project.folder == folder
        assert set(fresh.project.variants) == set(main_window.project.variants)
        assert fresh.variants.topLevelItemCount() == 1 and fresh.current is not None
        qtbot.waitUntil(lambda: not fresh.tasks.busy, timeout=WAIT_MS)
        fresh.close()
    assert not exceptions, [str(e[1]) for e in exceptions]


def test_cancelled_project_dialogs_do_nothing(qtbot, main_window, answers) -> None:
    _open_model(qtbot, main_window)
    with qtbot.capture_exceptions() as exceptions:
        _menu_action(main_window, "Project", "Save Project As…").trigger()
        _menu_action(main_window, "Project", "Open Project…").trigger()
    assert not exceptions
    assert not main_window.tasks.busy and main_window.project.folder is None


def test_export_recipe_through_its_action_writes_the_recipe(
    qtbot, main_window, apply_pass_in_app, answers, tmp_path: Path
) -> None:
    _open_model(qtbot, main_window)
    apply_pass_in_app(main_window)
    qtbot.waitUntil(lambda: main_window.current.parent is not None, timeout=WAIT_MS)
    recipe = tmp_path / "recipe.yaml"
    answers["save"] = str(recipe)
    with qtbot.capture_exceptions() as exceptions:
        _menu_action(main_window, "Model", "Export Recipe…").trigger()
    assert not exceptions, [str(e[1]) for e in exceptions]
    assert "random-prune" in recipe.read_text()
