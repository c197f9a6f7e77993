"""Running one candidate's own step with the existing passes, as a recipe replays it."""

from __future__ import annotations

import dataclasses
from typing import Any

from workbench.core.context import RunContext
from workbench.core.io.loaded import LoadedModel
from workbench.core.optimize.config import OptimizeConfig


def run_step(
    model: LoadedModel, step: dict[str, Any], config: OptimizeConfig, ctx: RunContext
) -> tuple[LoadedModel, dict[str, Any], list[str]]:
    """``step`` applied to ``model`` through ``run_pass`` (as ``run_recipe`` does), on
    ``ctx.data``; returns the new model, the step as recorded and the pass's notes.

    A static INT8 step with ``auto_exclude`` goes through ``quantize_variant``, which
    quantizes twice to name the worst nodes; the recorded step lists them in
    ``exclude`` (``auto_exclude`` 0), so the recipe remakes the same model.
    """
    from workbench.core.catalogue import get_registry
    from workbench.core.compress.base import run_pass
    from workbench.core.config_schema import config_from_dict, config_to_dict

    name = step["pass"]
    if name == "quantize-static" and config.auto_exclude:
        from workbench.core.compress.quantization.workflow import quantize_variant

        settings = {**step["config"], "auto_exclude": config.auto_exclude}
        outcome = quantize_variant(model, "static", settings, data=ctx.data, device=config.device,
                                   batches=(), measure_figures=False, ctx=ctx)  # fmt: skip
        return outcome.model, {"pass": name, "config": outcome.config}, list(outcome.notes)
    pass_class = get_registry().pass_(name).load()
    settings = config_from_dict(pass_class.config_class, step["config"], where=name)
    model = dataclasses.replace(model, dataset=model.dataset)
    result = run_pass(pass_class, model, settings, ctx)
    return result.model, {"pass": name, "config": config_to_dict(settings)}, list(result.notes)
