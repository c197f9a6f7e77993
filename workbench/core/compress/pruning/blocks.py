"""Depth pruning for image models: drop whole blocks (a ResNet's basic blocks) that map
their input to an output of the same shape, so the network still runs with the block
replaced by its input.

Channel pruning thins every layer but keeps each one's fixed cost; at batch 1 a small
network's latency is mostly that per-layer cost (a width-2 ResNet pruned to 8/16/32
channels ran 21x faster than the original on one CPU thread, the same with one of its
16x16 blocks gone 30x). Torch-Pruning removes channels, not layers, and the language
model path (``lm.py``) drops decoder layers through the model's config, so this is
hand-written: a block is found by shape (a child of an ``nn.Sequential`` with at least
two weighted layers whose output has its input's shape) and ranked by the loss on
validation data with it left out, the least harmful dropped first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.core.errors import WorkbenchError
from workbench.core.io.pruned_shapes import swap_layer

SCAN_SAMPLES = 1024  # validation samples each block's absence is scored on


@dataclass
class BlockScore:
    name: str  # the block's module name, e.g. "stages.0.1"
    loss: float  # validation cross-entropy with the block left out
    top1: float  # and top-1


def droppable_blocks(module: Any, example: Any) -> list[str]:
    """Names of the blocks the model can run without (module doc), in forward order."""
    import torch
    from torch import nn

    weighted = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
    candidates = {
        f"{parent}.{child}" if parent else child: block
        for parent, container in module.named_modules()
        if isinstance(container, nn.Sequential)
        for child, block in container.named_children()
        if sum(isinstance(m, weighted) for m in block.modules()) >= 2
    }
    same_shape: list[str] = []

    def hook(name: str) -> Any:
        def record(_module: Any, args: tuple, output: Any) -> None:
            if (len(args) == 1 and isinstance(args[0], torch.Tensor)
                    and isinstance(output, torch.Tensor)
                    and args[0].shape == output.shape and name not in same_shape):  # fmt: skip
                same_shape.append(name)

        return record

    handles = [block.register_forward_hook(hook(name)) for name, block in candidates.items()]
    try:
        with torch.no_grad():
            module.eval()(example)
    finally:
        for handle in handles:
            handle.remove()
    return same_shape


def drop_blocks(module: Any, names: list[str]) -> None:
    """Replace each named block of ``module`` (in place) by ``nn.Identity``."""
    for name in names:
        swap_layer(module, name)


def scan_blocks(module: Any, dataset: Any, example: Any, ctx: Any = None) -> list[BlockScore]:
    """Each droppable block scored by the validation loss without it, least harmful first.
    Each block is swapped out of ``module`` and back (no copy of the model per block)."""
    import torch

    names = droppable_blocks(module, example)
    count = min(SCAN_SAMPLES, len(dataset.x_val))
    device = next(module.parameters()).device
    x = torch.as_tensor(dataset.x_val[:count].copy()).to(device)
    y = torch.as_tensor(dataset.y_val[:count].copy()).long().to(device)
    scores = []
    for index, name in enumerate(names):
        if ctx is not None:
            ctx.check()
            ctx.report(index / max(1, len(names)), f"scoring the model without {name}")
        block = swap_layer(module, name)
        try:
            with torch.no_grad():
                logits = torch.cat([module(batch) for batch in x.split(256)])
        except (RuntimeError, TypeError, AttributeError):
            continue  # the forward reads the block itself, not just its output: keep it
        finally:
            swap_layer(module, name, block)
        loss = float(torch.nn.functional.cross_entropy(logits, y))
        top1 = float((logits.argmax(1) == y).float().mean())
        scores.append(BlockScore(name, loss, top1))
    return sorted(scores, key=lambda s: s.loss)


def drop_least_important(
    module: Any, count: int, dataset: Any, example: Any, ctx: Any = None
) -> list[str]:
    """Drop the ``count`` blocks whose absence costs least (in place); notes on what went."""
    if dataset is None or getattr(dataset, "task", "classification") != "classification":
        raise WorkbenchError("dropping blocks needs labelled image or tabular data to rank them")
    scores = scan_blocks(module, dataset, example, ctx)
    if count > len(scores):
        raise WorkbenchError(
            f"cannot drop {count} block(s): the model has {len(scores)} that keep their "
            "input's shape (blocks of a stage after its first)"
        )
    chosen = scores[:count]
    drop_blocks(module, [s.name for s in chosen])
    return [
        f"dropped block {s.name}: validation top-1 {s.top1:.1%} without it alone (rank "
        f"{rank} of {len(scores)} blocks, by the loss without each)"
        for rank, s in enumerate(chosen, start=1)
    ]
