"""Cold start: `python -m workbench` to a painted main window with the demo graph.

Issue 3's target is 3 s on these machines. The real entry point runs in a fresh
interpreter; a small driver only watches for the first paint of the graph view after
the demo's scene is built (its ``ready`` signal), prints the wall-clock time and quits.
The best of three runs is held (the first also pays for a cold page cache).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from bench_limits import limit
from fixtures.cli import run_command, workbench_environment

pytestmark = [pytest.mark.benchmark, pytest.mark.slow]

TARGET_S = 3.0
# Not met yet: 6-7 s here. The window is up at 1.3 s; then the opening worker imports
# torch (1.8 s) and traces the demo with torch.export (2.2 s on first use). Creating the
# Netron tab's web view only when first shown made no difference (tried). By default
# the figure is printed and held to a regression limit; strict mode asserts the 3 s.
DEFAULT_SLACK = 4.0  # 12 s: 8.2 s seen here with another run beside it
RUNS = 3
DRIVER = """
import sys, time
from workbench.ui import main_window

show = main_window.MainWindow.show

def show_and_watch(window):
    show(window)
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    viewport = window.graph_view.view.viewport()
    laid_out = []

    class FirstPaint(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint and laid_out:
                watched.removeEventFilter(self)
                print(repr(time.time()), flush=True)
                QTimer.singleShot(0, QApplication.quit)
            return False

    def on_ready():
        laid_out.append(True)
        viewport.update()  # the paint that shows the built scene

    window._first_paint = FirstPaint()
    viewport.installEventFilter(window._first_paint)
    window.graph_view.ready.connect(on_ready)

main_window.MainWindow.show = show_and_watch
sys.argv = ["workbench"]
import runpy
runpy.run_module("workbench", run_name="__main__")
"""


def test_cold_start_paints_the_demo_within_three_seconds(tmp_path: Path) -> None:
    env_dir = tmp_path / "config"  # no recent project to reopen: the demo opens
    times = []
    for _ in range(RUNS):
        started = time.time()
        done = run_command(
            [sys.executable, "-c", DRIVER],
            env=workbench_environment({"WORKBENCH_CONFIG_DIR": str(env_dir)}),
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        times.append(float(done.stdout.strip().splitlines()[-1]) - started)
    best = min(times)
    print(
        f"\ncold start to a painted demo graph: best {best:.2f} s of "
        f"{', '.join(f'{t:.2f}' for t in times)} s (target {TARGET_S:.1f} s, "
        f"ratio {best / TARGET_S:.2f})"
    )
    assert best <= limit(TARGET_S, DEFAULT_SLACK)
