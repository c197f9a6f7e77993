"""Perplexity: exp of the mean next-token cross-entropy over a split, in torch or ORT.

Both runtimes sum the cross-entropy of every token in float64 and divide once, so the
two figures for one model differ only by the runtimes' arithmetic (tests hold them to
1%). Windows are independent (no state carried between them), as in ``stdlib-text``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

DEFAULT_BATCH = 32


def torch_perplexity(
    module: Any, x: np.ndarray, y: np.ndarray, batch_size: int = DEFAULT_BATCH, device: str = "cpu"
) -> float:
    """Perplexity of a torch module mapping ids (B, T) to logits (B, T, V)."""
    import torch
    import torch.nn.functional as F

    total = 0.0
    was_training = module.training
    module.eval()
    with torch.inference_mode():
        for start in range(0, len(x), batch_size):
            ids = torch.as_tensor(np.array(x[start : start + batch_size]), device=device)
            labels = torch.as_tensor(np.array(y[start : start + batch_size]), device=device)
            logits = module(ids)
            if isinstance(logits, (tuple, list)):
                logits = logits[0]
            total += float(
                F.cross_entropy(logits.double().flatten(0, 1), labels.flatten(), reduction="sum")
            )
    module.train(was_training)
    return _from_total(total, y)


def ort_perplexity(
    session: Any, x: np.ndarray, y: np.ndarray, batch_size: int = DEFAULT_BATCH
) -> float:
    """Perplexity of an ``onnxruntime.InferenceSession`` whose first input takes the ids
    and whose first output is the logits."""
    name = session.get_inputs()[0].name
    total = 0.0
    for start in range(0, len(x), batch_size):
        ids = np.ascontiguousarray(x[start : start + batch_size], dtype=np.int64)
        logits = session.run(None, {name: ids})[0]
        total += token_nll_sum(logits, np.asarray(y[start : start + batch_size]))
    return _from_total(total, y)


def token_nll_sum(logits: np.ndarray, labels: np.ndarray) -> float:
    """Summed negative log-likelihood of ``labels`` (B, T) under ``logits`` (B, T, V)."""
    flat = logits.reshape(-1, logits.shape[-1]).astype(np.float64)
    picked = labels.reshape(-1)
    shifted = flat - flat.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    return float(np.sum(log_norm - shifted[np.arange(len(picked)), picked]))


def _from_total(total: float, y: np.ndarray) -> float:
    tokens = int(np.asarray(y).size)
    if tokens == 0:
        return float("nan")
    return math.exp(total / tokens)
