"""Datasets from files: image folders, CSV tables, NPZ arrays, and ``--data`` resolution."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from workbench.core.data.image_folder import load_image_folder
from workbench.core.data.npz_dataset import load_npz_dataset
from workbench.core.data.resolve import resolve_dataset
from workbench.core.data.tabular import load_csv
from workbench.core.errors import DataError


def _png(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (20, 12)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    root = tmp_path / "pets"
    for i in range(5):
        _png(root / "cat" / f"c{i}.png", (200, 10 * i, 0))
        _png(root / "dog" / f"d{i}.jpg", (0, 10 * i, 200))
    return root


def test_image_folder_reads_resizes_and_splits(image_folder: Path) -> None:
    data = load_image_folder(image_folder, image_size=16, val_fraction=0.2)
    assert data.class_names == ("cat", "dog") and data.num_classes == 2
    assert data.x_train.shape[1:] == (3, 16, 16) and data.x_train.dtype == np.float32
    assert data.num_train + data.num_val == 10 and data.num_val == 2
    assert data.x_train.min() >= 0.0 and data.x_train.max() <= 1.0
    cats = data.x_train[data.y_train == 0]
    assert np.allclose(cats[:, 0], 200 / 255, atol=0.01)  # red channel of the cats
    assert data.notes == ()


def test_corrupt_truncated_and_bomb_images_are_skipped_and_counted(image_folder: Path) -> None:
    (image_folder / "cat" / "garbage.png").write_bytes(b"not an image at all")
    buffer = io.BytesIO()
    Image.effect_noise((64, 64), 50).convert("RGB").save(buffer, "PNG")
    (image_folder / "dog" / "cut.png").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    _png(image_folder / "dog" / "huge.png", (1, 2, 3), size=(300, 300))
    data = load_image_folder(image_folder, image_size=8, max_pixels=50_000)
    assert data.num_train + data.num_val == 10
    (note,) = data.notes
    assert note.startswith("skipped 3 of 13 images")
    assert "1 corrupt" in note and "1 truncated" in note and "1 decompression bomb" in note


def test_grayscale_folders_stay_one_channel(tmp_path: Path) -> None:
    for cls in ("a", "b"):
        for i in range(3):
            path = tmp_path / "g" / cls / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("L", (8, 8), 40 * i).save(path)
    assert load_image_folder(tmp_path / "g", image_size=8).x_train.shape[1:] == (1, 8, 8)


def test_image_folder_errors_name_the_folder(tmp_path: Path, image_folder: Path) -> None:
    with pytest.raises(DataError, match="not a folder"):
        load_image_folder(tmp_path / "missing")
    (image_folder / "bird").mkdir()
    (image_folder / "bird" / "x.png").write_bytes(b"broken")
    with pytest.raises(DataError, match="no readable image in class folder"):
        load_image_folder(image_folder)


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "table.csv"
    path.write_text(text)
    return path


def test_csv_reads_numeric_features_and_a_class_column(tmp_path: Path) -> None:
    rows = ["a,b,kind"] + [f"{i},{i * 0.5},{'yes' if i % 2 else 'no'}" for i in range(20)]
    data = load_csv(_csv(tmp_path, "\n".join(rows) + "\n"), target="kind")
    assert data.class_names == ("no", "yes")
    assert data.x_train.shape[1:] == (2,) and data.x_train.dtype == np.float32
    assert data.num_train + data.num_val == 20


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("1,2,x\n3,,y\n", "line 3, column 'b': missing value"),
        ("1,2,x\n3,nan,y\n", "line 3, column 'b': nan is not a finite number"),
        ("1,2,x\n3,abc,y\n", "line 3, column 'b': 'abc' is not a number"),
        ("1,2,x\n3,4\n", "line 3 has 2 fields, the header has 3"),
        ("1,2,x\n3,4,y,5\n", "line 3 has 4 fields, the header has 3"),
    ],
)
def test_csv_problems_are_named_with_line_and_column(
    tmp_path: Path, body: str, expected: str
) -> None:
    with pytest.raises(DataError) as caught:
        load_csv(_csv(tmp_path, "a,b,kind\n" + body), target="kind")
    assert caught.value.message.startswith("table.csv: ")
    assert expected in caught.value.message


def test_csv_target_must_be_named_and_exist(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,b,kind\n1,2,x\n")
    with pytest.raises(DataError, match="name the target column"):
        load_csv(path, target=None)
    with pytest.raises(DataError, match="no column 'label'; columns: a, b, kind"):
        load_csv(path, target="label")


def test_npz_with_x_and_y_is_split(tmp_path: Path) -> None:
    path = tmp_path / "arrays.npz"
    np.savez(path, x=np.random.default_rng(0).random((50, 4)), y=np.arange(50) % 5)
    data = load_npz_dataset(path)
    assert data.num_classes == 5 and data.x_train.dtype == np.float32
    assert data.num_train + data.num_val == 50


def test_npz_keeps_a_given_split_and_refuses_bad_arrays(tmp_path: Path) -> None:
    path = tmp_path / "split.npz"
    np.savez(
        path,
        x_train=np.zeros((6, 3)),
        y_train=[0, 1, 0, 1, 0, 1],
        x_val=np.ones((2, 3)),
        y_val=[0, 1],
    )
    data = load_npz_dataset(path)
    assert data.num_val == 2 and np.all(data.x_val == 1)
    objects = tmp_path / "objects.npz"
    np.savez(objects, x=np.array([{"a": 1}, None], dtype=object), y=np.array([0, 1]))
    with pytest.raises(DataError, match="object arrays"):
        load_npz_dataset(objects)
    nan = tmp_path / "nan.npz"
    x = np.zeros((4, 2))
    x[2, 1] = np.nan
    np.savez(nan, x=x, y=[0, 1, 0, 1])
    with pytest.raises(DataError, match="first at index 2"):
        load_npz_dataset(nan)
    fractional = tmp_path / "fractional.npz"
    np.savez(fractional, x=np.zeros((4, 2)), y=[0.0, 0.5, 1.0, 1.0])
    with pytest.raises(DataError, match="whole-number class labels"):
        load_npz_dataset(fractional)
    missing = tmp_path / "missing.npz"
    np.savez(missing, a=np.zeros(3))
    with pytest.raises(DataError, match="needs x and y"):
        load_npz_dataset(missing)


def test_resolve_dataset_picks_the_reader(tmp_path: Path, image_folder: Path) -> None:
    assert resolve_dataset("digits").name == "digits"
    assert resolve_dataset(str(image_folder), image_size=8).input_shape == (3, 8, 8)
    path = tmp_path / "t.csv"
    path.write_text("f,c\n" + "".join(f"{i},{i % 2}\n" for i in range(10)))
    assert resolve_dataset(str(path), target="c").class_names == ("0", "1")
    with pytest.raises(DataError, match="neither a dataset name"):
        resolve_dataset(str(tmp_path / "nope"))
    other = tmp_path / "model.onnx"
    other.write_bytes(b"x")
    with pytest.raises(DataError, match=r"model\.onnx: not a dataset this reads"):
        resolve_dataset(str(other))
