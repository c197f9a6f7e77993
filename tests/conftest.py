"""Shared test set-up: the public-model fixtures and Qt for the tests that use it.

Nothing here imports Qt (see fixtures/qt.py): tests/core, tests/cli and tests/gpu run
where only the core dependencies are installed.
"""

from __future__ import annotations

import os

from workbench.core.torchvision_import import prepare_torchvision

# The fixtures import transformers, which imports torchvision when it is installed; where
# torchvision's compiled operators do not fit this torch (the CI machine), that import
# fails unless the workbench's own workaround ran first, as the product runs it.
prepare_torchvision()

pytest_plugins = ["fixtures.qt", "fixtures.public_models", "fixtures.hostile_files"]


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    """Name the running test in WORKBENCH_TEST_PROGRESS (when set), so that a CI run
    killed from outside can still say which test it was stuck in."""
    path = os.environ.get("WORKBENCH_TEST_PROGRESS")
    if path:
        with open(path, "w", encoding="utf-8") as progress:
            progress.write(nodeid + "\n")
