"""A recipe step run again on its parent and measured as its wizard measures, so the
fix loop's re-run stands beside the first run in Compare with the same figures.

Quantization goes through ``quantize_variant`` and pruning through ``run_pruning`` (each
the code path its wizard and command take: accuracy, size, and ONNX Runtime latency
before and after); any other pass runs as a recipe step runs, with its own metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.core.context import RunContext
from workbench.core.io.loaded import LoadedModel

QUANTIZE = "quantize-"
PRUNE_PASSES = ("channel-prune", "magnitude-prune")
BATCHES = (1,)  # the fix loop compares at batch 1: quick enough to run again and again
SECONDS = 0.5


@dataclass
class Rerun:
    model: LoadedModel
    step: dict[str, Any]
    metrics: dict[str, Any]


def run_again(source: LoadedModel, step: dict[str, Any], ctx: RunContext) -> Rerun:
    """The pass of ``step`` on ``source`` (unchanged), measured before and after where
    its wizard measures; cancelled through ``ctx`` like the pass itself."""
    name = step["pass"]
    if name.startswith(QUANTIZE):
        from workbench.core.compress.quantization.workflow import quantize_variant

        outcome = quantize_variant(source, name.removeprefix(QUANTIZE), step["config"],
                                   batches=BATCHES, seconds=SECONDS, ctx=ctx)  # fmt: skip
        made = {"pass": outcome.pass_name, "config": outcome.config}
        return Rerun(outcome.model, made, outcome.variant_metrics())
    if name in PRUNE_PASSES:
        from workbench.core.compress.pruning.variant import run_pruning
        from workbench.core.measure.inputs import as_target, resolve_dataset

        dataset = resolve_dataset(None, as_target(source))  # the model's own, as the wizard
        run = run_pruning(source, name, step["config"], dataset=dataset, ctx=ctx,
                          batches=BATCHES, seconds=SECONDS)  # fmt: skip
        return Rerun(run.model, run.step, run.metrics)
    from workbench.core.catalogue import get_registry
    from workbench.core.compress.base import run_pass
    from workbench.core.config_schema import config_from_dict

    pass_class = get_registry().pass_(name).load()
    config = config_from_dict(pass_class.config_class, step["config"])
    ctx.data = source.dataset
    result = run_pass(pass_class, source, config, ctx)
    return Rerun(result.model, step, dict(result.metrics))
