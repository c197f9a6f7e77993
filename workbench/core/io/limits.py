"""What opening an untrusted file may cost, checked from declared sizes before any data is read.

A crafted file can declare far more than it holds: a deflated zip member that inflates
1000x, an ONNX tensor whose declared length onnx's shape inference turns into as many
values. The checks here read only sizes (a file's length, a zip's central directory);
``heap_budget`` bounds what a library may allocate where no size can be checked first.
"""

from __future__ import annotations

import contextlib
import os
import threading
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from workbench.core.errors import ModelLoadError
from workbench.core.units import human_bytes

PROTOBUF_LIMIT = 2**31 - 1  # protobuf parses no message (no ONNX file) over 2 GiB
# torch.save stores every member uncompressed, and weights hardly compress (about 1.1x);
# a deflated member that inflates more than this is a zip bomb, not a model.
INFLATE_RATIO_LIMIT = 100
FREELY_COMPRESSED = 16 << 20  # members up to this size may compress any amount

_heap_lock = threading.Lock()


def total_memory() -> int | None:
    """Physical memory in bytes, None where the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def available_memory() -> int | None:
    """Bytes a process can still get without swapping (Linux's MemAvailable), or None."""
    return _proc_bytes("/proc/meminfo", "MemAvailable:")


def require_memory(label: str, needed: int, what: str) -> None:
    """Refuse in one line what needs more memory than the system has free."""
    free = available_memory()
    if free is not None and needed > free:
        raise ModelLoadError(
            f"{label} needs about {human_bytes(needed)} of memory {what}, but only "
            f"{human_bytes(free)} is free; close other programs or use a machine with more"
        )


def check_onnx_size(label: str, size: int) -> None:
    """Before an ONNX file is read whole: protobuf's ceiling, then free memory."""
    if size > PROTOBUF_LIMIT:
        raise ModelLoadError(
            f"{label} is {human_bytes(size)}; protobuf cannot parse an ONNX file over 2 GiB, "
            "so a model this large must keep its weights in external data files "
            "(onnx.save_model(..., save_as_external_data=True))"
        )
    require_memory(label, 2 * size, "to read")  # the file's bytes, then the parsed model


def check_zip_sizes(path: Path, members: Sequence[zipfile.ZipInfo], size: int) -> None:
    """Refuse an archive whose central directory declares more than it can hold.

    A stored member's bytes must lie inside the file; a compressed one may inflate at
    most ``INFLATE_RATIO_LIMIT`` times; all of them together must fit in free memory,
    since torch.load reads every record whole. Nothing is inflated to check.
    """
    total = 0
    for info in members:
        if info.header_offset + info.compress_size > size:
            raise ModelLoadError(
                f"{path.name}: zip member {info.filename} declares {info.compress_size} "
                "bytes beyond the end of the file; it is truncated or corrupt"
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > FREELY_COMPRESSED and ratio > INFLATE_RATIO_LIMIT:
            raise ModelLoadError(
                f"{path.name}: zip member {info.filename} would inflate {ratio:,.0f}x, from "
                f"{human_bytes(info.compress_size)} to {human_bytes(info.file_size)}; "
                "PyTorch stores its members uncompressed, so this is a zip bomb, not a model"
            )
        total += info.file_size
    require_memory(path.name, total, "to unpack")


def check_zip_file(path: Path) -> list[zipfile.ZipInfo]:
    """The archive's central directory, its declared sizes checked (``check_zip_sizes``)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
        size = path.stat().st_size
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ModelLoadError(
            f"{path.name} looks like a zip archive but cannot be opened ({exc}); "
            "it is truncated or corrupt"
        ) from None
    check_zip_sizes(path, members, size)
    return members


@contextlib.contextmanager
def heap_budget(extra: int) -> Iterator[None]:
    """Let the block allocate about ``extra`` more bytes; past that, MemoryError.

    For libraries that offer no budget of their own (onnx's shape inference allocates in
    C++ from sizes a file declares): the process's data limit is lowered for the block and
    restored after. Linux counts every heap and private mapping in RLIMIT_DATA; elsewhere
    (or without /proc) this does nothing. The limit is per process, so it is set only
    while no other Python thread runs (the command line): in the app a training run or a
    benchmark in a worker would share it and fail; the app parses new files in the capped
    child (``io.isolated``) instead. The lock keeps set-and-restore pairs whole.
    """
    used = _data_size()
    if used is None or threading.active_count() > 1:
        yield
        return
    import resource

    with _heap_lock:
        soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        wanted = used + extra
        if hard != resource.RLIM_INFINITY:
            wanted = min(wanted, hard)
        if soft != resource.RLIM_INFINITY:
            wanted = min(wanted, soft)  # a tighter cap (the isolated parser's) stays
        resource.setrlimit(resource.RLIMIT_DATA, (wanted, hard))
        try:
            yield
        finally:
            resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def _data_size() -> int | None:
    """The bytes RLIMIT_DATA counts for this process now (VmData), None off Linux."""
    return _proc_bytes("/proc/self/status", "VmData:")


def _proc_bytes(path: str, key: str) -> int | None:
    """A ``KEY: N kB`` line of a Linux /proc file, in bytes; None where there is none."""
    try:
        with open(path, encoding="ascii") as lines:
            for line in lines:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
