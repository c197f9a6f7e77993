"""The GPU suite: each run of `workbench train` made once per session, and the measured
figures printed together at the end (they also print as measured, with -s)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fixtures import gpu_commands as commands
from gpu_env import FIGURES, workbench_json

Training = tuple[dict[str, Any], str, Path]  # (--json output, stderr, --out folder)


@pytest.fixture(scope="session")
def wide_training(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Training]:
    """``train(device, amp, epochs)``: `workbench train` of the wide ResNet on shapes,
    each combination run once; the 3-epoch float32 CUDA run's weights are quantized too."""
    runs: dict[tuple[str, str, int], Training] = {}

    def train(device: str, amp: str = "off", epochs: int = 3) -> Training:
        key = (device, amp, epochs)
        if key not in runs:
            out = tmp_path_factory.mktemp(f"wide-{device}-{amp}-{epochs}")
            line = commands.train(commands.WIDE, out, device=device, amp=amp, epochs=epochs)
            runs[key] = (*workbench_json(line, timeout=600), out)
        return runs[key]

    return train


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("GPU figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
