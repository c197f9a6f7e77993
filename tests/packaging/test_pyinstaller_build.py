"""The packaged app: packaging/build.sh builds it, and the binary runs without Python.

Opt-in (it takes minutes and ~1 GB of disk): WORKBENCH_TEST_PACKAGING=1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench import __version__

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.packaging,
    pytest.mark.skipif(
        os.environ.get("WORKBENCH_TEST_PACKAGING") != "1",
        reason="builds the PyInstaller app (minutes); set WORKBENCH_TEST_PACKAGING=1",
    ),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the spec is built on Linux"),
]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):
    """Build once for this module; the folder is removed afterwards (it is large)."""
    base = tmp_path_factory.mktemp("packaging")
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "WORKBENCH_DIST_DIR": str(base / "dist"),
        "WORKBENCH_BUILD_DIR": str(base / "build"),
    }
    start = time.perf_counter()
    result = subprocess.run(
        ["bash", str(ROOT / "packaging" / "build.sh")],
        capture_output=True, text=True, env=env, timeout=1800,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    folder = base / "dist" / "workbench"
    size = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())
    print(f"\nbuilt in {time.perf_counter() - start:.0f} s; folder {size / 2**20:.0f} MiB")
    yield folder / "workbench"
    shutil.rmtree(base, ignore_errors=True)


def run(binary: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": ""}
    env.pop("WORKBENCH_PLUGIN_DIR", None)
    return subprocess.run(
        [str(binary), *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def test_the_binary_prints_its_version_and_help(app: Path) -> None:
    version = run(app, "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"workbench {__version__}"
    text = run(app, "--help")
    assert text.returncode == 0, text.stderr
    for command in ("inspect", "zoo", "gui", "plugins", "passes"):
        assert command in text.stdout
    assert "examples:" in run(app, "plugins", "--help").stdout


def test_the_binary_loads_models_and_the_bundled_plugins(app: Path) -> None:
    plugins = run(app, "plugins", "--json")
    assert plugins.returncode == 0, plugins.stderr
    reports = {p["name"]: p for p in json.loads(plugins.stdout)["plugins"]}
    for name in ("random_prune", "blobs_dataset", "tiny_models"):
        assert reports[name]["status"] == "loaded", reports[name]["error"]
    inspected = run(app, "inspect", "zoo:tiny_digits_cnn", "--json")
    assert inspected.returncode == 0, inspected.stderr
    assert json.loads(inspected.stdout)["parameters"] > 0


def test_every_bundled_qt_library_finds_its_dependencies(app: Path) -> None:
    """The spec drops Qt libraries it believes unused; none may be missing at load time."""
    missing = set()
    pyside = app.parent / "_internal" / "PySide6"
    for binary in [
        *pyside.glob("*.so"),
        *pyside.glob("Qt/plugins/*/*.so"),
        *pyside.glob("Qt/lib/*.so*"),
    ]:
        result = subprocess.run(["ldd", str(binary)], capture_output=True, text=True)
        missing |= {line.split()[0] for line in result.stdout.splitlines() if "not found" in line}
    assert not {name for name in missing if name.startswith("libQt6")}


def test_the_app_starts_offscreen_and_keeps_running(app: Path, tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "WORKBENCH_CONFIG_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [str(app)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        time.sleep(20)  # imports, the window, and the demo opened in a child process
        assert process.poll() is None, process.communicate()[1][-3000:]
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=30)
    assert "Traceback" not in err, err[-3000:]
