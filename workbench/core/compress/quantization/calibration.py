"""Calibration samples from the variant's dataset, fed to ONNX Runtime with cancel checks.

ORT's calibrators only call the data reader (``get_next``) between inference runs; the
reader is therefore where a cancel is noticed (``ctx.check`` raises ``Cancelled``, which
ORT lets through) and where progress is reported.
"""

from __future__ import annotations

from typing import Any

from workbench.core.context import RunContext
from workbench.core.errors import DataError, WorkbenchError
from workbench.core.io.loaded import LoadedModel
from workbench.core.measure.inputs import as_target, resolve_dataset


def data_of(ctx: RunContext) -> Any:
    """The data a caller gave the run: ``ctx.data`` (a name, path or ArrayDataset, as
    recipes set it); None: the model's own."""
    return ctx.data or None


def calibration_dataset(model: LoadedModel, data: Any, text: Any = None) -> Any:
    """The dataset to calibrate on: ``data`` (a name, path or ArrayDataset) or the model's
    own; ``text``: how a file of texts is read (``RunContext.text``)."""

    dataset = resolve_dataset(data, as_target(model), text)
    if dataset is None:
        raise DataError(
            f"{model.display_name}: static INT8 needs calibration data and the model is tied "
            "to no dataset; pass --data NAME|PATH (e.g. shapes, digits, a folder of images)"
        )
    return dataset


def draw_samples(dataset: Any, count: int, seed: int = 0) -> Any:
    """``count`` training samples (all when fewer), drawn without replacement, seeded.

    The training split, not validation: accuracy is then measured on data the
    calibration never saw.
    """
    import numpy as np

    x = dataset.x_train if len(dataset.x_train) else dataset.x_val
    if len(x) == 0:
        raise DataError(f"dataset {dataset.name!r} has no samples to calibrate on")
    rng = np.random.default_rng(seed)
    index = np.sort(rng.choice(len(x), size=min(count, len(x)), replace=False))
    return np.ascontiguousarray(x[index])


class DatasetReader:
    """An ORT ``CalibrationDataReader`` over an array of samples, in batches.

    ORT's ``CalibrationDataReader`` recognises any class with ``get_next`` (its
    ``__subclasshook__``), so this one needs no onnxruntime import to be defined.
    ``input_name`` as a tuple of names: the samples hold those inputs stacked on axis 1
    (a text dataset's token ids and masks).
    """

    def __init__(
        self,
        input_name: str | tuple[str, ...],
        samples: Any,
        *,
        dtype: str = "float32",
        batch: int = 16,
        ctx: RunContext | None = None,
        span: tuple[float, float] = (0.0, 1.0),
        message: str = "calibrating",
    ) -> None:
        import numpy as np

        self.input_name = input_name
        self.samples = np.asarray(samples, dtype=dtype)
        self.batch = max(1, int(batch))
        self.ctx = ctx or RunContext()
        self.span = span
        self.message = message
        self.position = 0

    def get_next(self) -> dict[str, Any] | None:
        self.ctx.check()
        if self.position >= len(self.samples):
            return None
        start = self.position
        self.position = min(len(self.samples), start + self.batch)
        low, high = self.span
        done = self.position / len(self.samples)
        self.ctx.report(
            low + (high - low) * done,
            f"{self.message}: {self.position}/{len(self.samples)} samples",
        )
        batch = self.samples[start : self.position]
        if isinstance(self.input_name, tuple):
            return {name: batch[:, i] for i, name in enumerate(self.input_name)}
        return {self.input_name: batch}

    def rewind(self) -> None:
        self.position = 0

    def __iter__(self) -> DatasetReader:
        return self

    def __next__(self) -> dict[str, Any]:
        item = self.get_next()
        if item is None:
            raise StopIteration
        return item


def single_input(proto: Any, dataset: Any) -> tuple[Any, str, int | None]:
    """(name, numpy dtype, fixed batch or None) of the model's one input; for a text
    dataset, the tuple of its input names (stacked in its samples) in place of the name.

    The dataset's samples must fit it; a model with a fixed batch is fed that many.
    """
    from onnx import helper

    constant = {t.name for t in proto.graph.initializer}
    inputs = [v for v in proto.graph.input if v.name not in constant]
    names = tuple(getattr(dataset, "input_names", ()))
    if names:
        graph_names = sorted(v.name for v in inputs)
        if graph_names != sorted(names):
            raise WorkbenchError(
                f"the model takes {', '.join(graph_names)}; the data gives {', '.join(names)}"
            )
        tensor = inputs[0].type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
        dtype = helper.tensor_dtype_to_np_dtype(tensor.elem_type).name
        return names, dtype, dims[0] if dims and dims[0] else None
    if len(inputs) != 1:
        raise WorkbenchError(
            f"the model has {len(inputs)} inputs; calibration feeds one (the dataset's samples)"
        )
    value = inputs[0]
    tensor = value.type.tensor_type
    dtype = helper.tensor_dtype_to_np_dtype(tensor.elem_type).name
    dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
    sample = tuple(dataset.x_train.shape[1:])
    if len(dims) != len(sample) + 1 or any(
        d is not None and d != s for d, s in zip(dims[1:], sample, strict=False)
    ):
        raise DataError(
            f"input {value.name!r} takes {dims} but dataset {dataset.name!r} has samples of "
            f"shape {list(sample)}"
        )
    return value.name, dtype, dims[0] if dims and dims[0] else None
