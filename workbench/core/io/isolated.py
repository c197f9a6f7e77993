"""Parse a newly opened file in a child process first, with a memory cap and a time limit.

onnx's checker and shape inference, onnxruntime and safetensors have all segfaulted or
run away on crafted files; in the app's own process that would be a dead app. The child
runs the same ``inspect_model`` and sends back the graph and summary; only when it
survived does the parent open the file itself (then the parse is known to be safe), and
it reuses the child's graph instead of translating again.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from workbench.core.child_process import python_command
from workbench.core.context import Cancelled, RunContext
from workbench.core.errors import ModelLoadError, WorkbenchError
from workbench.core.inspection import Inspection, inspect_model
from workbench.core.io import load
from workbench.core.io.limits import total_memory
from workbench.core.named_sources import is_named_source

DEFAULT_TIMEOUT_S = 180.0
# The child's cap is on its heap (RLIMIT_DATA: heap and private writable mappings), not on
# its address space: a CUDA build of torch maps 3.7 GiB just by being imported (why the
# old RLIMIT_AS cap needed a 6 GiB floor) but holds 1.3 GiB of data (0.5 GiB resident).
# Measured needs, as RLIMIT_DATA: a small model traced with CUDA torch 2.11, 1.5 GiB;
# with CPU torch 2.13, 0.4 GiB; ResNet-50 as ONNX (100 MB), 0.3 GiB. The ceiling leaves
# room for that plus two copies of the file's own bytes, so a real multi-GB model still
# opens, while a small crafted file gets 4 GiB at most; half of RAM bounds it all, so an
# 8 GB laptop keeps the other half.
MEMORY_CEILING = 4 << 30
TORCH_SUFFIXES = (".pt", ".pth", ".pt2", ".bin", ".ckpt", ".safetensors", ".tar")
POLL_S = 0.05


def default_memory_limit(file_size: int = 0) -> int | None:
    """Heap cap for the child: ``MEMORY_CEILING`` plus twice the file, at most half of RAM."""
    total = total_memory()
    return None if total is None else min(total // 2, MEMORY_CEILING + 2 * file_size)


def inspect_isolated(
    source: str | Path,
    *,
    arch: str | None = None,
    trust: bool = False,
    shapes: dict[str, tuple[int, ...]] | None = None,
    ctx: RunContext | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_limit: int | None = None,
) -> Any:
    """``inspect_model`` whose risky parse happens in a child process first.

    Returns an ``Inspection``. A child that crashes, runs out of memory or time becomes a
    ``ModelLoadError``; the user's errors come back as the child raised them.
    """

    ctx = ctx or RunContext()
    if is_named_source(source):  # nothing on disk to distrust
        return inspect_model(source, arch=arch, trust=trust, shapes=shapes)
    label = Path(str(source)).name
    request = {"source": str(source), "arch": arch, "trust": trust, "shapes": shapes or {}}
    limit = default_memory_limit(_file_size(source)) if memory_limit is None else memory_limit
    with tempfile.TemporaryDirectory(prefix="workbench-open-") as folder:
        request_path = Path(folder) / "request.pickle"
        result_path = Path(folder) / "result.pickle"
        request_path.write_bytes(pickle.dumps(request))
        ctx.report(None, f"Checking {label} in a separate process…")
        prefetch = Path(str(source)).suffix.lower() in TORCH_SUFFIXES
        code = _run_child(request_path, result_path, limit, timeout_s, ctx, label, prefetch)
        if code != 0 or not result_path.exists():
            raise _crash_error(label, code, limit)
        # Our own child wrote this file a moment ago in a private folder: trusted pickle.
        outcome = pickle.loads(result_path.read_bytes())
    if outcome["error"] is not None:
        raise outcome["error"]
    ctx.check()
    ctx.report(None, f"Opening {label}…")

    loaded = load(source, arch=arch, trust=trust, shapes=shapes)
    return Inspection(loaded, outcome["graph"], outcome["summary"])


def _file_size(source: str | Path) -> int:
    try:
        return Path(source).stat().st_size  # a folder's own size: small, as it should be
    except OSError:
        return 0  # the child reports the missing file


def _run_child(
    request: Path,
    result: Path,
    limit: int | None,
    timeout_s: float,
    ctx: RunContext,
    label: str,
    prefetch_torch: bool,
) -> int:
    # The child caps its own memory first thing (preexec_fn is unsafe in a threaded app).
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    process = subprocess.Popen(
        python_command(
            "-m", "workbench.core.io.isolated", str(request), str(result), str(limit or 0)
        ),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    if prefetch_torch:  # the parent needs torch next; import it while the child works
        import torch  # noqa: F401
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                return process.wait(timeout=POLL_S)
            except subprocess.TimeoutExpired:
                pass
            if ctx.cancel.cancelled:
                raise Cancelled("cancelled")
            if time.monotonic() > deadline:
                raise ModelLoadError(
                    f"{label} took longer than {timeout_s:.0f} s to parse and was stopped; "
                    "the file may be crafted to hang the parser"
                )
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _crash_error(label: str, code: int, limit: int | None) -> ModelLoadError:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return ModelLoadError(
            f"{label} crashed the model parser ({name}); the file is corrupt or crafted, "
            "and was not opened"
        )
    if code == MEMORY_EXIT:
        cap = f" {limit / (1 << 30):.1f} GiB" if limit else ""
        return ModelLoadError(
            f"{label} needed more than the{cap} memory allowed for parsing; not opened"
        )
    return ModelLoadError(f"{label} could not be parsed (the parser exited with status {code})")


MEMORY_EXIT = 86  # the child's status when parsing raised MemoryError


def _child_main(request_path: str, result_path: str, limit: int) -> int:
    """Inside the child: inspect, then write the graph, summary or the user-facing error."""
    if limit and os.name == "posix":
        import resource

        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))

    request = pickle.loads(Path(request_path).read_bytes())
    outcome: dict[str, Any] = {"error": None, "graph": None, "summary": None}
    try:
        shapes = {k: tuple(v) for k, v in request["shapes"].items()}
        inspection = inspect_model(
            request["source"], arch=request["arch"], trust=request["trust"], shapes=shapes
        )
        outcome["graph"], outcome["summary"] = inspection.graph, inspection.summary
    except MemoryError:
        return MEMORY_EXIT
    except WorkbenchError as exc:
        if _caused_by_memory(exc):  # a reader wrapped the real cause
            return MEMORY_EXIT
        outcome["error"] = type(exc)(exc.message, exc.details)
    Path(result_path).write_bytes(pickle.dumps(outcome))
    return 0


def _caused_by_memory(error: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, MemoryError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
