"""Checkpoints a run can resume from, written so a crash never leaves a broken one.

A checkpoint is written to a temp name beside it and fsynced, read back and compared
byte for byte with what ``torch.save`` produced, and only then renamed over the previous
one (the folder fsynced, so the rename survives a crash too). Epoch-end checkpoints are
written by one background thread from a CPU copy of the state, so the training loop does
not wait for the disk; that thread's work is kept small because on a machine with few
cores it still takes its CPU time from the training (see ``_verify_written``).
"""

from __future__ import annotations

import io
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from workbench.core.train.events import Checkpoint, TrainingError

CHECKPOINT_NAME = "checkpoint.pt"
FORMAT = "workbench-train-checkpoint"
VERSION = 1


def cpu_copy(value: Any) -> Any:
    """``value`` with every tensor copied to the CPU (dicts, lists and tuples walked)."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: cpu_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(cpu_copy(v) for v in value)
    return value


def write_checkpoint(path: Path, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` atomically, after checking the written file is intact."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, **state}, buffer)
    data = buffer.getvalue()
    # The temp file needs no atomic write of its own (only the verified file is renamed
    # into place; an interrupted one is swept as ``.*.new``): one fsync of the data and
    # one of the folder after the rename, rather than a second temp file and rename.
    temp = path.with_name(f".{path.name}.new")
    try:
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _verify_written(temp, data)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    _sync_folder(path.parent)
    return path


def _verify_written(path: Path, data: bytes) -> None:
    """The file reads back byte for byte as the complete serialisation ``torch.save`` made.

    Neither a full ``torch.load`` nor a CRC pass over the zip records: with the bytes
    equal, both would only re-check ``torch.save``'s own output, and they cost several
    milliseconds of GIL-holding CPU per checkpoint (the unpickling) or about one (the
    CRC pass, a quarter of the writer's time on the digits CNN), which the training
    thread feels on a small model. ``read_checkpoint`` does the full, weights-only load
    when a run resumes.
    """
    if path.read_bytes() != data:
        raise TrainingError(f"{path.name} did not read back as written; the disk may be full")


def read_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint's state, read without unpickling code; errors name the file."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise TrainingError(f"no checkpoint to resume from: {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TrainingError(f"{path.name} is not a readable checkpoint ({first})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise TrainingError(f"{path.name} is not a workbench training checkpoint")
    if state.get("version") != VERSION:
        raise TrainingError(f"{path.name} has checkpoint version {state.get('version')!r}")
    return state


def _sync_folder(folder: Path) -> None:
    if hasattr(os, "O_DIRECTORY"):  # POSIX: make the rename itself durable
        fd = os.open(folder, os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class CheckpointWriter:
    """At most one checkpoint in flight, written by a background thread.

    ``submit`` takes a CPU copy already made (see ``cpu_copy``); ``poll`` returns the
    ``Checkpoint`` events of writes that completed, so the trainer emits them from its
    own thread and in order. A failed write raises from ``poll``/``wait``.
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="checkpoint-writer")
        self._pending: tuple[Future[Path], int, int] | None = None

    def submit(self, path: Path, state: dict[str, Any], epoch: int, step: int) -> list[Checkpoint]:
        done = self.wait()
        future = self._executor.submit(write_checkpoint, path, state)
        self._pending = (future, epoch, step)
        return done

    def poll(self) -> list[Checkpoint]:
        if self._pending is None or not self._pending[0].done():
            return []
        return self.wait()

    def wait(self) -> list[Checkpoint]:
        if self._pending is None:
            return []
        future, epoch, step = self._pending
        self._pending = None
        try:
            path = future.result()
        except TrainingError:
            raise
        except OSError as exc:
            raise TrainingError(f"cannot write the checkpoint: {exc}") from exc
        return [Checkpoint(path=path, epoch=epoch, step=step)]

    def close(self) -> None:
        self._executor.shutdown(wait=True)
