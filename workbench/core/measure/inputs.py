"""What to feed a model when measuring it: concrete shapes, real samples, the target model.

A file may leave input dimensions symbolic ("batch", "height"). The batch dimension is
the one measurements vary; any other symbolic dimension must come from the user
(``--shape``) or from the variant's dataset. Guessing 1 would time a different model, so
without either the error says what to pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.core.catalogue import get_registry
from workbench.core.data.resolve import resolve_dataset as resolve_spec
from workbench.core.data.text import TextOptions, Tokenization
from workbench.core.errors import DataError, WorkbenchError
from workbench.core.io.loaded import LoadedModel, ModelFormat
from workbench.core.units import format_shape

Shapes = dict[str, tuple[int, ...]]


@dataclass
class Target:
    """A model to measure, whether handed over as a Variant or a LoadedModel."""

    loaded: LoadedModel
    name: str
    dataset: str | None  # registered dataset name the model is meant for


def as_target(model: Any) -> Target:
    """Accept a ``Variant`` (with its model open) or a ``LoadedModel``."""
    if isinstance(model, Target):
        return model
    if isinstance(model, LoadedModel):
        return Target(model, model.display_name, model.dataset)
    loaded = getattr(model, "loaded", None)
    if loaded is None:
        name = getattr(model, "name", repr(model))
        raise WorkbenchError(f"variant {name!r} is not open; open its model before measuring")
    return Target(loaded, model.name, getattr(model, "dataset", None) or loaded.dataset)


@dataclass(frozen=True)
class DeclaredInput:
    name: str
    dims: tuple[int | str | None, ...]  # int: fixed; str/None: symbolic or unknown
    dtype: str


def declared_inputs(loaded: LoadedModel) -> list[DeclaredInput]:
    """The inputs as the model declares them: ONNX keeps its symbolic dims here."""
    if loaded.format is ModelFormat.ONNX and loaded.onnx_model is not None:
        graph = loaded.onnx_model.graph
        constant = {t.name for t in graph.initializer}
        by_name = {spec.name: spec for spec in loaded.inputs}
        result = []
        for value in graph.input:
            if value.name in constant or value.name not in by_name:
                continue
            tensor = value.type.tensor_type
            dims: list[int | str | None] = []
            for dim in tensor.shape.dim if tensor.HasField("shape") else ():
                fixed = dim.HasField("dim_value") and dim.dim_value > 0
                dims.append(dim.dim_value if fixed else (dim.dim_param or None))
            if not tensor.HasField("shape"):
                dims = [None] * len(by_name[value.name].shape)
            result.append(DeclaredInput(value.name, tuple(dims), by_name[value.name].dtype))
        return result
    # PyTorch: shapes are concrete examples; the leading dimension is the batch.
    return [
        DeclaredInput(spec.name, ("batch", *spec.shape[1:]) if spec.shape else (), spec.dtype)
        for spec in loaded.inputs
    ]


def batch_is_free(loaded: LoadedModel) -> bool:
    """Whether every input takes any batch size (a symbolic or PyTorch leading dim)."""
    return all(not d.dims or not isinstance(d.dims[0], int) for d in declared_inputs(loaded))


def concrete_shapes(
    loaded: LoadedModel,
    *,
    label: str,
    batch: int | None = None,
    shapes: Shapes | None = None,
    sample_shape: tuple[int, ...] | None = None,
) -> dict[str, tuple[tuple[int, ...], str]]:
    """Input name -> (concrete shape, dtype) at ``batch`` (None: the declared or 1).

    Symbolic non-batch dims come from ``shapes`` (``--shape``), else from
    ``sample_shape`` (one dataset sample, no batch dim); otherwise a WorkbenchError
    names the input and what to pass.
    """
    shapes = shapes or {}
    result: dict[str, tuple[tuple[int, ...], str]] = {}
    for declared in declared_inputs(loaded):
        given = shapes.get(declared.name)
        dims = list(given) if given is not None else list(declared.dims)
        if given is not None and len(given) != len(declared.dims) and declared.dims:
            raise WorkbenchError(
                f"{label}: --shape {declared.name}={format_shape(given)} has {len(given)} "
                f"dimensions but the input has {len(declared.dims)}"
            )
        if not dims:
            result[declared.name] = ((), declared.dtype)
            continue
        fixed_batch = (
            declared.dims[0] if declared.dims and isinstance(declared.dims[0], int) else None
        )
        if batch is not None:
            if fixed_batch is not None and fixed_batch != batch:
                raise WorkbenchError(
                    f"{label}: input {declared.name!r} fixes the batch at {fixed_batch}; "
                    f"batch {batch} needs a model exported with a dynamic batch"
                )
            dims[0] = batch
        elif not isinstance(dims[0], int):
            dims[0] = 1
        # A PyTorch model's example size on an axis it declares dynamic (a text model's
        # sequence) gives way to the data's size.
        dynamic = loaded.dynamic_axes.get(declared.name, {}) if given is None else {}
        fits = sample_shape is not None and len(sample_shape) == len(dims) - 1
        for index in range(1, len(dims)):
            if isinstance(dims[index], int) and not (fits and index in dynamic):
                continue
            if fits:
                dims[index] = int(sample_shape[index - 1])
                continue
            what = f"{index} ({dims[index]})" if dims[index] else str(index)
            example = format_shape([d if isinstance(d, int) else "N" for d in dims])
            raise WorkbenchError(
                f"{label}: input {declared.name!r} has symbolic dimension {what} and no dataset "
                f"gives it a size; pass --shape {declared.name}={example} with real sizes"
            )
        result[declared.name] = (tuple(int(d) for d in dims), declared.dtype)
    return result


def text_tokenization(loaded: LoadedModel) -> Tokenization | None:
    """How texts become ``loaded``'s inputs, for a text model (one taking input_ids)."""
    names = tuple(spec.name for spec in loaded.inputs)
    if "input_ids" not in names:
        return None
    return Tokenization(loaded.display_name, loaded.tokenizer, names)


def per_token_outputs(loaded: LoadedModel) -> bool:
    """Whether the model's first output has a sequence axis (a language model's logits
    per token): labels per text do not score it, though its texts still time it."""
    names = loaded.output_names or []
    return bool(names) and "sequence" in loaded.dynamic_axes.get(names[0], {}).values()


def resolve_dataset(
    spec: Any,
    target: Target | None = None,
    text_options: TextOptions | None = None,
    *,
    seed: int = 0,
    workers: int = 0,
) -> Any:
    """An ArrayDataset from ``spec``, else the target's own dataset, else None.

    ``spec`` is an ArrayDataset or what ``--data`` takes: a registered name, a folder of
    class subfolders of images (read at the target's input size), a ``.csv`` or a
    ``.npz`` (``core.data.resolve``), or labelled texts that a text target's tokenizer
    reads. ``seed`` splits a file's samples into train and validation.
    """
    if spec is not None and not isinstance(spec, str):
        return spec
    if spec:
        text = text_tokenization(target.loaded) if target is not None else None
        label = text_options.label if text_options is not None else None
        size = target.loaded.image_size if target is not None else None
        return resolve_spec(
            spec,
            target=label,
            image_size=size,
            seed=seed,
            workers=workers,
            text=text,
            text_options=text_options,
        )
    if target is not None and target.dataset:
        return get_registry().dataset(target.dataset).load()
    return None


def data_for(
    model: LoadedModel,
    spec: str,
    *,
    seed: int = 0,
    workers: int = 0,
    text_options: TextOptions | None = None,
) -> Any:
    """``spec`` (a dataset name or path) read for ``model``: an image folder at its input
    size, labelled texts through its tokenizer. Every pass that reads ``--data`` for a
    model it holds comes here, so a 224x224 backbone never trains on 32x32 images."""
    return resolve_dataset(spec, as_target(model), text_options, seed=seed, workers=workers)


def feed_for(
    shapes: dict[str, tuple[tuple[int, ...], str]], dataset: Any = None, seed: int = 0
) -> dict[str, Any]:
    """Arrays for one run: validation samples when they fit, else seeded filler.

    Real samples matter for token inputs (random ids may fall outside a vocabulary) and
    for data-dependent kernels; filler is N(0, 1) for floats and ones for integers
    (valid ids and an all-visible attention mask).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    feed: dict[str, Any] = {}
    for name, (shape, dtype) in shapes.items():
        samples = _samples_that_fit(_named(dataset, name, len(shapes)), shape, dtype)
        if samples is not None:
            feed[name] = samples
        elif np.issubdtype(np.dtype(dtype), np.floating):
            feed[name] = rng.standard_normal(shape).astype(dtype)
        else:
            feed[name] = np.ones(shape, dtype=dtype)
    return feed


def samples_fit(shapes: dict[str, tuple[tuple[int, ...], str]], dataset: Any) -> bool:
    """Whether ``feed_for`` will feed ``dataset``'s samples rather than filler."""
    if dataset is None:
        return False
    return all(
        _samples_that_fit(_named(dataset, name, len(shapes)), shape, dtype) is not None
        for name, (shape, dtype) in shapes.items()
    )


@dataclass
class _OneInput:
    x_val: Any


def _named(dataset: Any, name: str, count: int) -> Any:
    """What feeds input ``name``: a one-input model's dataset as it is, a text
    dataset's stacked input of that name, else nothing."""
    names = getattr(dataset, "input_names", ())
    if dataset is not None and name in names:
        return _OneInput(dataset.x_val[:, names.index(name)])
    return dataset if count == 1 and not names else None


def _samples_that_fit(dataset: Any, shape: tuple[int, ...], dtype: str) -> Any:
    import numpy as np

    if dataset is None or not shape or tuple(dataset.x_val.shape[1:]) != tuple(shape[1:]):
        return None
    if len(dataset.x_val) == 0:
        return None
    x = dataset.x_val
    if np.issubdtype(x.dtype, np.floating) != np.issubdtype(np.dtype(dtype), np.floating):
        return None
    repeats = -(-shape[0] // len(x))
    batch = np.concatenate([x] * repeats)[: shape[0]] if repeats > 1 else x[: shape[0]]
    return np.ascontiguousarray(batch, dtype=dtype)


def require_dataset(dataset: Any, target: Target) -> Any:
    """The dataset, or a DataError saying the variant has none (never a zero accuracy)."""
    if dataset is None:
        known = ", ".join(sorted(get_registry().datasets)) or "none"
        raise DataError(
            f"{target.name} has no validation data: it is not tied to a dataset; "
            f"pass one with --data NAME (built-in: {known})"
        )
    return dataset
