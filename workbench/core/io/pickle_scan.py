"""Which Python globals a pickle would import, found by reading its opcodes, never running it.

``torch.load(weights_only=True)`` already refuses such pickles; this module only says *what*
they need, so the refusal can name it. Nothing here unpickles anything.
"""

from __future__ import annotations

import pickletools
import zipfile
from pathlib import Path
from typing import IO

from workbench.core.io.limits import check_zip_file

# torch.save's legacy (non-zip) stream starts with this number, pickled on its own.
_TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
# Legacy torch.save writes: magic, protocol, sys_info, the object, storage keys.
_TORCH_LEGACY_PICKLES = 5
# A data.pkl declared larger than this is not scanned (the refusal then names nothing);
# real ones hold a few kilobytes to megabytes of opcodes, the tensors live elsewhere.
_MAX_SCANNED_MEMBER = 64 << 20
_KEPT_ARGS = 16  # enough to see the legacy magic, which is the first pickle's first argument

_STRING_OPS = {
    "UNICODE",
    "BINUNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE8",
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
}
_PUT_OPS = {"PUT", "BINPUT", "LONG_BINPUT"}
_GET_OPS = {"GET", "BINGET", "LONG_BINGET"}


def _globals_in_one_pickle(stream: IO[bytes]) -> tuple[list[str], list[object]]:
    """The globals named by the pickle at the stream's position, and its top-level args.

    ``STACK_GLOBAL`` takes its module and name from the two strings pushed before it;
    they are tracked through the memo the way CPython's pickler writes them. A pickle
    crafted to hide the names only makes the list shorter: the refusal itself comes
    from torch's weights-only unpickler, not from this list.
    """
    found: list[str] = []
    args: list[object] = []
    memo: dict[int, object] = {}
    pushed: list[object] = []  # values pushed by string / memo-get opcodes, newest last
    last: object = None  # what the previous opcode pushed, if it was a string
    for opcode, arg, _pos in pickletools.genops(stream):
        name = opcode.name
        if len(args) < _KEPT_ARGS:
            args.append(arg)
        current: object = None
        if name in ("GLOBAL", "INST"):
            module, _, attr = str(arg).partition(" ")
            found.append(f"{module}.{attr}")
        elif name == "STACK_GLOBAL":
            if len(pushed) >= 2 and all(isinstance(v, str) for v in pushed[-2:]):
                found.append(f"{pushed[-2]}.{pushed[-1]}")
            else:
                found.append("<hidden global>")
        elif name in _STRING_OPS:
            current = arg.decode("latin-1") if isinstance(arg, bytes) else arg
            pushed.append(current)
        elif name == "MEMOIZE":
            memo[len(memo)] = last
        elif name in _PUT_OPS and isinstance(arg, int):
            memo[arg] = last
        elif name in _GET_OPS and isinstance(arg, int):
            current = memo.get(arg)
            pushed.append(current)
        if name not in ("MEMOIZE", *_PUT_OPS):
            last = current
        if len(pushed) > 64:
            del pushed[:-8]
    return found, args


def globals_in_pickle_file(path: Path) -> list[str]:
    """All globals in a legacy pickle file (torch's multi-pickle stream or a plain pickle)."""
    found: list[str] = []
    with path.open("rb") as stream:
        try:
            first, args = _globals_in_one_pickle(stream)
        except Exception:
            return found
        found += first
        if _TORCH_LEGACY_MAGIC not in args:
            return found
        for _ in range(_TORCH_LEGACY_PICKLES - 1):
            try:
                more, _args = _globals_in_one_pickle(stream)
            except Exception:
                break
            found += more
    return found


def is_torch_legacy_stream(path: Path) -> bool:
    """Whether a non-zip file starts the way torch.save's legacy format does."""
    with path.open("rb") as stream:
        try:
            _found, args = _globals_in_one_pickle(stream)
        except Exception:
            return False
    return _TORCH_LEGACY_MAGIC in args


def data_pkl_member(archive: zipfile.ZipFile) -> str | None:
    """The ``<prefix>/data.pkl`` member of a torch.save zip, if any."""
    for info in archive.infolist():
        if info.filename.rsplit("/", 1)[-1] == "data.pkl" and info.filename.count("/") <= 1:
            return info.filename
    return None


def globals_in_zip_checkpoint(path: Path) -> list[str]:
    """All globals in the ``data.pkl`` of a torch.save zip archive.

    The member is streamed, never read whole, and only when its declared size is small:
    zipfile inflates no more than the central directory declares.
    """
    with zipfile.ZipFile(path) as archive:
        member = data_pkl_member(archive)
        if member is None or archive.getinfo(member).file_size > _MAX_SCANNED_MEMBER:
            return []
        with archive.open(member) as stream:
            try:
                found, _args = _globals_in_one_pickle(stream)
            except Exception:
                return []
    return found


def unsafe_globals(path: Path, *, is_zip: bool) -> list[str]:
    """Globals the checkpoint needs that torch's weights-only loader does not allow, sorted.

    For zip checkpoints torch's own ``get_unsafe_globals_in_checkpoint`` is asked first;
    it reads protocol-2 pickles only, so other protocols and legacy files are scanned here.
    """
    from torch import serialization

    if is_zip:
        check_zip_file(path)  # torch's reader inflates data.pkl whole
        try:
            return sorted(set(serialization.get_unsafe_globals_in_checkpoint(str(path))))
        except Exception:
            found = globals_in_zip_checkpoint(path)
    else:
        found = globals_in_pickle_file(path)
    return sorted(set(found) - _allowed_globals())


def _allowed_globals() -> set[str]:
    try:
        from torch import _weights_only_unpickler

        allowed = set(_weights_only_unpickler._get_allowed_globals())
        allowed |= set(_weights_only_unpickler._get_user_allowed_globals())
        return allowed
    except Exception:  # a private API: without it every global is listed
        return set()
