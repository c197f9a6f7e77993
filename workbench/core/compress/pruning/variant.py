"""One pruning run as both faces do it: pass, before/after figures, the variant folder.

``run_pruning`` is what the CLI and the wizard call, so the same settings give the same
model and the same figures; ``write_pruned_variant`` writes the folder the CLI leaves
(``model.pt`` that reopens with ``--arch``, ``model.onnx``, ``variant.json``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.context import RunContext
from workbench.core.io.loaded import LoadedModel
from workbench.core.io.variant_folder import ONNX_FILE, VariantRecord, write_variant
from workbench.core.measure.inherited import parent_figures
from workbench.core.measure.metrics import Metrics

PASS_SHARE = 0.75  # of the progress bar; measuring takes the rest


@dataclass
class PruneRun:
    """What a pruning run made and measured."""

    model: LoadedModel
    step: dict[str, Any]  # the recipe step: {"pass": ..., "config": {...}}
    pass_metrics: dict[str, Any]
    figures: dict[str, Any] = field(default_factory=dict)  # before/after, see report
    ratios: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    measured: Metrics | None = None  # the pruned model's own figures, with conditions
    parent_measured: Metrics | None = None  # the source's, timed beside it

    @property
    def metrics(self) -> dict[str, Any]:
        """Everything recorded on the variant: the pass's figures and before/after, and
        the pruned model's figures as a benchmark stores them (what compare reads)."""
        own = self.measured.to_json() if self.measured is not None else {}
        parent = parent_figures(self.parent_measured)
        return {**self.pass_metrics, **self.figures, "ratios": self.ratios, **own, **parent}

    def name(self, label: str) -> str:
        config = self.step["config"]
        if self.step["pass"] == "channel-prune":
            what = f"{config['method']} {config['amount']:.0%} {config['target']}"
            if config.get("layer_amounts"):  # the review's share differs: say why here too
                what += f", {len(config['layer_amounts'])} layers set by hand"
        elif self.step["pass"] == "lm-prune":
            parts = [f"{config[k]:.0%} {k}" for k in ("heads", "mlp") if config.get(k)]
            if config.get("depth"):
                parts.append(f"{config['depth']} blocks")
            what = ", ".join(parts) or "nothing removed"
        else:
            what = f"{config['amount']:.0%} sparse"
        return f"{label} (pruned: {what})"


def run_pruning(
    source: LoadedModel,
    pass_name: str,
    config: Any,
    *,
    dataset: Any = None,
    ctx: RunContext | None = None,
    measure: bool = True,
    batches: Sequence[int] = (1, 32),
    seconds: float = 0.5,
    threads: int | None = None,
) -> PruneRun:
    """Run ``pass_name`` on ``source`` (unchanged) and measure both models.

    ``dataset`` (an ArrayDataset) feeds fine-tuning, Taylor ranking and accuracy;
    ``threads``: ONNX Runtime's intra-op threads for the latencies (None: its default).
    """
    from workbench.core.catalogue import get_registry
    from workbench.core.compress.base import run_pass
    from workbench.core.compress.pruning.report import measure_pair, ratios
    from workbench.core.config_schema import config_to_dict

    ctx = ctx or RunContext()
    pass_class = get_registry().pass_(pass_name).load()
    share = PASS_SHARE if measure else 1.0

    def pass_progress(fraction: float | None, message: str) -> None:
        ctx.report(None if fraction is None else share * fraction, message)

    inner = dataclasses.replace(
        ctx, progress=pass_progress, data=ctx.data if dataset is None else dataset
    )
    result = run_pass(pass_class, source, config, inner)
    if isinstance(config, dict):
        from workbench.core.config_schema import config_from_dict

        config = config_from_dict(pass_class.config_class, config, where=pass_name)
    run = PruneRun(
        model=result.model,
        step={"pass": pass_name, "config": config_to_dict(config)},
        pass_metrics=result.metrics,
        notes=list(result.notes),
    )
    if measure:

        def measure_progress(fraction: float | None, message: str) -> None:
            ctx.report(share + (1 - share) * (fraction or 0.0), message)

        outer = RunContext(device=ctx.device, progress=measure_progress, cancel=ctx.cancel)
        run.figures, run.measured, run.parent_measured = measure_pair(
            source,
            result.model,
            dataset=dataset,
            batches=batches,
            seconds=seconds,
            ctx=outer,
            threads=threads,
        )
        run.ratios = ratios(run.figures)
    ctx.report(1.0, "done")
    return run


def write_pruned_variant(
    run: PruneRun,
    folder: Path,
    *,
    source: str,
    arch: str | None,
    dataset: str | None,
    data: Any = None,
    onnx: bool = True,
    ctx: RunContext | None = None,
) -> dict[str, Path]:
    """``model.pt`` (weights + pruned shapes), ``model.onnx`` and ``variant.json``."""
    folder = Path(folder)
    files: dict[str, Path] = {}
    if onnx:
        from workbench.core.export import ExportOptions, export_onnx

        folder.mkdir(parents=True, exist_ok=True)
        files["onnx"] = folder / ONNX_FILE
        report = export_onnx(
            run.model, files["onnx"], ExportOptions(dynamic_batch=True), data=data, ctx=ctx
        )
        run.notes += report.notes
    record = VariantRecord(
        name=run.name(arch or Path(source).stem),
        kind="pruned",
        source=source,
        arch=arch,
        dataset=dataset,
        framework="pytorch",
        status="finished",
        step=run.step,
        metrics=_plain(run.metrics),
        notes=run.notes,
    )
    return write_variant(folder, record, run.model, weights="pruned", files=files)


def _plain(value: Any) -> Any:
    """JSON has no inf/NaN: they become strings; tuples become lists."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
