"""`workbench inspect` of a ResNet-50-class ONNX: under 2 s wall, mostly start-up.

Prints the best of three runs of the real command beside the bare interpreter's start-up
and `import workbench.cli`, all measured in this one run.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.benchmark, pytest.mark.slow]


def _best_wall(args: list[str], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, timeout=120)
        best = min(best, time.perf_counter() - start)
    return best


def test_inspect_resnet50_under_two_seconds(resnet50_onnx: Path) -> None:
    python = sys.executable
    bare = _best_wall([python, "-c", "pass"])
    cli_import = _best_wall([python, "-c", "import workbench.cli"])
    inspect = _best_wall([python, "-m", "workbench", "inspect", str(resnet50_onnx), "--json"])
    size_mb = resnet50_onnx.stat().st_size / 1e6
    print(
        f"\ninspect {resnet50_onnx.name} ({size_mb:.0f} MB): {inspect:.2f} s wall; "
        f"interpreter start-up {bare:.2f} s, + import workbench.cli {cli_import:.2f} s; "
        f"work after start-up {inspect - cli_import:.2f} s "
        f"({(inspect - cli_import) / inspect:.0%} of the total)"
    )
    assert inspect < 2.0
