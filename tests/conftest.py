"""Shared test set-up: Qt offscreen, WebEngine ready, the public-model fixtures."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")

from workbench.ui.app import prepare_qt

prepare_qt()  # before pytest-qt makes the QApplication, as the app itself does

pytest_plugins = ["fixtures.public_models", "fixtures.hostile_files"]


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    """Name the running test in WORKBENCH_TEST_PROGRESS (when set), so that a CI run
    killed from outside can still say which test it was stuck in."""
    path = os.environ.get("WORKBENCH_TEST_PROGRESS")
    if path:
        with open(path, "w", encoding="utf-8") as progress:
            progress.write(nodeid + "\n")
