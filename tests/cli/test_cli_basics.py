"""The command line's own surface: version, help, exit statuses."""

from __future__ import annotations

import subprocess

import pytest
from fixtures.cli import run_workbench

from workbench import __version__
from workbench.cli import build_parser, main


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real entry point in a fresh interpreter, as a user's shell would run it."""
    return run_workbench(*args, timeout=timeout)


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"workbench {__version__}"


def test_help_describes_every_command() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    parser = build_parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name in commands.choices:
        assert name in result.stdout
    assert "inspect" in commands.choices and "zoo" in commands.choices


@pytest.mark.parametrize("command", ["inspect", "zoo", "gui"])
def test_each_command_has_its_own_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert f"usage: workbench {command}" in capsys.readouterr().out


def test_bad_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["inspect", "x.onnx", "--shape", "input=1xtwo"])
    assert info.value.code == 2
    assert "dimensions must be whole numbers" in capsys.readouterr().err
