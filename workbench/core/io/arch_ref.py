"""Architecture references, parsed once: a zoo name is data, ``package.module:factory`` is code.

A string that names an architecture reaches the workbench from the command line
(``--arch``, the user's own choice) or from a file: a variant folder's ``variant.json``,
a project's ``project.json``, a recipe step. Building ``module:factory`` imports that
module and calls it, which runs code with the user's permissions, so a reference read
from a file may be built only when the user trusted that file (``--trust``, or the
app's trust dialog). ``ArchRef`` carries the verdict and the place it came from, so the
refusal can name the file and the field.

    zoo:NAME[:key=value,...]   always a zoo reference (the prefix says so)
    NAME                       a zoo reference (no colon)
    NAME:key=value,...         a zoo reference when NAME is a registered model or an
                               option is given (a factory reference has no ``=``)
    package.module:factory     code
    path/to/file.py:factory    code, imported from that file (no PYTHONPATH needed)
    tv:NAME[:key=value,...]    a torchvision classifier by name (data: no code of the
    timm:NAME[:key=value,...]  user's runs), timm's likewise (core/models/backbones.py)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.config_schema import fields_of
from workbench.core.errors import ArchitectureError, TrustRequired
from workbench.core.named_sources import is_named_source

_DOTTED = r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*"
_CODE = re.compile(rf"({_DOTTED}):({_DOTTED})")
_FILE = re.compile(rf"(.+\.py):({_DOTTED})")  # the last colon: "C:\\nets\\m.py:build" too
USER_ORIGIN = "--arch"


@dataclass(frozen=True)
class ArchRef:
    """One architecture reference and whether the place it came from is trusted."""

    text: str  # as written: "resnet_shapes:width=0.25", "mynets.models:build"
    is_code: bool  # True: building it imports and calls Python code
    trusted: bool  # the user typed it, or trusted the file it came from
    origin: str = USER_ORIGIN  # where it came from, for messages ("T/variant.json field 'arch'")

    def require_trust(self) -> None:
        """Refuse a code reference from a file the user has not trusted."""
        if self.is_code and not self.trusted:
            raise TrustRequired(
                f"{self.origin} names architecture {self.text!r}, which imports code "
                f"(module {self.text.partition(':')[0]!r}) and runs it; pass --trust only if "
                "you trust where the file came from"
            )

    def __str__(self) -> str:
        return self.text


def is_code_reference(text: str) -> bool:
    """Whether ``text`` would import code (``package.module:factory``); zoo names are not."""
    text = text.strip()
    if is_named_source(text) or ":" not in text:
        return False
    if _FILE.fullmatch(text):
        return True
    match = _CODE.fullmatch(text)
    if match is None:  # options (k=v), a number after the colon, ...: never an import
        return False
    # Here, not at the top: the catalogue's modules import workbench.core.io (LoadedModel),
    # whose __init__ imports this module, so a top-level import would be a runtime cycle.
    from workbench.core.catalogue import get_registry

    return match.group(1) not in get_registry().models


def parse_arch(text: str, *, trusted: bool, origin: str = USER_ORIGIN) -> ArchRef:
    """``text`` as an ``ArchRef``; ``trusted`` says whether its source may run code."""
    if not isinstance(text, str) or not text.strip():
        raise ArchitectureError(f"{origin}: the architecture must be a non-empty name")
    text = text.strip()
    return ArchRef(text, is_code_reference(text), trusted, origin)


def user_arch(text: str | ArchRef | None) -> ArchRef | None:
    """An architecture the caller chose itself (``--arch``, a form): trusted as typed.

    A file reference is made absolute here, so the variant.json that records it still
    names the file when it is reopened from another folder."""
    if text is None or isinstance(text, ArchRef):
        return text
    return parse_arch(anchor_file(text, Path.cwd()), trusted=True)


def anchor_file(text: str, folder: Path) -> str:
    """``nets.py:build`` relative to ``folder`` as an absolute file reference; any other
    reference (a zoo name, ``package.module:factory``, an absolute path) as it is."""
    match = _FILE.fullmatch(text.strip())
    if match is None:
        return text
    path = Path(match.group(1)).expanduser()
    return text if path.is_absolute() else f"{(folder / path).resolve()}:{match.group(2)}"


def require_trust_for_code(config: Any, *, trusted: bool, where: str) -> None:
    """Refuse a config read from a file whose ``arch`` fields name code, unless trusted.

    The pass checks again when it builds the architecture (``ArchRef.require_trust``);
    this says so before anything runs, naming the file, the step and the field.
    """
    for spec in fields_of(type(config)):
        value = getattr(config, spec.name)
        if not spec.arch or value is None:
            continue
        for text in value if isinstance(value, (list, tuple)) else [value]:
            origin = f"{where} field {spec.name!r}"
            parse_arch(str(text), trusted=trusted, origin=origin).require_trust()
