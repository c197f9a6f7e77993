"""Pruning decoder language models: whole attention heads, MLP hidden width, and depth.

Heads and MLP width go through Torch-Pruning's transformer support: q/k/v are declared
with their head counts (``num_heads``, ``prune_num_heads``), so a removed head takes
its q/k/v output channels and ``out_proj``'s input channels together, and the MLP's
hidden channels (``mlp[0]`` out, ``mlp[2]`` in) shrink as one group. The embedding is
ignored, which keeps the residual width (embed, every block's output, ``lm_head``'s
input) whole: Torch-Pruning skips a group that would cut an ignored layer's outputs.

Depth is not a channel group, so Torch-Pruning has no say: a sensitivity scan replaces
each block in turn by the identity (the residual stream passes through unchanged),
measures validation perplexity, and the blocks whose absence costs least are removed.

A model qualifies when it has a ``blocks`` list of pre-norm decoder blocks with
``attn.{q,k,v,out}_proj`` and an ``mlp`` sequence (the ``tiny_lm`` layout).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workbench.core.errors import WorkbenchError

ATTENTION = ("q_proj", "k_proj", "v_proj", "out_proj")


def decoder_blocks(module: Any) -> Any | None:
    """The module's decoder blocks (an ``nn.ModuleList``), or None when it has none."""
    from torch import nn

    blocks = getattr(module, "blocks", None)
    if not isinstance(blocks, nn.ModuleList) or len(blocks) == 0:
        return None
    for block in blocks:
        attn = getattr(block, "attn", None)
        linear = [isinstance(getattr(attn, n, None), nn.Linear) for n in ATTENTION]
        if attn is None or not all(linear):
            return None
        mlp = getattr(block, "mlp", None)
        if not isinstance(mlp, nn.Sequential) or not isinstance(mlp[0], nn.Linear):
            return None
    return blocks


def require_blocks(module: Any, name: str) -> Any:
    blocks = decoder_blocks(module)
    if blocks is None:
        raise WorkbenchError(
            f"{name} is not a decoder language model (no attention blocks with q/k/v "
            "projections): head, MLP-width and depth pruning are for language models; use "
            "channel pruning (--method l1) instead"
        )
    return blocks


def block_shapes(module: Any) -> list[dict[str, int]]:
    """Heads and MLP hidden width of each block, for the before/after table."""
    return [
        {
            "heads": block.attn.q_proj.out_features // block.attn.head_dim,
            "mlp": block.mlp[0].out_features,
        }
        for block in decoder_blocks(module) or []
    ]


def prune_heads_mlp(
    module: Any,
    example: Any,
    *,
    heads: float,
    mlp: float,
    method: str = "l2",
    gradients: Callable[[Any], None] | None = None,
) -> None:
    """Remove ``heads`` of every block's attention heads and ``mlp`` of its MLP hidden
    channels, in place, ranked by ``method`` (l1, l2 or taylor). ``gradients(module)``
    fills the weights' gradients for Taylor ranking."""
    import torch_pruning as tp

    from workbench.core.compress.pruning.structured import importance_for

    blocks = require_blocks(module, type(module).__name__)
    if heads <= 0 and mlp <= 0:
        return
    ignored = [m for m in module.modules() if m.__class__.__name__ == "Embedding"]
    num_heads: dict[Any, int] = {}
    for block in blocks:
        attn = block.attn
        count = attn.q_proj.out_features // attn.head_dim
        if heads > 0 and math.floor(count * heads) < 1:
            raise WorkbenchError(
                f"removing {heads:.0%} of {count} heads removes none: ask for at least "
                f"{1 / count:.0%}"
            )
        for name in ("q_proj", "k_proj", "v_proj"):
            num_heads[getattr(attn, name)] = count
            if heads <= 0:  # their outputs are in the attention group: ignoring them keeps it
                ignored.append(getattr(attn, name))
        if mlp <= 0:
            ignored.append(block.mlp[0])
    lm_head = getattr(module, "lm_head", None)
    if lm_head is not None:
        ignored.append(lm_head)
    if method == "taylor":
        if gradients is None:
            raise WorkbenchError("taylor ranking needs training data")
        gradients(module)
    pruner = tp.pruner.BasePruner(
        module,
        example,
        importance=importance_for(method),
        # The MLP groups' ratio. Torch-Pruning skips every group, heads too, at ratio 0,
        # so with the MLPs ignored (mlp 0) it is the heads' ratio, which then acts only
        # through head_pruning_ratio (whole heads: head dims are not pruned).
        pruning_ratio=mlp if mlp > 0 else heads,
        ignored_layers=ignored,
        num_heads=num_heads,
        prune_num_heads=heads > 0,
        prune_head_dims=False,  # whole heads only: every head keeps head_dim channels
        head_pruning_ratio=max(heads, 0.0),
    )
    pruner.step()
    module.zero_grad(set_to_none=True)


@dataclass(frozen=True)
class BlockScore:
    """Validation perplexity with one block replaced by the identity."""

    index: int
    perplexity: float

    def to_json(self) -> dict[str, Any]:
        return {"block": self.index, "perplexity": self.perplexity}


@dataclass
class DepthScan:
    baseline: float  # perplexity with every block
    scores: list[BlockScore]  # in block order

    def ranked(self) -> list[BlockScore]:
        """Least important first: the block whose removal hurts perplexity least."""
        return sorted(self.scores, key=lambda s: s.perplexity)

    def to_json(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "blocks": [s.to_json() for s in self.scores]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DepthScan:
        scores = [BlockScore(int(b["block"]), float(b["perplexity"])) for b in data["blocks"]]
        return cls(float(data["baseline"]), scores)

    def table(self) -> str:
        """The scan as the CLI prints it, blocks ranked least important first."""
        lines = [f"depth scan (validation perplexity, all blocks: {self.baseline:.2f})",
                 "rank  block  perplexity without it  change"]  # fmt: skip
        for rank, score in enumerate(self.ranked(), start=1):
            change = score.perplexity / self.baseline - 1.0
            lines.append(f"{rank:>4}  {score.index:>5}  {score.perplexity:>21.2f}  {change:+7.1%}")
        return "\n".join(lines)


def scan_depth(
    module: Any, x: Any, y: Any, *, check: Callable[[], None] | None = None
) -> DepthScan:
    """Perplexity on ``x``/``y`` (token windows and next-token labels) without each block."""
    from torch import nn

    from workbench.core.lm.perplexity import torch_perplexity

    blocks = require_blocks(module, type(module).__name__)
    device = str(next(module.parameters()).device)
    baseline = torch_perplexity(module, x, y, device=device)
    scores = []
    for index in range(len(blocks)):
        if check is not None:
            check()
        block = blocks[index]
        blocks[index] = nn.Identity()  # pre-norm residual block: identity = x passes through
        try:
            scores.append(BlockScore(index, torch_perplexity(module, x, y, device=device)))
        finally:
            blocks[index] = block
    return DepthScan(baseline, scores)


def drop_blocks(module: Any, indices: list[int]) -> None:
    """Remove the blocks at ``indices`` from the module, in place."""
    from torch import nn

    blocks = require_blocks(module, type(module).__name__)
    if len(set(indices)) >= len(blocks):
        raise WorkbenchError(f"cannot drop {len(set(indices))} of {len(blocks)} blocks")
    kept = [block for i, block in enumerate(blocks) if i not in set(indices)]
    module.blocks = nn.ModuleList(kept)


def arch_with_layers(arch: str | None, layers: int) -> str | None:
    """The zoo arch that builds ``layers`` blocks (``tiny_lm:width=64,layers=2`` with 1
    block -> ``tiny_lm:width=64,layers=1``), so a depth-pruned ``model.pt`` reopens."""
    if not arch:
        return arch
    name, _, params = arch.partition(":")
    kept = [p for p in params.split(",") if p and not p.startswith("layers=")]
    return f"{name}:{','.join([*kept, f'layers={layers}'])}"


def lm_gradients(dataset: Any, batches: int, batch_size: int = 32) -> Callable[[Any], None]:
    """A ``gradients(module)`` that back-propagates next-token loss on a few batches."""

    def fill(module: Any) -> None:
        import torch
        import torch.nn.functional as F

        x, y = dataset.train_tensors().tensors
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
        device = next(module.parameters()).device
        module.zero_grad(set_to_none=True)
        for index in range(batches):
            idx = order[index * batch_size : (index + 1) * batch_size]
            if len(idx) == 0:
                break
            logits = module(x[idx].to(device))
            F.cross_entropy(logits.flatten(0, 1), y[idx].to(device).flatten()).backward()

    return fill
