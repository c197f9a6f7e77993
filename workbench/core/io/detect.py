"""What kind of model file a path holds, told from its bytes rather than its name.

Detection never runs anything from the file: zip archives are told apart by their
member names, pickles by their opcodes, ONNX by parsing the protobuf (no external data).
Nothing is read or inflated before its declared size is checked (see ``limits``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.data.npz import is_npz, refuse_object_arrays
from workbench.core.errors import ModelLoadError
from workbench.core.io.limits import check_onnx_size, check_zip_file
from workbench.core.io.loaded import ModelFormat
from workbench.core.io.pickle_scan import unsafe_globals
from workbench.core.io.proto_slices import parse_in_slices

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_READ_HINT = (
    "expected ONNX, TorchScript, a torch.export .pt2, a torch.save checkpoint or safetensors"
)


@dataclass
class Detected:
    """The format of a file, plus what detection already parsed (the ONNX proto)."""

    format: ModelFormat
    size: int
    is_zip: bool = False
    onnx_model: Any = None


def detect_format(path: Path) -> ModelFormat:
    """The model format of ``path``, from its content; raises ModelLoadError when unknown."""
    return sniff(Path(path)).format


def check_file(path: Path) -> int:
    """The file's size; a clear error for a missing path, a folder or an empty file."""
    try:
        if path.is_dir():
            raise ModelLoadError(
                f"{path.name} is a folder, not a model file (nor a variant folder with "
                "variant.json or a Hugging Face folder with config.json); give the file inside it"
            )
        size = path.stat().st_size
    except FileNotFoundError:
        raise ModelLoadError(f"{path}: no such file; check the path") from None
    except OSError as exc:
        raise ModelLoadError(f"{path.name} cannot be read: {exc.strerror or exc}") from None
    if size == 0:
        raise ModelLoadError(f"{path.name} is empty (0 bytes); export or copy the model again")
    return size


def sniff(path: Path) -> Detected:
    """Detect the format and keep anything parsed on the way (see ``Detected``)."""
    size = check_file(path)
    try:
        with path.open("rb") as stream:
            head = stream.read(64)
    except OSError as exc:
        raise ModelLoadError(f"{path.name} cannot be read: {exc.strerror or exc}") from None
    if head.startswith(_ZIP_MAGICS):
        return Detected(_zip_format(path), size, is_zip=True)
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return Detected(_pickle_format(path, is_zip=False), size)
    if _looks_like_safetensors(head, size):
        return Detected(ModelFormat.SAFETENSORS, size)
    if path.suffix.lower() == ".safetensors":
        raise ModelLoadError(
            f"{path.name} is not a valid safetensors file (its header length or start is "
            "wrong: truncated or corrupt); save it again"
        )
    if path.suffix.lower() == ".onnx" or head[:1] == b"\x08":
        return Detected(ModelFormat.ONNX, size, onnx_model=parse_onnx(path, size))
    raise ModelLoadError(
        f"{path.name} is not a model format workbench reads "
        f"(it starts with bytes {head[:8].hex(' ')}); {_READ_HINT}"
    )


def parse_onnx(path: Path, size: int | None = None) -> Any:
    """The ModelProto in ``path`` with external data left on disk (checked later)."""
    import onnx

    check_onnx_size(path.name, check_file(path) if size is None else size)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelLoadError(f"{path.name} cannot be read: {exc.strerror or exc}") from None
    model = onnx.ModelProto()
    try:
        parse_in_slices(model, data)  # the GUI thread runs between slices of a big file
    except Exception as exc:
        if isinstance(exc, MemoryError) or "alloc failed" in str(exc):  # upb's out-of-memory
            raise MemoryError(f"{path.name}: out of memory parsing the protobuf") from None
        raise ModelLoadError(
            f"{path.name} is not a valid ONNX model (the protobuf does not parse: the file is "
            "truncated or corrupt); export it again"
        ) from None
    if not model.HasField("graph") or not model.graph.node:
        raise ModelLoadError(
            f"{path.name} is not a valid ONNX model (it has no graph nodes); export it again"
        )
    if not model.opset_import:
        raise ModelLoadError(
            f"{path.name} is not a valid ONNX model (it declares no opset); export it again"
        )
    return model


def zip_members(path: Path) -> set[str]:
    """Member names of a torch zip archive with their top-level folder removed.

    The central directory's declared sizes are checked here, before any reader (torch's,
    the pickle scan, numpy's) inflates a member.
    """
    names = (info.filename for info in check_zip_file(path))
    return {name.split("/", 1)[1] if "/" in name else name for name in names}


def _zip_format(path: Path) -> ModelFormat:
    members = zip_members(path)
    # torch.load itself treats any archive with constants.pkl as TorchScript (code/ holds
    # the code); matching its rule keeps such a file from reaching the checkpoint path.
    if "constants.pkl" in members:
        return ModelFormat.TORCHSCRIPT
    if (
        "archive_format" in members
        or "serialized_exported_program.json" in members
        or any(m.startswith("models/") and m.endswith(".json") for m in members)
    ):
        return ModelFormat.EXPORTED_PROGRAM
    if "data.pkl" in members:
        return _pickle_format(path, is_zip=True)

    if is_npz(members):
        refuse_object_arrays(path)
        raise ModelLoadError(
            f"{path.name} is a NumPy .npz archive of arrays (data, not a model); {_READ_HINT}"
        )
    raise ModelLoadError(
        f"{path.name} is a zip archive but not a PyTorch file "
        f"(no data.pkl, code/ or archive_format inside); {_READ_HINT}"
    )


def _pickle_format(path: Path, *, is_zip: bool) -> ModelFormat:
    """STATE_DICT when the pickle needs only what torch's weights-only loader allows."""

    if unsafe_globals(path, is_zip=is_zip):
        return ModelFormat.PICKLED_MODULE
    return ModelFormat.STATE_DICT


def _looks_like_safetensors(head: bytes, size: int) -> bool:
    """An 8-byte little-endian header length that fits the file, then ``{``.

    The JSON header itself is checked when the file is loaded, so a corrupt header is
    reported as a corrupt safetensors file rather than as an unknown format.
    """
    if len(head) < 10:
        return False
    (header_len,) = struct.unpack("<Q", head[:8])
    return 2 <= header_len <= size - 8 and head[8:9] == b"{"
