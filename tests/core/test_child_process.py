"""Python children start with -P and pass PYTHONSAFEPATH on; a frozen app, which is no
interpreter, gets neither."""

from __future__ import annotations

import os
import sys

import pytest

from workbench.core.child_process import (
    child_environment,
    protect_descendants,
    python_command,
)


def test_a_python_child_starts_with_safe_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONSAFEPATH", "")  # empty means unset; restored afterwards
    assert python_command("-m", "x") == [sys.executable, "-P", "-m", "x"]
    assert child_environment({"A": "1"}) == {"A": "1", "PYTHONSAFEPATH": "1"}
    assert child_environment({"PYTHONSAFEPATH": ""})["PYTHONSAFEPATH"] == "1"  # empty: unset
    protect_descendants()
    assert os.environ["PYTHONSAFEPATH"] == "1"


def test_a_frozen_app_gets_no_interpreter_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONSAFEPATH", "")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert python_command("-m", "x") == [sys.executable, "-m", "x"]
    assert child_environment({"A": "1"}) == {"A": "1"}
    protect_descendants()
    assert os.environ["PYTHONSAFEPATH"] == ""
