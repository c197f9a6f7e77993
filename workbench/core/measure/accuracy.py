"""Accuracy on the task's validation data, and agreement with a parent variant.

Every variant of a lineage is scored on the same validation split (fixed when the
dataset is made), on PyTorch or ONNX Runtime. A variant tied to no dataset gets a
DataError saying so, never a zero. Agreement compares the raw outputs of two models on
the same samples: how often their top-1 classes match and how far their logits drift.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from workbench.core.context import RunContext
from workbench.core.errors import DataError, WorkbenchError
from workbench.core.lm.perplexity import token_nll_sum
from workbench.core.measure.inputs import (
    Shapes,
    Target,
    as_target,
    concrete_shapes,
    declared_inputs,
    per_token_outputs,
    require_dataset,
    resolve_dataset,
)
from workbench.core.measure.metrics import AccuracyReport, Agreement
from workbench.core.measure.runners import make_runner

DEFAULT_BATCH = 256
LM_BATCH = 32  # windows per batch for a language model: logits are (batch, tokens, vocab)
LANGUAGE_MODELING = "language-modeling"


def evaluate(
    model: Any,
    *,
    data: Any = None,
    runtime: str = "auto",
    parent: Any = None,
    device: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    max_samples: int | None = None,
    shapes: Shapes | None = None,
    ctx: RunContext | None = None,
) -> AccuracyReport:
    """Top-1 and cross-entropy (or MSE for regression) of ``model`` on validation data.

    ``data`` is an ArrayDataset or a dataset name; by default the variant's own.
    ``parent`` (a Variant or LoadedModel) adds its agreement with ``model`` on the same
    samples, each model on its own default runtime.
    """
    import numpy as np

    ctx = ctx or RunContext()
    target = as_target(model)
    dataset = require_dataset(resolve_dataset(data, target), target)
    if dataset.task == LANGUAGE_MODELING:
        return evaluate_lm(
            target, dataset, runtime=runtime, device=device, batch_size=batch_size,
            max_samples=max_samples, shapes=shapes, ctx=ctx,
        )  # fmt: skip
    if per_token_outputs(target.loaded) and dataset.task == "classification":
        raise DataError(
            f"{target.name} outputs logits per token (a language model); labels per "
            f"text do not score it"
        )
    if runtime == "auto":
        runtime = "ort" if target.loaded.framework == "onnx" else "torch"
    x, y = dataset.x_val, dataset.y_val
    if max_samples:
        x, y = x[:max_samples], y[:max_samples]
    if len(x) == 0:
        raise DataError(f"dataset {dataset.name!r} has no validation samples")
    parent_target = as_target(parent) if parent is not None else None
    share = 0.5 if parent_target is not None else 1.0
    outputs, provider = predict(
        target,
        x,
        runtime=runtime,
        device=device,
        batch_size=batch_size,
        shapes=shapes,
        ctx=ctx,
        span=(0.0, share),
        input_names=tuple(getattr(dataset, "input_names", ())),
    )
    logits = outputs.astype(np.float64)
    report = AccuracyReport(
        runtime=runtime,
        provider=provider,
        dataset=dataset.name,
        task=dataset.task,
        samples=len(x),
    )
    if dataset.task == "regression":
        report.mse = float(np.mean((logits.reshape(len(y), -1) - y.reshape(len(y), -1)) ** 2))
    else:
        if logits.ndim != 2:
            raise WorkbenchError(
                f"{target.name}: a classifier should output [batch, classes], not shape "
                f"{list(outputs.shape)}"
            )
        if logits.shape[1] < dataset.num_classes:
            raise DataError(
                f"{target.name} outputs {logits.shape[1]} classes but dataset "
                f"{dataset.name!r} has {dataset.num_classes}"
            )
        report.top1 = float(np.mean(logits.argmax(axis=1) == y))
        report.loss = cross_entropy(logits, y)
    if parent_target is not None:
        parent_runtime = "ort" if parent_target.loaded.framework == "onnx" else "torch"
        reference, _ = predict(
            parent_target,
            x,
            runtime=parent_runtime,
            device=device,
            batch_size=batch_size,
            shapes=shapes,
            ctx=ctx,
            span=(share, 1.0),
            input_names=tuple(getattr(dataset, "input_names", ())),
        )
        report.agreement = agreement(parent_target.name, reference, outputs)
    ctx.report(1.0, f"{target.name}: evaluated")
    return report


def predict(
    target: Target,
    x: Any,
    *,
    runtime: str,
    device: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    shapes: Shapes | None = None,
    ctx: RunContext | None = None,
    span: tuple[float, float] = (0.0, 1.0),
    input_names: tuple[str, ...] = (),
) -> tuple[Any, str]:
    """The first output of ``target`` for every sample of ``x``, and the provider used.

    ``input_names``: ``x`` holds those inputs stacked on axis 1 (a text dataset's
    token ids and masks); empty: ``x`` feeds the model's one input.
    """
    import numpy as np

    parts, provider = [], ""
    for real, outputs, used in _predict_batches(
        target, x, runtime=runtime, device=device, batch_size=batch_size, shapes=shapes,
        ctx=ctx, span=span, input_names=input_names,
    ):  # fmt: skip
        parts.append(outputs[:real])
        provider = used
    return np.concatenate(parts), provider


def evaluate_lm(
    target: Target,
    dataset: Any,
    *,
    runtime: str,
    device: str | None,
    batch_size: int,
    max_samples: int | None,
    shapes: Shapes | None,
    ctx: RunContext,
) -> AccuracyReport:
    """Perplexity (and next-token accuracy) of a language model over the validation
    windows, summed per batch in float64 as ``core.lm.perplexity`` does (the logits of
    a whole split would not fit in memory)."""
    import numpy as np

    if runtime == "auto":
        runtime = "ort" if target.loaded.framework == "onnx" else "torch"
    x, y = dataset.x_val, dataset.y_val
    if max_samples:
        x, y = x[:max_samples], y[:max_samples]
    if len(x) == 0:
        raise DataError(f"dataset {dataset.name!r} has no validation samples")
    total, correct, start, provider = 0.0, 0, 0, ""
    batch_size = min(batch_size, LM_BATCH)
    for real, logits, used in _predict_batches(
        target, x, runtime=runtime, device=device, batch_size=batch_size, shapes=shapes, ctx=ctx
    ):
        provider = used
        logits, labels = np.asarray(logits[:real]), y[start : start + real]
        start += real
        if logits.ndim != 3 or logits.shape[-1] < dataset.num_classes:
            raise DataError(
                f"{target.name} outputs shape {list(logits.shape)}; {dataset.name!r} needs "
                f"logits [batch, tokens, vocabulary of at least {dataset.num_classes}]"
            )
        total += token_nll_sum(logits, labels)
        correct += int(np.sum(logits.argmax(axis=-1) == labels))
    loss = total / y.size
    ctx.report(1.0, f"{target.name}: evaluated")
    return AccuracyReport(
        runtime=runtime,
        provider=provider,
        dataset=dataset.name,
        task=dataset.task,
        samples=len(x),
        loss=loss,
        perplexity=math.exp(loss) if loss < 700 else math.inf,
        token_accuracy=correct / y.size,
    )


def _predict_batches(
    target: Target,
    x: Any,
    *,
    runtime: str,
    device: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    shapes: Shapes | None = None,
    ctx: RunContext | None = None,
    span: tuple[float, float] = (0.0, 1.0),
    input_names: tuple[str, ...] = (),
) -> Iterator[tuple[int, Any, str]]:
    """(real rows, first output of the batch, provider) for each batch of ``x``."""
    import numpy as np

    ctx = ctx or RunContext()
    loaded, label = target.loaded, target.name
    inputs = declared_inputs(loaded)
    names = tuple(input_names) or (inputs[0].name,) if inputs else ()
    declared = {spec.name: spec for spec in inputs}
    if len(inputs) != len(names) or any(name not in declared for name in names):
        given = ", ".join(names) if input_names else "one"
        raise WorkbenchError(
            f"{label} takes {len(inputs)} inputs ({', '.join(declared)}); the data feeds {given}"
        )
    sample = tuple(x.shape[2:] if input_names else x.shape[1:])
    fixed = next((s.dims[0] for s in inputs if s.dims and isinstance(s.dims[0], int)), None)
    step = fixed or max(1, int(batch_size))
    wanted = concrete_shapes(loaded, label=label, batch=step, shapes=shapes, sample_shape=sample)
    for name in names:
        shape = wanted[name][0]
        if tuple(shape[1:]) != sample:
            raise DataError(
                f"{label}: input {name!r} takes samples of shape {list(shape[1:])}, but the "
                f"dataset's are {list(sample)}"
            )
    runner = make_runner(
        loaded, runtime, label=label, device=device or ctx.device or "auto", spin=False
    )
    low, high = span
    for start, batch, real in _batches(x, step, pad=fixed is not None):
        ctx.check()
        columns = [batch[:, i] for i in range(len(names))] if input_names else [batch]
        feed = {
            name: np.ascontiguousarray(column, dtype=wanted[name][1])
            for name, column in zip(names, columns, strict=True)
        }
        result = runner.outputs(feed)
        yield real, np.asarray(result[0]), runner.provider
        ctx.report(low + (high - low) * min(1.0, (start + real) / len(x)), f"{label}: evaluating")


def _batches(x: Any, step: int, *, pad: bool) -> Iterator[tuple[int, Any, int]]:
    """(start, batch, real rows); a fixed-batch model gets its last batch padded."""
    import numpy as np

    for start in range(0, len(x), step):
        batch = x[start : start + step]
        real = len(batch)
        if pad and real < step:
            batch = np.concatenate([batch, np.repeat(batch[-1:], step - real, axis=0)])
        yield start, batch, real


def cross_entropy(logits: Any, labels: Any) -> float:
    """Mean cross-entropy of raw logits (log-sum-exp, stable for large values)."""
    import numpy as np

    shifted = logits - logits.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    picked = shifted[np.arange(len(labels)), labels]
    return float(np.mean(log_norm - picked))


def agreement(parent: str, reference: Any, outputs: Any) -> Agreement:
    """Top-1 agreement and logit differences between two output arrays of one shape."""
    import numpy as np

    ref = np.asarray(reference, dtype=np.float64)
    out = np.asarray(outputs, dtype=np.float64)
    if ref.shape != out.shape:
        raise WorkbenchError(
            f"outputs of shape {list(out.shape)} cannot be compared with {parent}'s "
            f"{list(ref.shape)}"
        )
    diff = np.abs(ref - out)
    top1 = None
    if ref.ndim >= 2 and ref.shape[-1] > 1:
        top1 = float(np.mean(ref.argmax(axis=-1) == out.argmax(axis=-1)))
    return Agreement(
        parent=parent,
        samples=int(ref.shape[0]) if ref.ndim else 1,
        top1_agreement=top1,
        max_abs_diff=float(diff.max()) if diff.size else 0.0,
        mean_abs_diff=float(diff.mean()) if diff.size else 0.0,
    )
