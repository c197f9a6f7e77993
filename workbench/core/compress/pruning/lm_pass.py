"""The ``lm-prune`` pass: depth (scan, then drop), then heads and MLP width, then fine-tune."""

from __future__ import annotations

from typing import Any

from workbench.core.compress.base import Pass, PassResult
from workbench.core.compress.pruning.config import LMPruneConfig
from workbench.core.compress.pruning.layers import dataset_of, example_input, finetune, prepare
from workbench.core.context import RunContext
from workbench.core.io.loaded import LoadedModel


class LMPrune(Pass):
    name = "lm-prune"
    title = "Language-model pruning (heads, MLP width, depth)"
    description = (
        "Removes whole attention heads and MLP hidden channels (Torch-Pruning, q/k/v and "
        "the output projection together) and the blocks a perplexity scan finds least "
        "important. The embedding width and the output layer stay whole."
    )
    config_class = LMPruneConfig
    frameworks = ("pytorch",)

    def apply(self, model: LoadedModel, config: Any, ctx: RunContext) -> PassResult:
        from workbench.core.compress.pruning import lm
        from workbench.core.compress.pruning.structured import count_macs_params

        result, module, device, _ = prepare(model, config, ctx)
        lm.require_blocks(module, model.display_name)
        needs_data = config.depth > 0 or config.finetune_epochs > 0 or config.method == "taylor"
        dataset = dataset_of(ctx, "language-model pruning", model=model, required=needs_data)
        example = example_input(model, device)
        before = lm.block_shapes(module)
        macs0, params0 = count_macs_params(module, example)
        metrics: dict[str, Any] = {}
        if config.depth > 0:
            ctx.report(0.05, f"scanning {len(before)} blocks")
            windows = config.scan_windows
            scan = lm.scan_depth(
                module, dataset.x_val[:windows], dataset.y_val[:windows], check=ctx.check
            )
            dropped = sorted(s.index for s in scan.ranked()[: config.depth])
            lm.drop_blocks(module, dropped)
            result.arch = lm.arch_with_layers(result.arch, len(module.blocks))
            metrics["depth_scan"] = scan.to_json()
            metrics["dropped_blocks"] = dropped
        ctx.report(0.3, "removing heads and MLP channels")
        lm.prune_heads_mlp(
            module,
            example,
            heads=config.heads,
            mlp=config.mlp,
            method=config.method,
            gradients=lm.lm_gradients(dataset, config.taylor_batches) if dataset else None,
        )
        if config.finetune_epochs:
            metrics["finetune"] = finetune(
                module, model, dataset, config, step=1, ctx=ctx, span=(0.4, 1.0)
            )
        macs1, params1 = count_macs_params(module, example)
        result.module = module.cpu().eval()
        metrics.update({
            "blocks_before": before,
            "blocks_after": lm.block_shapes(module),
            "macs_before": macs0,
            "macs_after": macs1,
            "params_before": params0,
            "params_after": params1,
            "params_reduction": params0 / params1 if params1 else float("inf"),
        })  # fmt: skip
        ctx.report(1.0, "pruned")
        return PassResult(
            model=result,
            metrics=metrics,
            notes=["Pruning changed the layer shapes: reopen the saved weights with "
                   "the same --arch (model.pt records the pruned shapes)."],
        )  # fmt: skip
