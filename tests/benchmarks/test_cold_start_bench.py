"""Cold start: `python -m workbench` to a painted main window with the demo graph.

Issue 3's target is 3 s on these machines. The real entry point runs in a fresh
interpreter; a small driver watches for the first paint of the graph view after the
demo's scene is built (its ``ready`` signal) and prints the wall-clock time, then waits
for the demo's variant to open (torch imported, module built) and prints that too.
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
# Measured 1.4-2.0 s (it was 6-8 s before the demo's graph was shipped prebuilt:
# importing torch took 1.8 s and tracing the demo 2.2 s before anything showed). The
# graph now paints from resources/zoo_graphs while the module loads behind it.
DEFAULT_SLACK = 1.5  # 4.5 s: room for a busy neighbour, far below the old 6-8 s
RUNS = 3
DRIVER = """
import sys, time
from workbench.ui import main_window

show = main_window.MainWindow.show

def show_and_watch(window):
    show(window)
    from PySide6.QtCore import QEvent, QObject, QTimer

    viewport = window.graph_view.view.viewport()
    laid_out = []

    def when_opened():
        if window.variants.topLevelItemCount():
            print("opened", repr(time.time()), flush=True)
            window.close()  # as a user quits: closeEvent waits for the window's tasks
        else:
            QTimer.singleShot(20, when_opened)

    class FirstPaint(QObject):
        def eventFilter(self, watched, event):
            if event.type() == QEvent.Type.Paint and laid_out:
                watched.removeEventFilter(self)
                print("painted", repr(time.time()), flush=True)
                QTimer.singleShot(0, when_opened)
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


def _marks(stdout: str) -> dict[str, float]:
    return {
        word: float(value)
        for word, value in (line.split() for line in stdout.splitlines() if line.strip())
        if word in ("painted", "opened")
    }


def test_cold_start_paints_the_demo_within_three_seconds(tmp_path: Path) -> None:
    env_dir = tmp_path / "config"  # no recent project to reopen: the demo opens
    painted, opened = [], []
    for _ in range(RUNS):
        started = time.time()
        done = run_command(
            [sys.executable, "-c", DRIVER],
            env=workbench_environment({"WORKBENCH_CONFIG_DIR": str(env_dir)}),
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        marks = _marks(done.stdout)
        painted.append(marks["painted"] - started)
        opened.append(marks["opened"] - started)
    best = min(painted)
    print(
        f"\ncold start to a painted demo graph: best {best:.2f} s of "
        f"{', '.join(f'{t:.2f}' for t in painted)} s (target {TARGET_S:.1f} s, "
        f"ratio {best / TARGET_S:.2f}); demo variant opened (model loaded) at "
        f"{', '.join(f'{t:.2f}' for t in opened)} s"
    )
    assert best <= limit(TARGET_S, DEFAULT_SLACK)
    assert all(p <= o for p, o in zip(painted, opened, strict=True))
