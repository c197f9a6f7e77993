"""Shared test set-up: Qt offscreen, the public-model fixtures, thread-leak guard."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")

pytest_plugins = ["fixtures.public_models"]
