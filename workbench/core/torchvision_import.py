"""Importing torchvision where its compiled operators were built for another torch build.

PyPI's torchvision wheel is built for PyPI's torch; beside another build of torch (a
CPU-only one, as on the development machines, or a CUDA one of another version) its C++
operators (nms, roi_align, ...) cannot load. torchvision then still imports by design,
but its ``_meta_registrations`` module registers shapes for those missing operators and
raises "operator torchvision::nms does not exist", which takes down every library that
imports torchvision when it is installed: timm, and transformers' modeling code (so a
BERT folder would not open). ``prepare_torchvision`` is called before those imports.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import types
import warnings
from typing import Any

from workbench.core.errors import ArchitectureError


def prepare_torchvision() -> None:
    """Import torchvision (through the workaround below) before a library that imports it
    when installed (transformers, timm); nothing when it is absent or already imported."""
    if "torchvision" in sys.modules or importlib.util.find_spec("torchvision") is None:
        return
    with contextlib.suppress(ArchitectureError):  # the library's own import then says why
        import_torchvision()


def import_torchvision() -> tuple[Any, str | None]:
    """torchvision, and a note when its compiled operators could not be loaded.

    A torchvision wheel built for another torch build (PyPI's CUDA wheel beside a CPU-only
    torch) cannot load its C++ operators (nms, roi_align, ...). torchvision then still
    imports, but its ``_meta_registrations`` registers shapes for those missing
    operators and fails ("operator torchvision::nms does not exist"), taking the whole
    package down. The classification models never call those operators, so this skips
    that one module; detection operators then fail when called, as torchvision intends
    for a missing extension. Only done when the plain import failed that way.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Failed to load image Python extension"
            import torchvision
    except ModuleNotFoundError:
        raise ArchitectureError(missing("torchvision")) from None
    except RuntimeError as exc:
        if "torchvision::" not in str(exc):
            raise ArchitectureError(f"torchvision cannot be imported: {_first_line(exc)}") from None
        for loaded in [
            m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")
        ]:
            del sys.modules[loaded]  # the half-imported package
        sys.modules["torchvision._meta_registrations"] = types.ModuleType(
            "torchvision._meta_registrations"
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import torchvision
    from torchvision.extension import _has_ops

    if _has_ops():
        return torchvision, None
    return torchvision, (
        f"torchvision {torchvision.__version__}'s compiled operators do not fit this torch "
        "build; its models work, its detection operators (nms, roi_align) do not"
    )


def missing(package: str) -> str:
    return f"{package} is not installed; pip install 'workbench[vision]' (or {package} itself)"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
