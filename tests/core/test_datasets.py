"""The built-in datasets: the real bundled digits and the two generated ones."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from workbench.core.catalogue import get_registry
from workbench.core.data import ArrayDataset, resources_dir
from workbench.core.data.dataset import stratified_split
from workbench.core.data.digits import load_digits
from workbench.core.data.sequences import MOTIFS, generate_sequences, load_sequences
from workbench.core.data.shapes import generate_shapes, load_shapes
from workbench.core.errors import DataError

# Images per digit 0..9 in the UCI file, as published with the data set.
UCI_DIGIT_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_importing_the_data_package_does_not_import_torch() -> None:
    code = (
        "import sys\n"
        "import workbench.core.data, workbench.core.data.digits\n"
        "import workbench.core.data.shapes, workbench.core.data.sequences\n"
        "sys.exit(1 if 'torch' in sys.modules else 0)\n"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False, timeout=120).returncode == 0


def test_resources_dir_holds_the_digits_and_their_licence() -> None:
    assert (resources_dir() / "digits.npz").is_file()
    assert "CC BY 4.0" in (resources_dir() / "DATA_LICENSES.md").read_text()


def test_digits_are_the_real_uci_set_scaled_to_unit_range() -> None:
    data = load_digits()
    assert data.num_train + data.num_val == 1797
    assert data.x_train.shape[1:] == (1, 8, 8) and data.x_train.dtype == np.float32
    assert data.y_train.dtype == np.int64 and data.y_val.dtype == np.int64
    x = np.concatenate([data.x_train, data.x_val])
    assert x.min() == 0.0 and x.max() == 1.0
    # 0..16 counts divided by 16: every value is a multiple of 1/16.
    assert np.array_equal(x * 16, np.round(x * 16))
    labels = np.concatenate([data.y_train, data.y_val])
    assert np.bincount(labels).tolist() == UCI_DIGIT_COUNTS
    assert data.class_names == tuple("0123456789")


def test_digits_split_is_stratified_and_fixed() -> None:
    data = load_digits()
    assert np.bincount(data.y_val, minlength=10).min() > 0
    fractions = np.bincount(data.y_val) / np.array(UCI_DIGIT_COUNTS)
    assert np.all(np.abs(fractions - 0.2) < 0.01)
    # Same file, same split: the split comes from a fixed seed, not from call order.
    with np.load(resources_dir() / "digits.npz") as archive:
        labels = archive["labels"]
        images = archive["images"]
    train, val = stratified_split(labels, 0.2, seed=0)
    assert np.array_equal(data.x_val[:, 0] * 16, images[val])
    assert np.array_equal(data.y_train, labels[train])


def test_stratified_split_partitions_and_depends_on_the_seed() -> None:
    labels = np.repeat(np.arange(5), 20)
    train, val = stratified_split(labels, 0.25, seed=3)
    again_train, again_val = stratified_split(labels, 0.25, seed=3)
    assert np.array_equal(train, again_train) and np.array_equal(val, again_val)
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(100))
    assert np.bincount(labels[val]).tolist() == [5] * 5
    assert not np.array_equal(val, stratified_split(labels, 0.25, seed=4)[1])


def test_shapes_have_the_declared_form_and_every_class() -> None:
    data = load_shapes(train_size=300, val_size=100, seed=0)
    assert data.x_train.shape == (300, 3, 32, 32) and data.x_val.shape == (100, 3, 32, 32)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert data.x_train.min() >= 0.0 and data.x_train.max() <= 1.0
    assert np.bincount(data.y_train).tolist() == [30] * 10
    assert np.bincount(data.y_val).tolist() == [10] * 10
    assert len(data.class_names) == data.num_classes == 10


def test_shapes_are_deterministic_for_a_seed_and_differ_for_another() -> None:
    data = load_shapes(train_size=200, val_size=50, seed=7)
    fresh_x, fresh_y = generate_shapes(200, np.random.default_rng([7, 0]))
    assert np.array_equal(data.x_train, fresh_x) and np.array_equal(data.y_train, fresh_y)
    other = load_shapes(train_size=200, val_size=50, seed=8)
    assert not np.array_equal(data.x_train, other.x_train)
    # Validation images do not move when only the training size changes.
    bigger = load_shapes(train_size=250, val_size=50, seed=7)
    assert np.array_equal(data.x_val, bigger.x_val)


def test_cached_arrays_are_read_only() -> None:
    data = load_shapes(train_size=100, val_size=20, seed=0)
    with pytest.raises(ValueError):
        data.x_train[0, 0, 0, 0] = 0.5
    assert load_shapes(train_size=100, val_size=20, seed=0).x_train is data.x_train


def test_sequences_have_the_declared_form_and_carry_their_motif() -> None:
    data = load_sequences(train_size=400, val_size=80, seed=0)
    assert data.x_train.shape == (400, 32) and data.x_train.dtype == np.int64
    assert data.x_train.min() >= 0 and data.x_train.max() < 32
    assert np.bincount(data.y_train).tolist() == [50] * 8
    assert data.num_classes == len(data.class_names) == 8
    for tokens, label in zip(data.x_train, data.y_train, strict=True):
        assert [_contains(tokens, motif) for motif in MOTIFS].count(True) == 1
        assert _contains(tokens, MOTIFS[label])


def test_sequences_are_deterministic_for_a_seed_and_differ_for_another() -> None:
    data = load_sequences(train_size=100, val_size=20, seed=1)
    fresh_x, fresh_y = generate_sequences(100, np.random.default_rng([1, 0]))
    assert np.array_equal(data.x_train, fresh_x) and np.array_equal(data.y_train, fresh_y)
    assert not np.array_equal(data.x_train, load_sequences(100, 20, seed=2).x_train)


@pytest.mark.parametrize("name", sorted(get_registry().datasets))
def test_registered_datasets_match_their_declaration(name: str) -> None:
    entry = get_registry().dataset(name)
    data = entry.load()
    assert isinstance(data, ArrayDataset)
    assert data.name == name and data.task == entry.task
    assert data.input_shape == entry.input_shape
    assert data.num_classes == entry.num_classes
    labels = set(np.unique(data.y_val).tolist())
    if entry.task == "language-modeling":
        # Next-token targets: every id is in the vocabulary, but a held-out
        # split never uses all of it (rare merges appear only in training).
        assert labels <= set(range(entry.num_classes)) and len(labels) > 1
    else:
        assert labels == set(range(entry.num_classes))


def test_tensor_views_are_torch_datasets_without_warnings() -> None:
    data = load_digits()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns when handed a read-only array
        train, val = data.train_tensors(), data.val_tensors()
    x, y = train.tensors
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert len(train) == data.num_train and len(val) == data.num_val
    x[0] += 1.0  # a copy: the cached arrays stay as they were
    assert load_digits().x_train[0].max() <= 1.0


def test_array_dataset_rejects_labels_that_do_not_fit() -> None:
    x = np.zeros((4, 2), dtype=np.float32)
    with pytest.raises(DataError):
        ArrayDataset(
            "bad",
            "classification",
            x,
            np.zeros(3, np.int64),
            x,
            np.zeros(4, np.int64),
            2,
            ("a", "b"),
        )
    with pytest.raises(DataError):
        ArrayDataset(
            "bad", "classification", x, np.full(4, 2), x, np.zeros(4, np.int64), 2, ("a", "b")
        )


def _contains(tokens: np.ndarray, motif: tuple[tuple[int, int], ...]) -> bool:
    span = motif[-1][0] + 1
    return any(
        all(tokens[start + offset] == token for offset, token in motif)
        for start in range(len(tokens) - span + 1)
    )
