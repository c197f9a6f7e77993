"""UI test guards: a private settings folder, and no QThread left running after a test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def private_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "config"
    monkeypatch.setenv("WORKBENCH_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture
def main_window(qtbot) -> Iterator:
    """A MainWindow that is closed, with its tasks finished, after the test."""
    from workbench.ui.main_window import MainWindow

    window = MainWindow()
    window.show()
    yield window
    window.close()
    # Jobs whose results were already queued may start one last short job (a graph
    # layout); each must end soon after the window closed, none may linger. The window
    # is not handed to qtbot.addWidget: pytest-qt deletes its widgets before fixtures
    # end, which would delete the window's TaskRunner under jobs still running.
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=30_000)
    window.deleteLater()
    qtbot.wait(10)  # let the deferred delete happen before the next test


@pytest.fixture
def apply_pass_in_app(qtbot):
    """``apply(window, name)``: run a registered pass on the selected variant through
    Compress > Apply a Pass…, with its default settings, and press Finish."""

    def apply(window, name: str = "random-prune") -> None:
        from PySide6.QtWidgets import QWizard

        from workbench.ui.wizards.any_pass_wizard import AnyPassWizard

        before = set(window.findChildren(AnyPassWizard))
        window.actions.open_wizard("workbench.ui.wizards.any_pass_wizard:AnyPassWizard")
        (wizard,) = set(window.findChildren(AnyPassWizard)) - before
        wizard.pick.picker.select(name)
        wizard.next()
        qtbot.waitUntil(lambda: wizard.run.done, timeout=30_000)
        assert wizard.run.isComplete(), wizard.run.message.text()
        wizard.next()
        wizard.button(QWizard.WizardButton.FinishButton).click()

    return apply
