"""What the GPU suite shares: the skip without CUDA, the CLI runs, the printed figures.

Needs only the core dependencies (torch, onnx, onnxruntime, numpy, ...) and imports
nothing from Qt: it runs on a headless GPU server with `make test-gpu`.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from typing import Any

import pytest
import torch
from fixtures.cli import run_workbench

CUDA_EP = "CUDAExecutionProvider"
needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device here (torch.cuda.is_available() is False)"
)
FIGURES: list[str] = []  # printed again together at the end of the run (conftest.py)


def figure(text: str) -> None:
    """Print a measured figure as the test makes it (seen with -s) and keep it."""
    print(f"\nGPU figure: {text}", flush=True)
    FIGURES.append(text)


def workbench_json(args: Sequence[str], timeout: float = 300) -> tuple[dict[str, Any], str]:
    """Run ``workbench ARGS`` (a line with --json); (its JSON, its stderr) once it succeeded."""
    done = run_workbench(*args, timeout=timeout)
    assert done.returncode == 0, f"workbench {' '.join(args)}\n{done.stderr[-4000:]}"
    return json.loads(done.stdout), done.stderr


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The one ``workbench: error: ...`` line of a refused command (exit 2, no traceback)."""
    assert done.returncode == 2, done.stderr[-4000:]
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("workbench: error:")]
    assert len(errors) == 1, done.stderr
    return errors[0]


def require_ort_cuda() -> None:
    """Skip where the installed ONNX Runtime is a CPU build (the GPU build lists CUDA even
    when its libraries are missing: that case runs, and must work or say why)."""
    import onnxruntime as ort

    if CUDA_EP not in ort.get_available_providers():
        pytest.skip(f"onnxruntime {ort.__version__} here is a CPU build; install onnxruntime-gpu")


def by_batch(report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """A latency report's points by batch size."""
    return {point["batch"]: point for point in report["batches"]}
