"""The stdlib-text corpus and tiny_lm: real stdlib files, a real BPE tokenizer."""

from __future__ import annotations

import numpy as np
import torch

from workbench.core.data import stdlib_text
from workbench.core.data.stdlib_text import load_stdlib_text
from workbench.core.models.tiny_lm import TinyLM


def test_windows_are_next_token_pairs_and_the_split_is_by_module() -> None:
    data = load_stdlib_text(context=16, max_train_tokens=4000, max_val_tokens=800)
    assert data.task == "language-modeling"
    assert data.x_train.shape == (4000 // 16, 16) and data.x_val.shape == (800 // 16, 16)
    # y is x shifted by one token, across window boundaries too.
    stream = np.concatenate([data.x_train.ravel(), data.y_train[-1:, -1]])
    assert np.array_equal(data.y_train.ravel(), stream[1:])
    train, val = stdlib_text.stdlib_texts()
    assert "Return" in train and len(val) > 10_000
    assert val[:2000] not in train  # whole modules go to one side
    assert data.num_classes == stdlib_text.VOCAB_SIZE


def test_the_tokenizer_round_trips_prose_and_is_cached_identically(tmp_path, monkeypatch) -> None:
    data = load_stdlib_text(context=16, max_train_tokens=200, max_val_tokens=200)
    text = "Return the number of items in the list."
    ids = data.encode(text)
    assert data.decode(ids) == text
    assert len(ids) < len(text.split()) * 2  # BPE merged common words, not bytes
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path))
    fresh = stdlib_text._train_tokenizer(stdlib_text.VOCAB_SIZE)
    assert fresh.to_str() == data.tokenizer.to_str()  # deterministic for one Python


def test_tiny_lm_is_causal() -> None:
    torch.manual_seed(0)
    model = TinyLM(vocab_size=64, context=16, width=32, layers=2, heads=4).eval()
    ids = torch.randint(0, 64, (2, 12))
    changed = ids.clone()
    changed[:, 8:] = (changed[:, 8:] + 1) % 64
    with torch.no_grad():
        a, b = model(ids), model(changed)
    assert a.shape == (2, 12, 64)
    assert torch.allclose(a[:, :8], b[:, :8], atol=1e-6)  # the past never sees the future
    assert not torch.allclose(a[:, 8:], b[:, 8:])
