"""Generated token sequences, each carrying one of eight planted patterns.

The transformer's dataset: the class is told by a few tokens at fixed gaps, placed
anywhere in random noise. The motifs share tokens, so counting tokens is not enough;
a model has to relate positions, which is what attention does.
"""

from __future__ import annotations

import functools

import numpy as np

from workbench.core.data.dataset import ArrayDataset, read_only

SEQUENCE_LENGTH = 32
VOCAB_SIZE = 32
# Each class: (offset, token) pairs. Every token of 1..12 is in two motifs and two
# motifs share at most one token, so a motif is told by its tokens together, in place;
# every token also occurs in the noise.
MOTIFS: tuple[tuple[tuple[int, int], ...], ...] = (
    ((0, 1), (1, 2), (2, 3)),
    ((0, 4), (1, 5), (2, 6)),
    ((0, 7), (1, 8), (2, 9)),
    ((0, 10), (1, 11), (2, 12)),
    ((0, 1), (2, 5), (4, 9)),
    ((0, 4), (1, 8), (3, 12)),
    ((0, 7), (3, 11), (4, 3)),
    ((0, 10), (1, 2), (3, 6)),
)


def _motif_name(motif: tuple[tuple[int, int], ...]) -> str:
    """``((0, 1), (2, 2))`` -> ``"1 _ 2"``: the tokens in place, ``_`` for any token."""
    slots = ["_"] * (motif[-1][0] + 1)
    for offset, token in motif:
        slots[offset] = str(token)
    return " ".join(slots)


CLASS_NAMES = tuple(_motif_name(motif) for motif in MOTIFS)


def load_sequences(train_size: int = 8000, val_size: int = 2000, seed: int = 0) -> ArrayDataset:
    """int64 token sequences (N, 32), 8 balanced classes; the same for the same arguments."""
    x_train, y_train, x_val, y_val = _generate_split(int(train_size), int(val_size), int(seed))
    return ArrayDataset(
        name="sequences",
        task="classification",
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        num_classes=len(MOTIFS),
        class_names=CLASS_NAMES,
    )


@functools.lru_cache(maxsize=4)
def _generate_split(
    train_size: int, val_size: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x_train, y_train = generate_sequences(train_size, np.random.default_rng([seed, 0]))
    x_val, y_val = generate_sequences(val_size, np.random.default_rng([seed, 1]))
    arrays = (x_train, y_train, x_val, y_val)
    read_only(*arrays)
    return arrays


def generate_sequences(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``count`` sequences (int64, N x 32) and balanced labels (int64).

    Noise that happens to spell another class's motif is drawn again, so every label
    is unambiguous.
    """
    labels = rng.permutation(np.arange(count) % len(MOTIFS)).astype(np.int64)
    tokens = rng.integers(0, VOCAB_SIZE, (count, SEQUENCE_LENGTH), dtype=np.int64)
    starts = np.empty(count, dtype=np.int64)
    for cls, motif in enumerate(MOTIFS):
        rows = np.flatnonzero(labels == cls)
        span = motif[-1][0] + 1
        starts[rows] = rng.integers(0, SEQUENCE_LENGTH - span + 1, len(rows))
    _plant(tokens, labels, starts)
    for _ in range(100):
        ambiguous = np.flatnonzero(_foreign_motif(tokens, labels))
        if not len(ambiguous):
            break
        tokens[ambiguous] = rng.integers(0, VOCAB_SIZE, (len(ambiguous), SEQUENCE_LENGTH))
        _plant(tokens, labels, starts)
    return tokens, labels


def _plant(tokens: np.ndarray, labels: np.ndarray, starts: np.ndarray) -> None:
    for cls, motif in enumerate(MOTIFS):
        rows = np.flatnonzero(labels == cls)
        for offset, token in motif:
            tokens[rows, starts[rows] + offset] = token


def _foreign_motif(tokens: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Rows that contain the motif of a class other than their own, anywhere."""
    found = np.zeros(len(tokens), dtype=bool)
    for cls, motif in enumerate(MOTIFS):
        span = motif[-1][0] + 1
        windows = SEQUENCE_LENGTH - span + 1
        match = np.ones((len(tokens), windows), dtype=bool)
        for offset, token in motif:
            match &= tokens[:, offset : offset + windows] == token
        found |= match.any(axis=1) & (labels != cls)
    return found
