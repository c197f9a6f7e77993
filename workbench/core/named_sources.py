"""Models named rather than opened from a file: ``zoo:NAME``, ``tv:NAME``, ``timm:NAME``.

A leaf module (it imports nothing), so that the project, folders and measurements can
tell a named model from a file without importing the loaders.
"""

from __future__ import annotations

LIBRARY_PREFIXES = ("tv:", "timm:")  # torchvision's and timm's models, by name
NAMED_PREFIXES = ("zoo:", *LIBRARY_PREFIXES)


def is_named_source(text: str | object) -> bool:
    """A model named rather than a file: built fresh from the zoo or a library, so there
    is nothing on disk to read, copy or distrust."""
    return str(text).startswith(NAMED_PREFIXES)


def named_source(arch: str) -> str:
    """The source text of a freshly built architecture: ``tv:resnet50`` as it is, a zoo
    name with its ``zoo:`` prefix."""
    return arch if is_named_source(arch) else f"zoo:{arch}"
