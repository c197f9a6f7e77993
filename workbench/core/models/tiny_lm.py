"""``tiny_lm``: a small GPT-style decoder-only language model for ``stdlib-text``.

Pre-norm blocks of causal self-attention and a GELU MLP, learned positions, an untied
``lm_head``. Hand-written (not a transformers class) so it is plain ``nn.Linear``
layers that Torch-Pruning, the ONNX exporters and ORT's weight-only quantizer all take
as they are, and so it builds without the ``hf`` extra.

Query, key and value are separate layers and the head count is read from the query's
width (``heads = width // head_dim``), so removing whole heads' channels from
``q/k/v`` and ``out`` (head pruning) leaves a model that still runs; the MLP's hidden
width can shrink the same way.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class CausalSelfAttention(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not a multiple of {heads} heads")
        self.head_dim = width // heads
        self.q_proj = nn.Linear(width, width)
        self.k_proj = nn.Linear(width, width)
        self.v_proj = nn.Linear(width, width)
        self.out_proj = nn.Linear(width, width)

    def forward(self, x: Tensor) -> Tensor:
        batch, length, _ = x.shape
        q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        heads = q.shape[-1] // self.head_dim

        def split(t: Tensor) -> Tensor:
            return t.view(batch, length, heads, self.head_dim).transpose(1, 2)

        y = F.scaled_dot_product_attention(split(q), split(k), split(v), is_causal=True)
        return self.out_proj(y.transpose(1, 2).reshape(batch, length, heads * self.head_dim))


class DecoderBlock(nn.Module):
    def __init__(self, width: int, heads: int, mlp_ratio: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = CausalSelfAttention(width, heads)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(
            nn.Linear(width, width * mlp_ratio), nn.GELU(), nn.Linear(width * mlp_ratio, width)
        )

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class TinyLM(nn.Module):
    """``forward(input_ids (B, T) int64) -> logits (B, T, vocab)``; T ≤ ``context``."""

    def __init__(
        self,
        vocab_size: int = 2048,
        context: int = 128,
        width: int = 128,
        layers: int = 4,
        heads: int = 4,
        mlp_ratio: int = 4,
    ) -> None:
        super().__init__()
        self.context = context
        self.embed = nn.Embedding(vocab_size, width)
        self.position = nn.Embedding(context, width)
        self.blocks = nn.ModuleList(DecoderBlock(width, heads, mlp_ratio) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width)
        self.lm_head = nn.Linear(width, vocab_size, bias=False)
        self.apply(_init)

    def forward(self, input_ids: Tensor) -> Tensor:
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        x = self.embed(input_ids) + self.position(positions)
        for block in self.blocks:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def _init(module: nn.Module) -> None:
    # GPT-2's scheme: small normal weights, zero biases (PyTorch's default fan-in
    # uniform makes the first logits large and the first steps slow on a 2k vocabulary).
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)
