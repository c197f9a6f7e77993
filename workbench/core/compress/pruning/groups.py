"""What channel pruning will remove, group by group, before anything is removed.

Torch-Pruning couples every slice that must shrink together into a group (a conv's
filters, its BatchNorm, the next layers' inputs, both sides of a residual add). Its
pruner can hand out each group it is about to prune (``step(interactive=True)``)
without pruning it: this runs that on a copy, with the very pruner, ratio search and
ranking the pass uses, so the preview is what the run does (in one step: an iterative
schedule reaches the same final ratio).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from workbench.core.compress.pruning.config import ChannelPruneConfig
from workbench.core.compress.pruning.layers import dataset_of, example_input, prepare
from workbench.core.context import RunContext
from workbench.core.io.loaded import LoadedModel

OUT, IN = "output channels", "input channels"


@dataclass(frozen=True)
class PruningGroup:
    """Layers whose channels are removed together, led by the layer that is ranked."""

    root: str  # the layer whose output channels are ranked and cut
    channels: int  # its output channels now
    removed: int  # how many go
    members: tuple[tuple[str, str], ...]  # (layer, OUT or IN) that shrink with it


@dataclass(frozen=True)
class GroupPreview:
    groups: list[PruningGroup]
    ratio: float  # the channel ratio pruned (searched when the target is not channels)

    @property
    def removed(self) -> int:
        return sum(group.removed for group in self.groups)

    @property
    def channels(self) -> int:
        return sum(group.channels for group in self.groups)


def preview_groups(
    model: LoadedModel, config: ChannelPruneConfig, ctx: RunContext | None = None
) -> GroupPreview:
    """The groups ``channel-prune`` with ``config`` would cut; ``model`` is untouched."""
    from workbench.core.compress.pruning.structured import (
        accumulate_gradients,
        make_pruner,
        search_ratio,
    )

    ctx = ctx or RunContext()
    _result, module, device, overrides = prepare(model, config, ctx)  # a copy
    example = example_input(model, device)
    dataset = dataset_of(ctx, "Taylor ranking", model=model, required=config.method == "taylor")
    one_shot = dataclasses.replace(config, steps=1)
    ratio = config.amount
    if config.target != "channels":
        ctx.report(
            None, f"searching the channel ratio for {config.amount:.0%} fewer {config.target}"
        )
        ratio = search_ratio(module, model, one_shot, overrides, example, dataset, ctx)
    ctx.check()
    if config.method == "taylor":
        accumulate_gradients(module, dataset, config.taylor_batches, device)
    ctx.report(None, "asking Torch-Pruning which channels go together")
    pruner = make_pruner(module, one_shot, ratio, overrides, example)
    names = {layer: name for name, layer in module.named_modules() if name}
    groups = [_describe(group, names) for group in pruner.step(interactive=True)]
    return GroupPreview([g for g in groups if g is not None], ratio)


def _describe(group: Any, names: dict[Any, str]) -> PruningGroup | None:
    # Items are (dependency, channel indices); Torch-Pruning's own pseudo-modules for
    # adds, reshapes and concatenations have no name in the model and are left out.
    members: list[tuple[str, str]] = []
    root, removed = None, 0
    for item in group.items:
        module = item.dep.target.module
        name = names.get(module)
        handler = getattr(item.dep.handler, "__name__", "")
        if name is None or not handler.startswith("prune_"):
            continue
        if root is None:  # the first item is the group's root: its count is the cut
            root, removed = module, len(item.idxs)
        side = IN if "in_channels" in handler else OUT
        if (name, side) not in members:
            members.append((name, side))
    if root is None:
        return None
    channels = int(root.weight.shape[0]) if getattr(root, "weight", None) is not None else 0
    return PruningGroup(members[0][0], channels, removed, tuple(members[1:]))
