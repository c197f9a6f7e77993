"""Quantize a variant and measure it against its float self: what the CLI and wizard run.

``quantize_variant(source, "static", config, data=...)`` exports a PyTorch source to
ONNX once (the float reference every ORT method is compared with), runs the pass
through ``run_pass``, then measures accuracy, latency (per batch size, on the chosen
device) and size before and after, the same way for both. ``write_quantized_variant``
writes the result as a variant folder (model file + ``variant.json``).

``auto_exclude=K`` quantizes twice: the first run's per-node error table names the K
nodes adding the most error, the second keeps them in float, and both are measured, so
the outcome says what keeping them float gained in accuracy and cost in speed.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.compress.quantization import CONFIGS, METHODS
from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel

VARIANT_FILE = "variant.json"


@dataclass
class Measured:
    """One model's figures: accuracy (None without data), latency per batch, size."""

    size_bytes: int
    runtime: str
    provider: str = ""
    top1: float | None = None
    accuracy: dict[str, Any] | None = None  # AccuracyReport as JSON
    latency_ms: dict[int, float] = field(default_factory=dict)  # batch -> p50
    latency: dict[str, Any] | None = None  # LatencyReport as JSON


@dataclass
class AutoExclusion:
    """What ``auto_exclude=K`` did: the nodes it kept in float, picked from the first
    run's error table (where the user's own exclusions were already float), and that
    first run's figures, the baseline of what it gained and cost."""

    requested: int
    nodes: list[dict[str, Any]]  # the first run's error rows of the nodes kept float
    without: Measured | None  # the first run measured (None when nothing was measured)

    @property
    def names(self) -> list[str]:
        return [row["node"] for row in self.nodes]

    def gains(self, after: Measured | None) -> dict[str, Any]:
        """Accuracy gained (points), agreement with the float model gained (points), the
        logits' drift from it, latency ratio per batch (above 1: slower) and size added."""
        first = self.without
        if first is None or after is None:
            return {}
        result: dict[str, Any] = {
            "slowdown": {
                batch: after.latency_ms[batch] / first.latency_ms[batch]
                for batch in first.latency_ms
                if first.latency_ms[batch] and after.latency_ms.get(batch)
            },
            "size_added_bytes": after.size_bytes - first.size_bytes,
        }
        if first.top1 is not None and after.top1 is not None:
            result["top1_gained_points"] = 100 * (after.top1 - first.top1)
        old, new = _agreement(first), _agreement(after)
        if old and new:
            if old.get("top1_agreement") is not None and new.get("top1_agreement") is not None:
                result["agreement_gained_points"] = 100 * (
                    new["top1_agreement"] - old["top1_agreement"]
                )
            result["logit_drift"] = {"without": old["mean_abs_diff"], "with": new["mean_abs_diff"]}
        return result

    def describe(self, after: Measured | None) -> list[str]:
        """Plain sentences for the CLI and the wizard."""
        from workbench.core.units import human_bytes

        if not self.nodes:
            return [f"auto-exclude {self.requested}: no node adds error, so none was kept float"]
        shown = ", ".join(self.names[:5]) + (" ..." if len(self.nodes) > 5 else "")
        lines = [f"auto-exclude kept {len(self.nodes)} nodes in float: {shown}"]
        if len(self.nodes) < self.requested:
            lines[0] += f" (only {len(self.nodes)} of the table's nodes add error)"
        first, gains = self.without, self.gains(after)
        if first is None or after is None or not gains:
            return lines
        if "top1_gained_points" in gains:
            lines.append(
                f"top-1: {first.top1:.2%} without them, {after.top1:.2%} with "
                f"({gains['top1_gained_points']:+.2f} points)"
            )
        old, new = _agreement(first), _agreement(after)
        if "agreement_gained_points" in gains:
            lines.append(
                f"agreement with the float model: {old['top1_agreement']:.2%} -> "
                f"{new['top1_agreement']:.2%}; mean logit drift "
                f"{old['mean_abs_diff']:.4f} -> {new['mean_abs_diff']:.4f}"
            )
        for batch, ratio in gains["slowdown"].items():
            lines.append(
                f"latency, batch {batch}: {first.latency_ms[batch]:.3f} ms -> "
                f"{after.latency_ms[batch]:.3f} ms ({ratio:.2f}x)"
            )
        added = gains["size_added_bytes"]
        lines.append(f"size: {'+' if added >= 0 else '-'}{human_bytes(abs(added))}")
        return lines

    def to_json(self, after: Measured | None) -> dict[str, Any]:
        return {
            "requested": self.requested,
            "nodes": list(self.nodes),
            "without": dataclasses.asdict(self.without) if self.without else None,
            **self.gains(after),
        }


def _agreement(figures: Measured) -> dict[str, Any] | None:
    """The model's agreement with the float model, when it was measured against it."""
    return (figures.accuracy or {}).get("agreement")


@dataclass
class QuantizationOutcome:
    method: str
    pass_name: str
    config: dict[str, Any]
    source_name: str
    model: LoadedModel  # the quantized model
    reference: LoadedModel  # the float model "before" was measured on
    before: Measured | None
    after: Measured | None
    pass_metrics: dict[str, Any]
    notes: list[str]
    auto_exclusion: AutoExclusion | None = None

    @property
    def step(self) -> dict[str, Any]:
        """The recipe step that remakes this variant."""
        return {"pass": self.pass_name, "config": dict(self.config)}

    @property
    def node_error(self) -> Any:
        """The per-node ``ErrorTable``, or None when it was not measured."""
        from workbench.core.compress.quantization.node_error import ErrorTable

        data = self.pass_metrics.get("node_error")
        return ErrorTable.from_json(data) if data else None

    def ratios(self) -> dict[str, Any]:
        """Speed-up per batch (before p50 / after p50), size ratio, accuracy change."""
        if self.before is None or self.after is None:
            return {}
        b, a = self.before, self.after
        result: dict[str, Any] = {
            "size_ratio": b.size_bytes / a.size_bytes if a.size_bytes else None,
            "speedup": {
                batch: b.latency_ms[batch] / a.latency_ms[batch]
                for batch in b.latency_ms
                if a.latency_ms.get(batch)
            },
        }
        if b.top1 is not None and a.top1 is not None:
            result["top1_change_points"] = 100 * (a.top1 - b.top1)
        return result

    def metrics(self) -> dict[str, Any]:
        """What ``variant.json`` and the wizard outcome record under "metrics"."""
        result = {
            "before": dataclasses.asdict(self.before) if self.before else None,
            "after": dataclasses.asdict(self.after) if self.after else None,
            "ratios": self.ratios(),
            "pass": {k: v for k, v in self.pass_metrics.items() if k != "node_error"},
        }
        if self.auto_exclusion is not None:
            result["auto_exclude"] = self.auto_exclusion.to_json(self.after)
        return result

    def variant_metrics(self) -> dict[str, Any]:
        """Metrics in ``core.measure.Metrics`` form (what the inspector and compare view
        read) for the quantized model, plus a "quantization" entry: before, ratios and
        the per-node error by node name (the graph overlay's data)."""
        from workbench.core.measure.metrics import Metrics

        after = self.after
        runtime = after.runtime if after else ""
        data: dict[str, Any] = {
            "latency": {runtime: after.latency} if after and after.latency else {},
            "accuracy": {runtime: after.accuracy} if after and after.accuracy else {},
        }
        metrics = Metrics.from_json(data).to_json()
        table = self.node_error
        metrics["quantization"] = {
            **self.metrics(),
            "error_by_node": table.by_node() if table is not None else {},
        }
        return metrics

    def name(self) -> str:
        labels = {"static": "INT8 static", "dynamic": "INT8 dynamic", "fp16": "FP16",
                  "torch-dynamic": "INT8 torch dynamic"}  # fmt: skip
        return f"{self.source_name} ({labels.get(self.method, self.method)})"


def pass_class_for(method: str) -> type:
    from workbench.core.registry import get_registry

    if method not in METHODS:
        raise WorkbenchError(f"unknown method {method!r} (use {', '.join(METHODS)})")
    return get_registry().pass_(METHODS[method]).load()


def _scaled(ctx: RunContext, low: float, high: float, data: Any = None) -> RunContext:
    extras = dict(ctx.extras)
    if data is not None:
        extras["data"] = data
    return RunContext(
        device=ctx.device,
        cancel=ctx.cancel,
        seed=ctx.seed,
        extras=extras,
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


def measure(
    model: LoadedModel,
    *,
    runtime: str,
    dataset: Any,
    device: str,
    batches: Sequence[int],
    threads: int | None,
    seconds: float,
    ctx: RunContext,
    parent: LoadedModel | None = None,
) -> Measured:
    """``parent`` (the float model) adds the model's agreement with it to the accuracy."""
    from workbench.core.measure import evaluate, measure_latency

    figures = Measured(size_bytes=model_bytes(model), runtime=runtime)
    if dataset is not None:
        report = evaluate(
            model,
            data=dataset,
            runtime=runtime,
            device=device,
            parent=parent,
            ctx=_scaled(ctx, 0.0, 0.4),
        )
        figures.top1 = report.top1
        figures.accuracy = dataclasses.asdict(report)
    if batches:
        latency = measure_latency(
            model,
            runtime=runtime,
            batches=list(batches),
            device=device,
            threads=threads,
            seconds=seconds,
            data=dataset,
            ctx=_scaled(ctx, 0.4, 1.0),
        )
        figures.provider = latency.provider
        figures.latency_ms = {p.batch: p.latency.p50_ms for p in latency.batches}
        figures.latency = dataclasses.asdict(latency)
    return figures


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
    auto_exclude: int = 0,
    ctx: RunContext | None = None,
) -> QuantizationOutcome:
    """Run quantization ``method`` on ``source`` and measure before/after.

    ``config`` is the pass's config (or a dict, or None for the defaults); ``data`` a
    dataset name, path or ArrayDataset (default: the model's own) for calibration and
    accuracy; ``device`` is where latency and accuracy run ("cpu", "cuda:0", "auto").
    ``auto_exclude`` > 0 also keeps that many of the worst nodes in float (module doc);
    the outcome's step then lists them in ``exclude``, so the recipe remakes the model.
    """
    from workbench.core.compress.base import run_pass
    from workbench.core.compress.quantization.common import float_onnx, onnx_result
    from workbench.core.measure.inputs import as_target, resolve_dataset

    # The pass (calibration) runs where the figures are taken; cancel and progress stay.
    ctx = dataclasses.replace(ctx or RunContext(), device=device)
    pass_class = pass_class_for(method)
    from workbench.core.config_schema import config_from_dict, config_to_dict

    if config is None or isinstance(config, dict):
        config = config_from_dict(pass_class.config_class, config or {}, where=pass_class.name)
    instance = pass_class()
    instance.check(source)
    dataset = resolve_dataset(data, as_target(source))
    if auto_exclude:
        _check_auto_exclude(method, config, dataset, auto_exclude)
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
        if picked:
            config = dataclasses.replace(
                config, exclude=[*config.exclude, *(row["node"] for row in picked)]
            )
            ctx.report(split, f"keeping {len(picked)} nodes in float; quantizing again")
            result = run_pass(pass_class, reference, config, _scaled(ctx, split, 0.6, dataset))
    before = after = without = None
    if measure_figures:
        runtime = "torch" if result.model.onnx_model is None else "ort"
        common = dict(runtime=runtime, dataset=dataset, device=device, batches=batches,
                      threads=threads, seconds=seconds)  # fmt: skip
        mid = 0.73 if auto_exclude else 0.8
        before = measure(reference, **common, ctx=_scaled(ctx, 0.6, mid))
        parent = reference if auto_exclude else None  # how far each run drifts from float
        if auto_exclude and result is not first:
            without = measure(first.model, **common, ctx=_scaled(ctx, mid, 0.86), parent=parent)
            mid = 0.86
        after = measure(result.model, **common, ctx=_scaled(ctx, mid, 1.0), parent=parent)
        if dataset is None:
            notes.append("accuracy not measured: the model is tied to no dataset (--data)")
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
    )


def _check_auto_exclude(method: str, config: Any, dataset: Any, count: int) -> None:
    """Auto-exclude ranks nodes by the per-node error table: refuse what cannot make one
    before anything runs."""
    if count < 0:
        raise WorkbenchError(f"auto-exclude takes a number of nodes (0 or more), not {count}")
    from workbench.core.config_schema import fields_of

    if not hasattr(config, "error_samples"):
        with_table = [
            m
            for m, cls in CONFIGS.items()
            if any(s.name == "error_samples" for s in fields_of(cls))
        ]
        raise WorkbenchError(
            f"auto-exclude needs the per-node error table, which --method {method} does not "
            f"make (use {', '.join(with_table)}, or exclude modules by name)"
        )
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


def write_quantized_variant(
    outcome: QuantizationOutcome, folder: Path, *, source: str | None = None
) -> dict[str, Path]:
    """``folder``/model.onnx (or model.pt for a PyTorch result) and ``variant.json``."""
    from workbench.core.project import atomic_write_bytes, atomic_write_text

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model = outcome.model
    paths: dict[str, Path] = {}
    if model.onnx_model is not None:
        paths["onnx"] = folder / "model.onnx"
        atomic_write_bytes(paths["onnx"], model.onnx_model.SerializeToString())
    else:
        paths["torch"] = folder / "model.pt"
        atomic_write_bytes(paths["torch"], torchscript_bytes(model))
    record: dict[str, Any] = {
        "schema": 1,
        "name": outcome.name(),
        "kind": "quantized",
        "source": source or outcome.source_name,
        "arch": model.arch,
        "dataset": model.dataset,
        "framework": model.framework,
        "step": outcome.step,
        "metrics": outcome.metrics(),
        "node_error": outcome.pass_metrics.get("node_error"),
        "notes": list(outcome.notes),
        "artifacts": {key: path.name for key, path in paths.items()},
    }
    paths["variant"] = folder / VARIANT_FILE
    atomic_write_text(paths["variant"], json.dumps(record, indent=2, default=str))
    return paths


def torchscript_bytes(model: LoadedModel) -> bytes:
    """A dynamically quantized module as TorchScript (traced): its state_dict alone
    would need the quantization replayed to reopen. Reopen with ``--trust``."""
    import torch

    from workbench.core.measure.inputs import concrete_shapes, feed_for

    shapes = concrete_shapes(model, label=model.display_name, batch=1)
    feed = feed_for(shapes)
    args = tuple(torch.from_numpy(feed[spec.name]) for spec in model.inputs)
    try:
        with torch.inference_mode():
            traced = torch.jit.trace(model.module, args, check_trace=False)
    except Exception as exc:
        raise WorkbenchError(
            f"{model.display_name}: the quantized model cannot be saved as TorchScript ({exc})"
        ) from exc
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    return buffer.getvalue()
