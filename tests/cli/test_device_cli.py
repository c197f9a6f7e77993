"""Asking for a GPU that does not work here: one line that says why, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.cli import run_workbench

from workbench.core.measure.providers import CUDA, working_providers


@pytest.mark.parametrize(
    "command",
    [
        ["bench", "zoo:digits_cnn", "--runtime", "ort", "--device", "cuda"],
        ["eval", "zoo:digits_cnn", "--runtime", "ort", "--device", "cuda", "--data", "digits"],
        ["quantize", "zoo:digits_cnn", "--method", "fp16", "--device", "cuda", "--out", "{out}"],
    ],
    ids=["bench", "eval", "quantize"],
)
def test_the_cuda_provider_s_failure_reason_reaches_the_user(
    command: list[str], tmp_path: Path
) -> None:
    """A fresh process, as a user runs it: ORT logs a provider's failure only once."""
    if CUDA in working_providers():
        pytest.skip("ONNX Runtime's CUDA provider works here")
    result = run_workbench(*(part.format(out=tmp_path / "q") for part in command))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # no ORT log lines, no EP Error banner
    line = lines[0]
    assert line.startswith("workbench: error: "), line
    assert "CUDA provider failed to load: " in line or "no CUDA provider" in line, line
    if "failed to load" in line:  # the cause ORT logged: here, a CUDA library not found
        cause = line.split("failed to load: ", 1)[1]
        assert any(word in cause for word in (".so", ".dll", "device", "driver")), line
    assert result.stdout == "" and not (tmp_path / "q").exists()
