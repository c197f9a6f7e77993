"""The window on a real X server (Xvfb, no window manager) at 1366x768 and 1920x1080:
the first start fits the screen, and a start after one that ended in a 900-px window,
widened to the screen, shows every dock at a usable width (#19).

Skipped where ``xvfb-run`` is missing; the CI installs it (.ci/run).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.ui.window_layout import DOCK_MIN_WIDTH

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run (apt xvfb)"),
]
PROBE = Path(__file__).with_name("layout_probe.py")


def _start(screen: str, config: Path, size: str = "") -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "WORKBENCH_CONFIG_DIR": str(config)}
    result = subprocess.run(
        ["xvfb-run", "-a", "-s", f"-screen 0 {screen}x24", sys.executable, str(PROBE), size],
        capture_output=True, text=True, env=env, timeout=240,
    )  # fmt: skip
    if 'could not load the Qt platform plugin "xcb"' in result.stderr:
        pytest.skip("Qt's xcb plugin lacks system libraries here (see .ci/run)")
    lines = [line for line in result.stdout.splitlines() if line.startswith("LAYOUT ")]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    return json.loads(lines[-1].removeprefix("LAYOUT "))


def _fits(layout: dict, frame: str = "frame") -> bool:
    sx, sy, sw, sh = layout["screen"]
    x, y, w, h = layout[frame]
    return sx <= x and sy <= y and x + w <= sx + sw and y + h <= sy + sh


@pytest.mark.parametrize("screen", ["1366x768", "1920x1080"])
def test_first_and_second_start_fit_and_keep_docks_usable(screen: str, tmp_path: Path) -> None:
    width, height = (int(v) for v in screen.split("x"))
    first = _start(screen, tmp_path)
    print(f"\n{screen} first start: {first}")
    assert _fits(first), first
    assert len(first["docks"]) == 3 and min(first["docks"].values()) >= DOCK_MIN_WIDTH
    assert all(size >= minimum for _view, _i, size, minimum in first["columns"]), first
    narrow = _start(screen, tmp_path, "900x700")  # a person leaves it at 900 px
    assert _fits(narrow, "at_start"), narrow  # the second start
    assert min(narrow["docks"].values()) >= DOCK_MIN_WIDTH, narrow
    wide = _start(screen, tmp_path, f"{width}x{height - 60}")  # next start, widened again
    print(f"{screen} after a 900-px start, widened: {wide}")
    assert _fits(wide, "at_start") and _fits(wide), wide
    assert min(wide["docks"].values()) >= DOCK_MIN_WIDTH, wide
    assert min(wide["docks"].values()) > DOCK_MIN_WIDTH  # widened again, not left at the floor
