"""The one graph model and the translators that fill it from ONNX and PyTorch models.

Importing this package imports neither torch nor onnx: each translator imports what it
needs when called, so describing an ONNX file never pays for torch.
"""

from __future__ import annotations

from workbench.core.graph.from_onnx import from_onnx
from workbench.core.graph.from_torch import from_exported_program, from_torch
from workbench.core.graph.from_torchscript import from_torchscript
from workbench.core.graph.model import Graph, Node, TensorInfo, WeightInfo
from workbench.core.graph.summary import summarize
from workbench.core.io.loaded import LoadedModel, ModelFormat

__all__ = [
    "Graph",
    "Node",
    "TensorInfo",
    "WeightInfo",
    "from_exported_program",
    "from_model",
    "from_onnx",
    "from_torch",
    "from_torchscript",
    "summarize",
]


def from_model(loaded: LoadedModel) -> Graph:
    """Describe whatever was loaded, choosing the translator by its format."""
    name = loaded.display_name
    if loaded.format is ModelFormat.ONNX:
        return from_onnx(loaded.onnx_model, name=name, inputs=loaded.inputs)
    if loaded.format is ModelFormat.TORCHSCRIPT:
        return from_torchscript(loaded.module, loaded.inputs, name=name)
    if loaded.exported_program is not None:
        return from_exported_program(loaded.exported_program, name=name, inputs=loaded.inputs)
    return from_torch(loaded.module, loaded.inputs, name=name)
