"""A small transformer-encoder classifier for token sequences.

The attention model of the zoo: it gives pruning, quantization and export an
``nn.MultiheadAttention`` / ``nn.TransformerEncoder`` to handle.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class SequenceTransformer(nn.Module):
    """Token + learned position embeddings, a pre-norm encoder, mean pooling, ``fc``.

    No dropout by default: on the small generated data it only slows learning. Position
    embeddings start at the token embeddings' scale (N(0, 1)) so word order counts from
    the first step; at a smaller scale the model first settles for counting tokens.
    """

    def __init__(
        self,
        num_classes: int = 8,
        vocab_size: int = 32,
        seq_len: int = 32,
        d_model: int = 64,
        heads: int = 4,
        layers: int = 2,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.seq_len = seq_len
        self.embedding = nn.Embedding(vocab_size, d_model)
        self.position = nn.Parameter(torch.randn(1, seq_len, d_model))
        layer = nn.TransformerEncoderLayer(
            d_model,
            heads,
            dim_feedforward=d_model * 2,
            dropout=dropout,
            batch_first=True,
            norm_first=True,
        )
        # No nested tensors: they are a fast path torch.export and ONNX export cannot trace.
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.fc = nn.Linear(d_model, num_classes)

    def forward(self, tokens: Tensor) -> Tensor:
        x = self.embedding(tokens) + self.position[:, : tokens.shape[1]]
        x = self.norm(self.encoder(x))
        return self.fc(x.mean(dim=1))
