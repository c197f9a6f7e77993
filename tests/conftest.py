"""Shared test set-up: Qt offscreen, WebEngine ready, the public-model fixtures."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")

from workbench.ui.app import prepare_qt

prepare_qt()  # before pytest-qt makes the QApplication, as the app itself does

pytest_plugins = ["fixtures.public_models"]
