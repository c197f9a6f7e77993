"""`workbench inspect` on files crafted to exhaust memory: a described model or one stderr
line (exit 2), and the whole process tree under 1 GiB.

Each runs the real entry point in a fresh interpreter under an address-space cap, so a
regression fails here instead of taking the machine down.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fixtures.hostile_files import HOSTILE_ONNX, TREE_LIMIT, Measured, run_capped

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux", reason="peaks are read from /proc"),
]

DESCRIBED = {  # kind -> the length its input 's' declares
    "vector 2^24": 1 << 24,
    "vector 2^31+1": (1 << 31) + 1,
    "vector 2^62": 1 << 62,
    "size of 2^24": 1 << 24,
}
REFUSED = {  # kind -> what the one line says
    "computed range": "range.onnx: shape inference needed more than 512.0 MiB of memory",
    "3 GiB onnx": "sparse.onnx is 3.0 GiB; protobuf cannot parse an ONNX file over 2 GiB",
    "storage bomb": "member archive/data/0 would inflate",
    "pickle bomb": "member archive/data.pkl would inflate",
}


def _inspect(request: pytest.FixtureRequest, tmp_path: Path, kind: str) -> Measured:
    if kind in HOSTILE_ONNX:
        path = HOSTILE_ONNX[kind](tmp_path)
    else:
        path = request.getfixturevalue(kind.replace(" ", "_"))
    return run_capped("workbench", "inspect", str(path))


@pytest.mark.parametrize("kind", list(DESCRIBED))
def test_a_declared_huge_vector_is_described(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    run = _inspect(request, tmp_path, kind)
    assert run.returncode == 0, run.stderr
    length = DESCRIBED[kind]
    assert f"s: int64[{length}]" in run.stdout
    note = f"note: shapes were inferred without data propagation: 's' is declared with {length:,}"
    assert note in run.stdout
    assert run.peak < TREE_LIMIT, f"{run.peak_mib:.0f} MiB"


@pytest.mark.parametrize("kind", list(REFUSED))
def test_a_file_that_would_exhaust_memory_is_one_line(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    run = _inspect(request, tmp_path, kind)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and len(lines) == 1, run.stderr
    assert lines[0].startswith("workbench: error: ") and REFUSED[kind] in lines[0]
    assert run.stdout == ""
    assert run.peak < TREE_LIMIT, f"{run.peak_mib:.0f} MiB"
