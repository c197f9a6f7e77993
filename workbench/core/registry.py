"""What exists: models, datasets, passes and runtimes, as small declarations.

Built-ins and plugins register the same way. An entry names its implementation as a
``"module:attribute"`` string that is imported only when the entry is used, so listing
what exists never imports torch (napari's npe2 manifests work the same way).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from workbench.core.errors import ArchitectureError, DataError
from workbench.core.io.loaded import InputSpec


def resolve(reference: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise ArchitectureError(f"{reference!r} is not of the form package.module:factory")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # a module may fail to import with any error, not only ImportError
        raise ArchitectureError(
            f"cannot import module {module_name!r}: {type(exc).__name__}: {exc}"
        ) from exc
    target: Any = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ArchitectureError(
                f"module {module_name!r} has no attribute {attribute!r}"
            ) from None
    return target


@dataclass(frozen=True)
class ModelEntry:
    """A built-in (or plugin) architecture: ``zoo:NAME`` on the command line."""

    name: str
    factory: str  # "module:callable" returning an nn.Module; kwargs from zoo:NAME:k=v
    description: str
    dataset: str  # the dataset it is meant for
    inputs: tuple[InputSpec, ...]
    num_classes: int = 10
    task: str = "classification"
    source: str = "builtin"

    def build(self, seed: int = 0, **kwargs: Any) -> Any:
        """A fresh model with weights initialised from ``seed``."""
        import torch

        factory = resolve(self.factory)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = factory(**kwargs)
        module.eval()
        return module


@dataclass(frozen=True)
class DatasetEntry:
    """A dataset the workbench can load by name (``--data NAME``)."""

    name: str
    loader: str  # "module:callable" returning workbench.core.data.ArrayDataset
    description: str
    task: str
    input_shape: tuple[int, ...]  # one sample, no batch dimension
    num_classes: int
    source: str = "builtin"

    def load(self, **kwargs: Any) -> Any:
        return resolve(self.loader)(**kwargs)


class Registry:
    """The one place that says what exists."""

    def __init__(self) -> None:
        self.models: dict[str, ModelEntry] = {}
        self.datasets: dict[str, DatasetEntry] = {}

    def add_model(self, entry: ModelEntry) -> None:
        self.models[entry.name] = entry

    def add_dataset(self, entry: DatasetEntry) -> None:
        self.datasets[entry.name] = entry

    def model(self, name: str) -> ModelEntry:
        try:
            return self.models[name]
        except KeyError:
            known = ", ".join(sorted(self.models)) or "none"
            raise ArchitectureError(f"no architecture named {name!r} (built-in: {known})") from None

    def dataset(self, name: str) -> DatasetEntry:
        try:
            return self.datasets[name]
        except KeyError:
            known = ", ".join(sorted(self.datasets)) or "none"
            raise DataError(f"no dataset named {name!r} (built-in: {known})") from None


_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry with the built-ins declared (cheap: no torch import)."""
    global _registry
    if _registry is None:
        from workbench.core import zoo

        _registry = Registry()
        zoo.register_builtins(_registry)
    return _registry
