"""Quantize a variant and measure it against its float self: what the CLI and wizard run.

``quantize_variant(source, "static", config, data=...)`` exports a PyTorch source to
ONNX once (the float reference every ORT method is compared with), runs the pass
through ``run_pass``, then measures accuracy, latency (per batch size, on the chosen
device) and size before and after, the same way for both: each model opened once,
then timed in interleaved rounds, the speed-up being the median of the rounds' ratios
with its spread (``measure.spread``).
``variant_record.write_quantized_variant`` writes the result as a variant folder. The
figures come from ``measure.before_after``, as every pass takes them.

A config's ``auto_exclude=K`` quantizes twice: the first run's per-node error table
names the K nodes adding the most error, the second keeps them in float, and both are
measured, so the outcome says what keeping them float gained in accuracy and cost in speed.

The figures also say what the precision is worth on the device they were taken on
(``advice``): static INT8 on ONNX Runtime's CUDA provider runs dequantized, FP16 loses
at batch 1 on a GPU.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence
from typing import Any

from workbench.core.compress.quantization import METHODS
from workbench.core.compress.quantization.lm_figures import (
    LM_TASK,
    PERPLEXITY_WINDOWS,
    is_language_model_data,
    perplexity,
    validation_windows,
)
from workbench.core.compress.quantization.outcome import (
    AutoExclusion,
    Measured,
    QuantizationOutcome,
)
from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel
from workbench.core.measure.accuracy import evaluate
from workbench.core.measure.before_after import SideFigures, measure_before_after
from workbench.core.measure.options import MeasureOptions

ROUNDS = 5  # interleaved before/after rounds; their median ratio survives 2 slow ones


def pass_class_for(method: str) -> type:
    from workbench.core.catalogue import get_registry

    if method not in METHODS:
        raise WorkbenchError(f"unknown method {method!r} (use {', '.join(METHODS)})")
    return get_registry().pass_(METHODS[method]).load()


def _scaled(ctx: RunContext, low: float, high: float, data: Any = None) -> RunContext:
    return dataclasses.replace(
        ctx,
        data=ctx.data if data is None else data,
        progress=lambda f, m: ctx.report(None if f is None else low + (high - low) * f, m),
    )


def model_bytes(model: LoadedModel) -> int:
    """Serialized size: the ONNX proto, or ``torch.save`` of the state_dict (which holds
    a dynamically quantized layer's packed int8 weights, unlike ``parameters()``)."""
    if model.onnx_model is not None:
        return int(model.onnx_model.ByteSize())
    import torch

    buffer = io.BytesIO()
    torch.save(model.module.state_dict(), buffer)
    return len(buffer.getvalue())


def measured(model: LoadedModel, side: SideFigures, runtime: str) -> Measured:
    """``side``'s figures in the shape the outcome keeps, with the serialized size."""
    figures = Measured(size_bytes=model_bytes(model), runtime=runtime)
    if side.accuracy is not None:
        figures.top1 = side.accuracy.top1
        figures.accuracy = dataclasses.asdict(side.accuracy)
    if side.latency is not None:
        figures.provider = side.latency.provider
        figures.latency_ms = dict(side.latency_ms)
        figures.rounds_ms = {batch: list(times) for batch, times in side.rounds_ms.items()}
        figures.latency = dataclasses.asdict(side.latency)
    return figures


def _accuracy(dataset: Any, runtime: str, device: str, parent: LoadedModel | None) -> Any:
    """Accuracy on ``dataset``; ``parent`` (the float model) adds each quantized model's
    agreement with it."""

    def score(side: str, model: LoadedModel, ctx: RunContext) -> Any:
        of = None if side == "before" else parent
        return evaluate(model, data=dataset, runtime=runtime, device=device, parent=of, ctx=ctx)

    return score


def quantize_variant(
    source: LoadedModel,
    method: str,
    config: Any = None,
    *,
    data: Any = None,
    device: str = "cpu",
    batches: Sequence[int] = (1,),
    threads: int | None = None,
    seconds: float = 1.0,
    measure_figures: bool = True,
    ctx: RunContext | None = None,
) -> QuantizationOutcome:
    """Run quantization ``method`` on ``source`` and measure before/after.

    ``config`` is the pass's config (or a dict, or None for the defaults); ``data`` a
    dataset name, path or ArrayDataset (default: the model's own) for calibration and
    accuracy; ``device`` is where latency and accuracy run ("cpu", "cuda:0", "auto").
    The config's ``auto_exclude`` > 0 also keeps that many of the worst nodes in float
    (module doc); the outcome's step then lists them in ``exclude`` with ``auto_exclude``
    0, so the recipe remakes the model.
    """
    from workbench.core.compress.base import run_pass
    from workbench.core.compress.quantization.common import float_onnx, onnx_result
    from workbench.core.measure.inputs import as_target, per_token_outputs, resolve_dataset

    # The pass (calibration) runs where the figures are taken; cancel and progress stay.
    ctx = dataclasses.replace(ctx or RunContext(), device=device)
    pass_class = pass_class_for(method)
    from workbench.core.config_schema import config_from_dict, config_to_dict

    if config is None or isinstance(config, dict):
        config = config_from_dict(pass_class.config_class, config or {}, where=pass_class.name)
    instance = pass_class()
    instance.check(source)
    dataset = resolve_dataset(data, as_target(source))
    auto_exclude = getattr(config, "auto_exclude", 0)
    if auto_exclude:
        _check_auto_exclude(config, dataset)
    notes: list[str] = []
    reference = source
    if "onnx" in pass_class.frameworks and source.onnx_model is None:
        ctx.report(0.0, f"exporting {source.display_name} to ONNX")
        reference = onnx_result(source, float_onnx(source, notes=notes), [])
    ctx.check()
    split = 0.33 if auto_exclude else 0.6  # where the second run starts
    result = first = run_pass(pass_class, reference, config, _scaled(ctx, 0.05, split, dataset))
    picked: list[dict[str, Any]] = []
    if auto_exclude:
        picked = _worst_rows(first, config, auto_exclude)
        # The nodes are named now: the recorded step remakes this model as it is.
        config = dataclasses.replace(config, auto_exclude=0)
        if picked:
            config = dataclasses.replace(
                config, exclude=[*config.exclude, *(row["node"] for row in picked)]
            )
            ctx.report(split, f"keeping {len(picked)} nodes in float; quantizing again")
            result = run_pass(pass_class, reference, config, _scaled(ctx, split, 0.6, dataset))
    before = after = without = None
    facts = environment = parent_metrics = None
    if measure_figures:
        runtime = "torch" if result.model.onnx_model is None else "ort"
        # ``seconds`` per model and batch, split over interleaved rounds (module doc).
        options = MeasureOptions(runtime=runtime, batches=list(batches), threads=threads,
                                 seconds=seconds / ROUNDS, runs=6, device=device)  # fmt: skip
        models = {"before": reference, "after": result.model}
        if auto_exclude and result is not first:
            models = {"before": reference, "without": first.model, "after": result.model}
        parent = reference if auto_exclude else None  # how far each run drifts from float
        # A language model is judged by perplexity (below), not by top-1.
        lm_data = is_language_model_data(dataset)
        scored = dataset is not None and not per_token_outputs(source) and not lm_data
        score = _accuracy(dataset, runtime, device, parent) if scored else None
        sides = measure_before_after(
            models, options, accuracy=score, data=dataset, rounds=ROUNDS if batches else 0,
            ctx=_scaled(ctx, 0.6, 1.0),
        )  # fmt: skip
        before = measured(reference, sides["before"], runtime)
        after = measured(result.model, sides["after"], runtime)
        if "without" in sides:
            without = measured(first.model, sides["without"], runtime)
        if lm_data:
            ctx.report(0.97, "perplexity before and after")
            before.perplexity = perplexity(reference, dataset, device=device)
            after.perplexity = perplexity(result.model, dataset, device=device)
            if without is not None:
                without.perplexity = perplexity(first.model, dataset, device=device)
            for side in (before, after, without):  # read by Compare and the inspector
                _file_perplexity(side, dataset)
        facts, environment = sides["after"].metrics.facts, sides["after"].metrics.environment
        parent_metrics = sides["before"].metrics
        if dataset is None:
            notes.append("accuracy not measured: the model is tied to no dataset (--data)")
        elif not scored and not lm_data:
            notes.append(
                "accuracy not measured: the model outputs logits per token (a language "
                "model); its texts were used for timing"
            )
    auto = None
    if auto_exclude:
        auto = AutoExclusion(auto_exclude, picked, without if picked else after)
    ctx.report(1.0, "quantized and measured")
    return QuantizationOutcome(
        method=method,
        pass_name=pass_class.name,
        config=config_to_dict(config),
        source_name=source.display_name,
        model=result.model,
        reference=reference,
        before=before,
        after=after,
        pass_metrics=result.metrics,
        notes=[*notes, *result.notes],
        auto_exclusion=auto,
        facts=facts,
        environment=environment,
        parent_metrics=parent_metrics,
    )


def _file_perplexity(side: Measured | None, dataset: Any) -> None:
    """A model's perplexity as its accuracy report (when nothing else scored it), so the
    variant's figures carry it as an evaluation's would: the same windows, first N."""
    if side is None or side.perplexity is None or side.accuracy is not None:
        return
    from workbench.core.measure.metrics import AccuracyReport

    windows = len(validation_windows(dataset, PERPLEXITY_WINDOWS)[0])
    report = AccuracyReport(side.runtime, side.provider, dataset.name, LM_TASK, windows,
                            perplexity=side.perplexity)  # fmt: skip
    side.accuracy = dataclasses.asdict(report)


def _check_auto_exclude(config: Any, dataset: Any) -> None:
    """Auto-exclude ranks nodes by the per-node error table: refuse what cannot make one
    before anything runs."""
    if not config.error_samples:
        raise WorkbenchError("auto-exclude ranks nodes by the per-node error table: set "
                             "error samples above 0")  # fmt: skip
    if dataset is None:
        raise WorkbenchError("auto-exclude needs data to measure the per-node error on "
                             "(--data)")  # fmt: skip


def _worst_rows(first: Any, config: Any, count: int) -> list[dict[str, Any]]:
    """The error rows of the ``count`` nodes adding the most error in ``first`` and not
    already excluded; nodes that add none are not worth their speed."""
    from workbench.core.compress.quantization.node_error import ErrorTable

    data = first.metrics.get("node_error")
    if not data:
        why = [n for n in first.notes if "per-node error" in n]
        raise WorkbenchError(
            "auto-exclude: the first run made no per-node error table to rank nodes by"
            + (f" ({why[0]})" if why else "")
        )
    rows: list[dict[str, Any]] = []
    taken = set(config.exclude)
    for row in ErrorTable.from_json(data).rows:
        if row.added <= 0 or row.node in taken:
            continue
        taken.add(row.node)
        rows.append(dataclasses.asdict(row))
        if len(rows) == count:
            break
    return rows
