"""Paths a file names, kept inside the folder that file lives in.

An ONNX model's external data and a project's artifacts are paths written by whoever
made the file. Read as given, ``/etc/passwd`` or ``../../secret`` would be opened (and
their first bytes shown in an error), so every such path goes through ``confined``.
"""

from __future__ import annotations

import os
from pathlib import Path


class OutsideFolder(ValueError):
    """The path is absolute, climbs out with ``..``, or is a link leading out."""

    def __init__(self, kind: str, location: str, target: str = "") -> None:
        super().__init__(f"{location!r} is {kind}")
        self.kind = kind  # "absolute", "climbing" or "link"
        self.location = location
        self.target = target  # for a link: where it leads


def confined(folder: Path | str, location: str) -> Path:
    """``folder / location``, once ``location`` (relative, as a file wrote it) is known
    to resolve inside ``folder`` (links followed)."""
    if (
        not location
        or "\x00" in location
        or os.path.isabs(location)
        or location.startswith(("/", "\\"))
        or (len(location) >= 2 and location[1] == ":" and location[0].isalpha())  # C:
    ):
        raise OutsideFolder("absolute", location)
    if ".." in location.replace("\\", "/").split("/"):
        raise OutsideFolder("climbing", location)
    root = os.path.realpath(folder)
    target = os.path.realpath(os.path.join(root, location))
    if os.path.commonpath([root, target]) != root:
        raise OutsideFolder("link", location, target)
    return Path(folder) / location
