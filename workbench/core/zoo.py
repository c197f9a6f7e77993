"""The built-in architectures and datasets, declared (not imported) into the registry.

``zoo:NAME`` names an architecture with fresh seeded weights; ``zoo:NAME:width=0.5``
passes keyword arguments to its factory.
"""

from __future__ import annotations

from typing import Any

from workbench.core.errors import ArchitectureError
from workbench.core.io.loaded import InputSpec
from workbench.core.registry import DatasetEntry, ModelEntry, Registry

DIGITS = (1, 8, 8)
SHAPES = (3, 32, 32)
SEQUENCE_LENGTH = 32
LM_CONTEXT = 64  # stdlib-text's window; tiny_lm takes up to 128 tokens
LM_VOCAB = 2048


def register_builtins(registry: Registry) -> None:
    for entry in BUILTIN_DATASETS:
        registry.add_dataset(entry)
    for entry in BUILTIN_MODELS:
        registry.add_model(entry)


BUILTIN_DATASETS = (
    DatasetEntry(
        name="digits",
        loader="workbench.core.data.digits:load_digits",
        description="8x8 handwritten digits (UCI, 1,797 images), bundled",
        task="classification",
        input_shape=DIGITS,
        num_classes=10,
    ),
    DatasetEntry(
        name="shapes",
        loader="workbench.core.data.shapes:load_shapes",
        description="32x32 RGB drawn shapes, 10 classes, generated deterministically",
        task="classification",
        input_shape=SHAPES,
        num_classes=10,
    ),
    DatasetEntry(
        name="sequences",
        loader="workbench.core.data.sequences:load_sequences",
        description="token sequences carrying one of several planted patterns, generated",
        task="classification",
        input_shape=(SEQUENCE_LENGTH,),
        num_classes=8,
    ),
    DatasetEntry(
        name="stdlib-text",
        loader="workbench.core.data.stdlib_text:load_stdlib_text",
        description="English prose (docstrings, comments) of this Python's standard library",
        task="language-modeling",
        input_shape=(LM_CONTEXT,),
        num_classes=LM_VOCAB,
    ),
)

BUILTIN_MODELS = (
    ModelEntry(
        name="digits_cnn",
        factory="workbench.core.models.digits:DigitsCNN",
        description="small CNN for 8x8 digits (the demo)",
        dataset="digits",
        inputs=(InputSpec("input", (1, *DIGITS)),),
    ),
    ModelEntry(
        name="digits_mlp",
        factory="workbench.core.models.digits:DigitsMLP",
        description="multi-layer perceptron for 8x8 digits",
        dataset="digits",
        inputs=(InputSpec("input", (1, *DIGITS)),),
    ),
    ModelEntry(
        name="resnet_shapes",
        factory="workbench.core.models.resnet:ResNetStyle",
        description="ResNet-style CNN (residual basic blocks) for 32x32 RGB",
        dataset="shapes",
        inputs=(InputSpec("input", (1, *SHAPES)),),
    ),
    ModelEntry(
        name="mobilenet_shapes",
        factory="workbench.core.models.mobilenet:MobileNetStyle",
        description="MobileNet-style CNN (inverted residuals, depthwise convs) for 32x32 RGB",
        dataset="shapes",
        inputs=(InputSpec("input", (1, *SHAPES)),),
    ),
    ModelEntry(
        name="transformer_seq",
        factory="workbench.core.models.transformer:SequenceTransformer",
        description="small transformer-encoder classifier for token sequences",
        dataset="sequences",
        inputs=(InputSpec("tokens", (1, SEQUENCE_LENGTH), "int64"),),
        num_classes=8,
    ),
    ModelEntry(
        name="tiny_lm",
        factory="workbench.core.models.tiny_lm:TinyLM",
        description="small GPT-style decoder language model (4 blocks, width 128)",
        dataset="stdlib-text",
        inputs=(InputSpec("input_ids", (1, LM_CONTEXT), "int64"),),
        num_classes=LM_VOCAB,
        task="language-modeling",
    ),
)


def parse_zoo_ref(reference: str) -> tuple[str, dict[str, Any]]:
    """``"zoo:resnet_shapes:width=0.5,depth=2"`` -> ``("resnet_shapes", {"width": 0.5, ...})``.

    The ``zoo:`` prefix is optional. Values are parsed as int, float or bool when they
    look like one, else kept as strings.
    """
    text = reference.removeprefix("zoo:")
    name, _, options = text.partition(":")
    if not name:
        raise ArchitectureError(f"{reference!r} names no architecture")
    kwargs: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in options.split(","))):
        key, eq, raw = item.partition("=")
        if not eq or not key.isidentifier():
            raise ArchitectureError(f"{item!r} in {reference!r} is not of the form key=value")
        kwargs[key] = _parse_value(raw)
    return name, kwargs


def _parse_value(raw: str) -> Any:
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw
