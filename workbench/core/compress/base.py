"""What a compression pass is: a declared config, a check, and one ``apply``.

The shape follows Olive's ``olive_pass.py`` (a pass subclasses one base, declares typed
config parameters with defaults and help, and runs in one method) and Orange's
declared settings: the config dataclass is written once, and the wizard page
(``workbench.ui.config_form``), the CLI flags and the recipe step
(``workbench.core.config_schema``) are generated from it.

A pass never changes its input: ``apply`` returns a new ``LoadedModel`` (modules
deep-copied) with the figures it measured and honest notes.
"""

from __future__ import annotations

import copy
import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from workbench.core.config_schema import config_from_dict, validate_config
from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel, ModelFormat

_WHAT_TO_OPEN = {
    "pytorch": "open the PyTorch model instead (a checkpoint with --arch, or zoo:NAME)",
    "onnx": "export it to ONNX first (workbench export), then apply this pass to the .onnx",
}


@dataclass
class PassResult:
    """What a pass made: a new model, the figures it measured, remarks for the user."""

    model: LoadedModel  # new; never the input object
    metrics: dict[str, Any] = field(default_factory=dict)  # e.g. {"sparsity": 0.5}
    notes: list[str] = field(default_factory=list)  # e.g. "dense runtimes gain no speed"


class Pass(ABC):
    """A compression step. Subclass, declare the class attributes, implement ``apply``.

    ``config_class`` is a plain dataclass; each field's ``metadata`` may carry ``help``,
    ``choices``, ``min``, ``max``, ``label`` and ``flag`` (see ``config_schema``).
    Heavy libraries (torch, onnx) are imported inside ``apply``, so importing a pass
    module to read its config stays cheap.
    """

    name: ClassVar[str]  # "random-prune": the CLI and recipe name
    title: ClassVar[str]  # "Random pruning (control)"
    description: ClassVar[str]  # plain-language explanation shown in the wizard
    config_class: ClassVar[type]
    frameworks: ClassVar[tuple[str, ...]] = ("pytorch",)  # LoadedModel.framework accepted

    def check(self, model: LoadedModel) -> None:
        """Raise ``WorkbenchError`` saying what to do instead when the pass cannot apply."""
        if model.framework not in self.frameworks:
            wanted = " or ".join(self.frameworks)
            hint = _WHAT_TO_OPEN.get(self.frameworks[0], "")
            raise WorkbenchError(
                f"{self.name} works on {wanted} models; {model.display_name} is "
                f"{model.framework}: {hint}".rstrip(": ")
            )
        if model.framework == "pytorch" and model.module is None:
            raise WorkbenchError(f"{model.display_name} has no PyTorch module to change")
        if model.format is ModelFormat.TORCHSCRIPT and "torchscript" not in self.frameworks:
            raise WorkbenchError(
                f"{self.name} cannot change a TorchScript archive ({model.display_name}); "
                "open the model's checkpoint with --arch instead"
            )

    @abstractmethod
    def apply(self, model: LoadedModel, config: Any, ctx: RunContext) -> PassResult:
        """Make the compressed model; report progress and honour cancel through ``ctx``."""


def copy_model(model: LoadedModel, **changes: Any) -> LoadedModel:
    """A new ``LoadedModel`` with its module (or ONNX proto) deep-copied.

    The exported program is dropped: it describes the input's weights, not the copy's.
    ``changes`` replace fields (``notes=``, ``onnx_model=``, ...).
    """
    fresh: dict[str, Any] = {
        "module": copy.deepcopy(model.module) if model.module is not None else None,
        "onnx_model": copy.deepcopy(model.onnx_model) if model.onnx_model is not None else None,
        "exported_program": None,
        "inputs": list(model.inputs),
        "notes": list(model.notes),
    }
    fresh.update(changes)
    return dataclasses.replace(model, **fresh)


def run_pass(
    pass_class: type[Pass],
    model: LoadedModel,
    config: Any,
    ctx: RunContext | None = None,
    *,
    where: str | None = None,
) -> PassResult:
    """Validate ``config`` (a dataclass instance or a recipe dict), check, apply.

    The one way the CLI, the wizard and recipes run a pass, so each gets the same
    validation and the same guarantee that the input model is not the output.
    ``where`` prefixes validation messages (default: the pass name; a recipe passes
    ``"step 2 (prune)"``).
    """
    where = where or pass_class.name
    if isinstance(config, dict):
        config = config_from_dict(pass_class.config_class, config, where=where)
    elif isinstance(config, pass_class.config_class):
        validate_config(config, where=where)
    else:
        raise WorkbenchError(
            f"{pass_class.name}: expected a {pass_class.config_class.__name__}, "
            f"got {type(config).__name__}"
        )
    instance = pass_class()
    instance.check(model)
    result = instance.apply(model, config, ctx or RunContext())
    if result.model is model or (model.module is not None and result.model.module is model.module):
        raise WorkbenchError(f"{pass_class.name} returned its input model instead of a new one")
    return result
