"""What an opened model is, whatever file it came from."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ModelFormat(str, enum.Enum):
    ONNX = "onnx"
    TORCHSCRIPT = "torchscript"
    EXPORTED_PROGRAM = "exported-program"  # torch.export .pt2
    STATE_DICT = "state-dict"  # torch.save of tensors, paired with an architecture
    SAFETENSORS = "safetensors"  # paired with an architecture
    PICKLED_MODULE = "pickled-module"  # torch.save(nn.Module): opens only with trust
    ZOO = "zoo"  # an architecture (built-in or --arch) with fresh seeded weights
    HF_FOLDER = "hf-folder"  # a Hugging Face save_pretrained folder (config.json + weights)

    @property
    def framework(self) -> str:
        return "onnx" if self is ModelFormat.ONNX else "pytorch"


@dataclass(frozen=True)
class InputSpec:
    """One model input: its name, a concrete example shape (batch first) and dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"

    def describe(self) -> str:
        return f"{self.name}: {self.dtype}[{'x'.join(str(d) for d in self.shape)}]"


@dataclass
class LoadedModel:
    """An opened model. Exactly one of ``module`` / ``onnx_model`` is set.

    ``module`` is a torch ``nn.Module`` (or a TorchScript / exported-program module);
    ``onnx_model`` an ``onnx.ModelProto`` with external data already resolved.
    """

    format: ModelFormat
    path: Path | None
    inputs: list[InputSpec]
    module: Any = None
    onnx_model: Any = None
    exported_program: Any = None
    arch: str | None = None  # zoo name or module:factory the weights were paired with
    dataset: str | None = None  # the registered dataset the model is meant for
    num_classes: int | None = None
    file_size: int = 0
    notes: list[str] = field(default_factory=list)
    # Names for the module's outputs and the axes export keeps dynamic, by input or
    # output name (e.g. {"input_ids": {0: "batch", 1: "sequence"}}); None/empty: unknown.
    output_names: list[str] | None = None
    dynamic_axes: dict[str, dict[int, str]] = field(default_factory=dict)
    # The folder whose tokenizer turns texts into this model's inputs (a Hugging Face
    # folder, or a variant folder made from one); None: the model reads no text.
    tokenizer: Path | None = None

    @property
    def framework(self) -> str:
        return self.format.framework

    @property
    def image_size(self) -> tuple[int, int] | None:
        """(height, width) of an image input (N, C, H, W) with fixed sides: the size an
        image folder is read at for this model (None: not an image model, or open sides)."""
        if len(self.inputs) != 1 or not self.inputs[0].dtype.startswith("float"):
            return None
        shape = self.inputs[0].shape
        if len(shape) == 4 and all(isinstance(s, int) and s > 0 for s in shape[2:]):
            return int(shape[2]), int(shape[3])
        return None

    @property
    def display_name(self) -> str:
        if self.path is not None:
            return self.path.name
        return self.arch or self.format.value
