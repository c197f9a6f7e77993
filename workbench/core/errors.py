"""Errors the user sees as one line: the CLI prints them and exits 2, the GUI shows a dialog."""

from __future__ import annotations


class WorkbenchError(Exception):
    """A failure caused by the user's input, explained in one line.

    ``details`` holds optional longer text (the GUI's expandable details); the first
    argument is the one-line message.
    """

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.details = details

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ModelLoadError(WorkbenchError):
    """The file is missing, empty, corrupt, or not a model format we read."""


class UnsafeModelError(WorkbenchError):
    """Opening the file would run code from it (or read outside its folder) without trust."""


class TrustRequired(UnsafeModelError):
    """Opening or running it would import or run code from a file the user has not
    trusted; ``--trust`` (or the app's trust dialog) allows it. Unlike other unsafe
    input (external data leaving the model's folder), trust is the way past it."""


class ArchitectureError(WorkbenchError):
    """An architecture name or ``module:factory`` that does not exist or does not fit."""


class ArchitectureNeeded(ArchitectureError):
    """A weights-only file (state_dict, safetensors) opened without an architecture:
    ``--arch`` on the command line; the app asks for one and opens the file again."""


class DataError(WorkbenchError):
    """A dataset that is missing, malformed or unsafe to read."""
