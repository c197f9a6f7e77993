"""Parse a large ONNX file's protobuf a few megabytes at a time, so other threads run.

upb's ``ParseFromString`` holds the GIL for the whole parse: about 200 ms for a
340 MB BERT, a window in which the app's GUI thread cannot run while a worker opens
the file. Protobuf merges a message field by field (repeated fields append in order,
embedded messages merge), so merging the model's fields, and the graph's fields inside
it, in slices of ``SLICE_BYTES`` builds the same ``ModelProto``, and the interpreter
can hand the GIL over between slices.

Written by hand because neither protobuf nor onnx parses incrementally. Only the wire
format's field keys and lengths are read here; every field's contents are parsed by
protobuf itself. Anything unexpected (a group, a length past the end) falls back to
one whole parse, which raises protobuf's own error for a corrupt file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

SLICE_BYTES = 4 << 20  # a few ms of parsing between chances for other threads
GRAPH_FIELD = 7  # ModelProto.graph
_LENGTH_DELIMITED, _VARINT, _FIXED64, _FIXED32 = 2, 0, 1, 5


class _Unexpected(Exception):
    """The bytes are not what this walker reads; the whole parse decides."""


def parse_in_slices(model: Any, data: bytes) -> None:
    """Merge ``data`` (a serialized ModelProto) into the empty ``model``."""
    view = memoryview(data)
    try:
        plan = list(_plan(view))
    except _Unexpected:
        model.ParseFromString(data)
        return
    for target, start, end in plan:
        (model.graph if target == "graph" else model).MergeFromString(view[start:end])


def _plan(view: memoryview) -> Iterator[tuple[str, int, int]]:
    """(``"model"`` or ``"graph"``, start, end): the slices to merge, in file order."""
    pending = None  # a run of consecutive top-level fields, merged as one slice
    for number, start, payload, end in _fields(view, 0, len(view)):
        if number == GRAPH_FIELD:
            if pending is not None:
                yield ("model", *pending)
                pending = None
            yield from (("graph", a, b) for a, b in _runs(view, payload, end))
        elif pending is not None and end - pending[0] <= SLICE_BYTES:
            pending = (pending[0], end)
        else:
            if pending is not None:
                yield ("model", *pending)
            pending = (start, end)
    if pending is not None:
        yield ("model", *pending)


def _runs(view: memoryview, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Consecutive fields of the message in ``view[start:end]``, grouped into slices of
    about ``SLICE_BYTES`` (one larger field is a slice of its own). An empty message
    still yields one empty slice: merging it marks the field present, as a parse does."""
    run_start = start
    for _number, field_start, _payload, field_end in _fields(view, start, end):
        if field_end - run_start > SLICE_BYTES and field_start > run_start:
            yield run_start, field_start
            run_start = field_start
    yield run_start, end


def _fields(view: memoryview, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, field start, payload start, field end) of each field."""
    at = start
    while at < end:
        key, payload = _varint(view, at, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise _Unexpected
        if wire == _LENGTH_DELIMITED:
            length, payload = _varint(view, payload, end)
            field_end = payload + length
        elif wire == _VARINT:
            field_end = _varint(view, payload, end)[1]
        elif wire == _FIXED64:
            field_end = payload + 8
        elif wire == _FIXED32:
            field_end = payload + 4
        else:  # groups (3, 4) are not in ONNX's schema
            raise _Unexpected
        if field_end > end:
            raise _Unexpected
        yield number, at, payload, field_end
        at = field_end


def _varint(view: memoryview, at: int, end: int) -> tuple[int, int]:
    """The varint at ``at`` and where the next byte is."""
    value = shift = 0
    while True:
        if at >= end or shift > 63:
            raise _Unexpected
        byte = view[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if byte < 0x80:
            return value, at
        shift += 7
