"""Where only the core dependencies are installed (a headless GPU server: no PySide6,
pyqtgraph, netron or pytest-qt), tests/core, tests/cli and tests/gpu still collect, and
a test that needs Qt's application is skipped with the reason instead of erroring."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from fixtures.cli import run_command

ROOT = Path(__file__).resolve().parents[2]
BLOCKED = ("PySide6", "shiboken6", "pyqtgraph", "netron")


@pytest.fixture
def without_qt(tmp_path: Path) -> dict[str, str]:
    """An environment whose Python finds none of BLOCKED: each is shadowed, ahead of
    site-packages, by a package that fails to import as a missing one does."""
    blocker = tmp_path / "blocked"
    for name in BLOCKED:
        (blocker / name).mkdir(parents=True)
        (blocker / name / "__init__.py").write_text(
            f'raise ModuleNotFoundError("No module named {name!r} (blocked)", name={name!r})\n'
        )
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(blocker), str(ROOT), *inherited]))
    probe = run_command([sys.executable, "-c", "import PySide6"], env=env, timeout=60)
    assert "ModuleNotFoundError: No module named 'PySide6' (blocked)" in probe.stderr
    return env


def pytest_in(env: dict[str, str], *args: str) -> str:
    done = run_command(
        [sys.executable, "-m", "pytest", "-p", "no:pytest-qt", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    return done.stdout


def test_core_cli_and_gpu_tests_collect_without_qt(without_qt: dict[str, str]) -> None:
    out = pytest_in(without_qt, "--collect-only", "-q", "tests/core", "tests/cli", "tests/gpu")
    found = re.search(r"^(\d+) tests collected in", out, re.MULTILINE)
    assert found, out[-3000:]
    assert int(found.group(1)) > 300
    assert "error" not in out.splitlines()[-1]
    for folder in ("tests/core/", "tests/cli/", "tests/gpu/"):
        assert folder in out


def test_a_qt_test_outside_tests_ui_is_skipped_without_qt(without_qt: dict[str, str]) -> None:
    out = pytest_in(
        without_qt,
        "-q",
        "-rs",
        "tests/cli/test_prune_cli.py::test_the_wizard_makes_the_same_model_from_the_same_settings",
        "tests/cli/test_gpu_command_lines.py",
    )
    assert "1 passed, 1 skipped" in out
    assert "needs Qt: pytest-qt (and PySide6) are not installed here" in out
