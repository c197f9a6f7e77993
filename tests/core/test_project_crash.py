"""A project survives a crash: SIGKILL mid-save keeps a loadable project.json."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.core.project import PROJECT_FILE, Project
from workbench.core.project_files import sweep_temp_files

# Saves a project of many variants over and over, each time with one more variant, and
# says when each save is done; the test kills it at arbitrary moments.
SAVER = """
import sys
from workbench.core.project import Project, Variant
project = Project(name="crash")
folder = sys.argv[1]
for i in range(100000):
    project.variants[f"{i:08x}"] = Variant(id=f"{i:08x}", name="x" * 2000, parent=None)
    project.save(folder)
    print(i, flush=True)
"""


@pytest.mark.slow
def test_sigkill_during_saves_never_leaves_a_broken_project(tmp_path: Path) -> None:
    folder = tmp_path / "proj"
    script = tmp_path / "saver.py"
    script.write_text(SAVER)
    for round_ in range(6):
        process = subprocess.Popen(
            [sys.executable, str(script), str(folder)], stdout=subprocess.PIPE, text=True
        )
        done = -1
        # Let it save a varying number of times, then kill it wherever it is.
        while done < 5 + 7 * round_:
            line = process.stdout.readline()
            assert line, "the saver stopped by itself"
            done = int(line)
        time.sleep(0.003 * round_)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()
        project = Project.open(folder)  # whole: the previous save or the one in flight
        assert len(project.variants) >= done + 1
        json.loads((folder / PROJECT_FILE).read_text())
    sweep_temp_files(folder)
    assert [p.name for p in folder.iterdir()] == [PROJECT_FILE]


def test_temp_files_of_interrupted_writes_are_swept(tmp_path: Path) -> None:
    (tmp_path / "runs" / "v1").mkdir(parents=True)
    leftovers = [
        tmp_path / ".project.json.k2j3.tmp",
        tmp_path / "runs" / "v1" / ".checkpoint.pt.new",
    ]
    for path in leftovers:
        path.write_bytes(b"half")
    kept = tmp_path / "runs" / "v1" / "checkpoint.pt"
    kept.write_bytes(b"good")
    assert sorted(sweep_temp_files(tmp_path)) == sorted(leftovers)
    assert kept.read_bytes() == b"good" and not any(p.exists() for p in leftovers)
