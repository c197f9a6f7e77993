"""After a crash the app reopens the last project; a run it was doing shows interrupted."""

from __future__ import annotations

import json
from pathlib import Path

from workbench.core.project import PROJECT_FILE
from workbench.ui.main_window import MainWindow
from workbench.ui.project_actions import SESSION_CLEAN


def _saved_project(qtbot, window: MainWindow, folder: Path) -> None:
    window.open_source("zoo:digits_mlp")
    qtbot.waitUntil(lambda: window.current is not None, timeout=30_000)
    window.projects.save(str(folder))
    qtbot.waitUntil(lambda: (folder / PROJECT_FILE).is_file(), timeout=30_000)
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=30_000)


def test_a_saved_project_autosaves_each_new_variant(
    qtbot, main_window, apply_pass_in_app, tmp_path: Path
) -> None:
    window = main_window
    folder = tmp_path / "proj"
    _saved_project(qtbot, window, folder)
    apply_pass_in_app(window)

    def saved_variants() -> int:
        try:
            return len(json.loads((folder / PROJECT_FILE).read_text())["variants"])
        except (OSError, ValueError):
            return 0

    qtbot.waitUntil(lambda: saved_variants() == 2, timeout=30_000)
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=30_000)


def test_after_a_crash_the_project_reopens_with_the_run_interrupted(
    qtbot, main_window, tmp_path: Path
) -> None:
    folder = tmp_path / "proj"
    _saved_project(qtbot, main_window, folder)
    # The app died while training its root variant: the session was never closed and
    # the project says the variant was running.
    data = json.loads((folder / PROJECT_FILE).read_text())
    data["variants"][0]["state"] = "running"
    (folder / PROJECT_FILE).write_text(json.dumps(data))
    (folder / f".{PROJECT_FILE}.x1y2.tmp").write_text("{half")
    main_window.settings.setValue(SESSION_CLEAN, "false")
    main_window.settings.sync()

    again = MainWindow()
    qtbot.addWidget(again)
    assert again.projects.start_session() is True
    qtbot.waitUntil(lambda: len(again.project.variants) == 1, timeout=30_000)
    (variant,) = again.project.variants.values()
    assert variant.state == "interrupted"
    assert again.variants.topLevelItem(0).text(1) == "interrupted"
    assert not (folder / f".{PROJECT_FILE}.x1y2.tmp").exists()
    qtbot.waitUntil(lambda: not again.tasks.busy, timeout=30_000)
    again.close()
    assert again.settings.value(SESSION_CLEAN) in (True, "true")


def test_after_a_clean_exit_nothing_is_reopened(qtbot, main_window, tmp_path: Path) -> None:
    _saved_project(qtbot, main_window, tmp_path / "proj")
    main_window.projects.end_session()
    again = MainWindow()
    qtbot.addWidget(again)
    assert again.projects.start_session() is False
    assert not again.project.variants
    qtbot.waitUntil(lambda: not again.tasks.busy, timeout=30_000)  # its device probe
    again.close()


def test_an_interrupted_run_in_the_project_can_be_resumed(qtbot, main_window, tmp_path) -> None:
    """A run folder with a checkpoint but no result (the app died mid-run) is offered
    to the Training tab's Resume once the project is open again."""
    from workbench.core.data.resolve import resolve_dataset
    from workbench.core.project_files import runs_folder
    from workbench.core.train import TrainConfig, Trainer

    folder = tmp_path / "proj"
    _saved_project(qtbot, main_window, folder)
    variant = main_window.current
    run_dir = runs_folder(main_window.project, variant.id) / "run-20261201-120000"
    Trainer(
        variant.loaded.module, resolve_dataset("digits"), TrainConfig(epochs=1), run_dir=run_dir
    ).fit()
    assert (run_dir / "checkpoint.pt").is_file() and not (run_dir / "variant.json").exists()

    again = MainWindow()
    qtbot.addWidget(again)
    again.projects.open(str(folder))
    qtbot.waitUntil(lambda: again.current is not None, timeout=30_000)
    qtbot.waitUntil(lambda: again.training.form.resume.isEnabled(), timeout=30_000)
    assert again.training.runs_dir == run_dir.parent
    qtbot.waitUntil(lambda: not again.tasks.busy, timeout=30_000)
    again.close()


def test_the_tree_shows_running_then_failed_for_a_run_that_fails(qtbot, main_window) -> None:
    window = main_window
    window.open_source("zoo:digits_mlp")
    qtbot.waitUntil(lambda: window.current is not None, timeout=30_000)
    qtbot.waitUntil(lambda: window.training.start_button.isEnabled(), timeout=30_000)
    item = window.variants.topLevelItem(0)
    states: list[str] = []
    window.training.running_changed.connect(lambda _r: states.append(item.text(1)))
    window.training.form.dataset.setCurrentText("/no/such/data")
    with qtbot.waitSignal(window.training.run_failed, timeout=60_000):
        window.training.start()
    qtbot.waitUntil(lambda: item.text(1) == "failed", timeout=10_000)
    assert states == ["running", "failed"]
    assert window.current.state == "failed"
