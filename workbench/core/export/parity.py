"""Does the exported file compute what its source computes? Checked on real samples.

Both models run on the same validation batches; each output is compared by maximum and
mean absolute difference, and classifier outputs by top-1 agreement. An output passes
when ``max |source - export| <= atol + rtol * max |source|``: fp32 exports get an
absolute 1e-4 (kernel-order rounding only), fp16 ones a relative allowance for their
11-bit mantissa.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import InputSpec, LoadedModel, ModelFormat
from workbench.core.measure.inputs import Shapes, concrete_shapes, feed_for

PARITY_BATCH = 64
FP32_ATOL = 1e-4
# Plus 1e-5 of the output's largest magnitude: float32 sums run in another order in ONNX
# Runtime, and over a deep network (ResNet-50's logits in the tens) that alone moves the
# outputs by ~1e-4 absolute while agreeing to about 6 significant digits.
FP32_RTOL = 1e-5
FP16_ATOL = 1e-3
FP16_RTOL = 1e-2


@dataclass
class OutputParity:
    name: str
    max_abs_diff: float
    mean_abs_diff: float
    max_abs_reference: float
    top1_agreement: float | None  # None unless the output looks like [batch, classes]
    tolerance: float
    passed: bool


@dataclass
class ParityResult:
    data: str  # where the samples came from, e.g. "digits validation (256 samples)"
    samples: int
    outputs: list[OutputParity] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.outputs) and all(o.passed for o in self.outputs)

    @property
    def max_abs_diff(self) -> float:
        return max((o.max_abs_diff for o in self.outputs), default=float("nan"))

    @property
    def top1_agreement(self) -> float | None:
        return self.outputs[0].top1_agreement if self.outputs else None

    def to_json(self) -> dict[str, Any]:
        return {
            "data": self.data,
            "samples": self.samples,
            "passed": self.passed,
            "max_abs_diff": self.max_abs_diff,
            "top1_agreement": self.top1_agreement,
            "outputs": [vars(o) for o in self.outputs],
        }

    def failure(self) -> str:
        """One line naming the worst failing output and its difference."""
        bad = max((o for o in self.outputs if not o.passed), key=lambda o: o.max_abs_diff)
        text = (
            f"output {bad.name!r} differs from the source by up to {bad.max_abs_diff:.3g} "
            f"(tolerance {bad.tolerance:.3g}) on {self.data}"
        )
        if bad.top1_agreement is not None:
            text += f"; top-1 agreement {bad.top1_agreement:.1%}"
        return text


class ParityError(WorkbenchError):
    """The export does not match its source; ``report`` holds the figures."""

    def __init__(self, message: str, report: Any = None) -> None:
        super().__init__(message)
        self.report = report


def tolerances(fp16: bool, atol: float | None = None) -> tuple[float, float]:
    """(atol, rtol) for an export's precision; ``atol`` overrides the absolute part."""
    if fp16:
        return (FP16_ATOL if atol is None else atol), FP16_RTOL
    return (FP32_ATOL if atol is None else atol), FP32_RTOL


def check_parity(
    reference: Any,
    candidate: Any,
    batches: Iterable[tuple[dict[str, Any], int]],
    *,
    data: str,
    atol: float,
    rtol: float = 0.0,
    ctx: RunContext | None = None,
    total: int | None = None,
) -> ParityResult:
    """Run ``reference`` and ``candidate`` runners on every (feed, real rows) batch.

    Padded rows beyond ``real`` are dropped before comparing. Outputs are matched by
    position and named after the candidate's (the exported file's) output names.
    """
    import numpy as np

    ctx = ctx or RunContext()
    diffs: list[list[Any]] = []
    refs: list[list[Any]] = []
    cands: list[list[Any]] = []
    seen = 0
    for feed, real in batches:
        ctx.check()
        ref = [np.asarray(r)[:real] for r in reference.outputs(feed)]
        out = [np.asarray(o)[:real] for o in candidate.outputs(feed)]
        if len(ref) != len(out):
            raise WorkbenchError(
                f"the export has {len(out)} outputs but its source returns {len(ref)}"
            )
        for index, (r, o) in enumerate(zip(ref, out, strict=True)):
            if r.shape != o.shape:
                name = candidate.output_names[index]
                raise ParityError(
                    f"output {name!r} has shape {list(o.shape)} in the export but "
                    f"{list(r.shape)} in the source"
                )
        refs.append(ref)
        cands.append(out)
        diffs.append(
            [
                np.abs(r.astype(np.float64) - o.astype(np.float64))
                for r, o in zip(ref, out, strict=True)
            ]
        )
        seen += real
        if total:
            ctx.report(min(1.0, seen / total), "checking parity")
    result = ParityResult(data=data, samples=seen)
    if not diffs:
        return result
    for index, name in enumerate(candidate.output_names):
        diff = np.concatenate([d[index].reshape(len(d[index]), -1) for d in diffs])
        ref = np.concatenate([r[index].reshape(len(r[index]), -1) for r in refs])
        out = np.concatenate([c[index].reshape(len(c[index]), -1) for c in cands])
        scale = float(np.abs(ref).max()) if ref.size else 0.0
        tolerance = atol + rtol * scale
        max_diff = float(diff.max()) if diff.size else 0.0
        top1 = None
        if refs[0][index].ndim == 2 and refs[0][index].shape[1] > 1:
            top1 = float(np.mean(ref.argmax(axis=1) == out.argmax(axis=1)))
        finite = bool(np.isfinite(out.astype(np.float64)).all()) if out.size else True
        result.outputs.append(
            OutputParity(
                name=name,
                max_abs_diff=max_diff if finite else float("inf"),
                mean_abs_diff=float(diff.mean()) if diff.size else 0.0,
                max_abs_reference=scale,
                top1_agreement=top1,
                tolerance=tolerance,
                passed=finite and max_diff <= tolerance,
            )
        )
    return result


def parity_batches(
    model: Any,
    dataset: Any,
    options: Any,
    *,
    seed: int,
    label: str,
    shapes: Shapes | None,
    required: bool = False,
) -> tuple[Any, str, int]:
    """(batches of (feed, real rows), description, sample count) for the parity check."""
    import numpy as np

    graph = model.graph
    constant = {t.name for t in graph.initializer}
    inputs = [v for v in graph.input if v.name not in constant]
    dims = [d for d in inputs[0].type.tensor_type.shape.dim] if inputs else []
    fixed = dims[0].dim_value if dims and dims[0].HasField("dim_value") else None
    step = fixed or PARITY_BATCH

    exported = LoadedModel(  # the written file, described like an opened one
        ModelFormat.ONNX,
        None,
        [InputSpec(v.name, (1,), _dtype(v)) for v in inputs],
        onnx_model=model,
    )
    sample = tuple(dataset.input_shape) if dataset is not None else None
    stacked = bool(getattr(dataset, "input_names", ()))  # texts: filler of their length
    base = concrete_shapes(exported, label=label, batch=step, shapes=shapes, sample_shape=sample)
    real_data = (
        dataset is not None
        and len(base) == 1
        and tuple(next(iter(base.values()))[0][1:]) == tuple(dataset.x_val.shape[1:])
    )
    if dataset is not None and not real_data and required and not stacked:
        wanted = {n: list(shape[1:]) for n, (shape, _) in base.items()}
        raise WorkbenchError(
            f"{label}: dataset {dataset.name!r} has samples of shape "
            f"{list(dataset.x_val.shape[1:])}, but the model takes {wanted}; pass --shape "
            "or another --data"
        )
    if real_data:
        x = dataset.x_val[: options.parity_samples]
        name, (_, dtype) = next(iter(base.items()))
        described = f"{dataset.name} validation ({len(x)} samples)"

        def batches() -> Any:
            for start in range(0, len(x), step):
                chunk = x[start : start + step]
                real = len(chunk)
                if fixed and real < step:
                    chunk = np.concatenate([chunk, np.repeat(chunk[-1:], step - real, axis=0)])
                yield {name: np.ascontiguousarray(chunk, dtype=dtype)}, real

        return batches(), described, len(x)
    count = min(options.parity_samples, 32)
    rounds = max(1, -(-count // step))
    described = f"seeded random inputs ({rounds * step} samples; no dataset fits the model)"

    def random_batches() -> Any:
        for index in range(rounds):
            yield feed_for(base, None, seed=seed + index), step

    return random_batches(), described, rounds * step


def _dtype(value: Any) -> str:
    from onnx import helper

    return helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type).name


def tensor_entry(value: Any) -> dict[str, Any]:
    dims = [
        d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
        for d in value.type.tensor_type.shape.dim
    ]
    return {"name": value.name, "shape": dims, "dtype": _dtype(value)}
