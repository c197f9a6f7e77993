"""What exists: models, datasets, passes and runtimes, as small declarations.

This module holds the entry types and the ``Registry`` container only; it knows no
built-in. ``workbench.core.catalogue`` fills the process-wide registry with the
built-ins and the plugins (``get_registry()``). Built-ins and plugins register the
same way. An entry names its implementation as a
``"module:attribute"`` string that is imported only when the entry is used, so listing
what exists never imports torch (napari's npe2 manifests work the same way).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from workbench.core.errors import ArchitectureError, DataError, WorkbenchError
from workbench.core.io.loaded import InputSpec


def resolve(reference: str) -> Any:
    """Import ``"package.module:attribute"`` (or ``"path/to/file.py:attribute"``) and
    return the attribute."""
    if ".py:" in reference:  # a file: the last colon separates it (Windows drives have one)
        module_name, sep, attribute = reference.rpartition(":")
    else:
        module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise ArchitectureError(f"{reference!r} is not of the form package.module:factory")
    try:
        if module_name.endswith(".py"):
            module = _import_file(Path(module_name).expanduser())
        else:
            module = importlib.import_module(module_name)
    except WorkbenchError:
        raise
    except ModuleNotFoundError as exc:
        raise ArchitectureError(
            f"cannot import module {module_name!r}: {exc}; the module must be importable "
            "(run from the folder above its package with PYTHONPATH=.), or name its file: "
            "path/to/file.py:factory"
        ) from exc
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


def _import_file(path: Path) -> Any:
    """The module in ``path``, imported once under a name of its own; its folder is on
    ``sys.path`` while it runs, so it can import the modules beside it."""
    if not path.is_file():
        raise ArchitectureError(f"{path} does not exist (an architecture file:factory)")
    path = path.resolve()
    name = f"workbench_user_arch.{path.stem}_{abs(hash(str(path))):x}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ArchitectureError(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    finally:
        sys.path.remove(str(path.parent))
    return module


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


@dataclass(frozen=True)
class PassEntry:
    """A compression pass (``workbench passes``; a recipe step's ``pass:``; a wizard page).

    ``cls`` names a ``workbench.core.compress.Pass`` subclass; its config dataclass is
    the form, the CLI flags and the recipe step. ``title`` and ``description`` are here
    too so a list of passes can be shown without importing any of them.
    """

    name: str
    cls: str  # "module:Class", imported by load()
    title: str
    description: str
    source: str = "builtin"

    def load(self) -> Any:
        """The Pass class (imports its module)."""
        # Not at the top: importing workbench.core.compress runs its __init__, whose
        # built-in declarations import this module (a runtime cycle through the package).
        from workbench.core.compress.base import Pass

        target = resolve(self.cls)
        if not (isinstance(target, type) and issubclass(target, Pass)):
            raise WorkbenchError(f"pass {self.name!r}: {self.cls} is not a Pass subclass")
        return target


@dataclass(frozen=True)
class RuntimeEntry:
    """A runtime a benchmark can run a model on (``--runtime NAME``).

    ``factory`` names ``f(model: LoadedModel, *, device: str, threads: int | None) ->
    runner``, a runner having ``prepare(feed) -> prepared``, ``__call__(prepared)`` (the
    timed call) and ``outputs(feed) -> list[np.ndarray]``, as ``core.measure.runners``.
    """

    name: str
    factory: str  # "module:callable"
    title: str
    description: str
    frameworks: tuple[str, ...] = ("onnx", "pytorch")  # LoadedModel.framework it runs
    source: str = "builtin"

    def create(self, model: Any, **kwargs: Any) -> Any:
        return resolve(self.factory)(model, **kwargs)


KINDS = ("models", "datasets", "passes", "runtimes")  # a plugin contributes these


class Registry:
    """The one place that says what exists."""

    def __init__(self) -> None:
        self.models: dict[str, ModelEntry] = {}
        self.datasets: dict[str, DatasetEntry] = {}
        self.passes: dict[str, PassEntry] = {}
        self.runtimes: dict[str, RuntimeEntry] = {}
        self._contributor: str | None = None  # the plugin whose register() is running
        self._contributed: dict[str, list[str]] = {}

    def add_model(self, entry: ModelEntry) -> None:
        self.models[entry.name] = self._stamp("models", entry)

    def add_dataset(self, entry: DatasetEntry) -> None:
        self.datasets[entry.name] = self._stamp("datasets", entry)

    def add_pass(self, entry: PassEntry) -> None:
        self.passes[entry.name] = self._stamp("passes", entry)

    def add_runtime(self, entry: RuntimeEntry) -> None:
        self.runtimes[entry.name] = self._stamp("runtimes", entry)

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

    def pass_(self, name: str) -> PassEntry:
        try:
            return self.passes[name]
        except KeyError:
            known = ", ".join(sorted(self.passes)) or "none"
            raise WorkbenchError(f"no pass named {name!r} (known: {known})") from None

    def runtime(self, name: str) -> RuntimeEntry:
        try:
            return self.runtimes[name]
        except KeyError:
            known = ", ".join(sorted(self.runtimes)) or "none"
            raise WorkbenchError(f"no runtime named {name!r} (known: {known})") from None

    @contextlib.contextmanager
    def contributions(self, plugin: str) -> Iterator[dict[str, list[str]]]:
        """While a plugin registers: stamp its entries, list them, undo all if it fails.

        A plugin may not replace an entry that exists (a built-in or another plugin's):
        that is an error, so two plugins never silently fight over a name.
        """
        saved = {kind: dict(getattr(self, kind)) for kind in KINDS}
        self._contributor, self._contributed = plugin, {}
        try:
            yield self._contributed
        except BaseException:
            for kind, entries in saved.items():
                setattr(self, kind, entries)
            raise
        finally:
            self._contributor = None

    def _stamp(self, kind: str, entry: Any) -> Any:
        if self._contributor is None:
            return entry
        existing = getattr(self, kind).get(entry.name)
        if existing is not None:
            raise WorkbenchError(
                f"{kind[:-1]} {entry.name!r} is already registered (by {existing.source})"
            )
        self._contributed.setdefault(kind, []).append(entry.name)
        return replace(entry, source=self._contributor)
