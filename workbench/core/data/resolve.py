"""``--data`` in one place: a built-in name, or a path whose kind picks the reader."""

from __future__ import annotations

from pathlib import Path

from workbench.core.catalogue import get_registry
from workbench.core.data import DEFAULT_IMAGE_SIDE
from workbench.core.data.dataset import ArrayDataset
from workbench.core.data.image_folder import load_image_folder
from workbench.core.data.npz_dataset import load_npz_dataset
from workbench.core.data.tabular import load_csv
from workbench.core.data.text import TextOptions, Tokenization, load_texts, looks_like_text
from workbench.core.errors import DataError


def resolve_dataset(
    spec: str,
    *,
    target: str | None = None,
    image_size: int | tuple[int, int] | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
    workers: int = 0,
    text: Tokenization | None = None,
    text_options: TextOptions | None = None,
) -> ArrayDataset:
    """``digits``/``shapes``/``sequences`` (or a plugin's name), a folder of class
    subfolders of images, a ``.csv`` with a ``target`` column, a ``.npz``, or labelled
    texts (``.jsonl``, or ``.csv``) for a text model, tokenized as ``text`` says.

    ``image_size`` is the side (or (height, width)) images from a folder are read at:
    the model's own input size where the caller knows it, else 32."""

    registry = get_registry()
    if spec in registry.datasets:
        return registry.dataset(spec).load()
    path = Path(spec).expanduser()
    if path.is_dir():
        return load_image_folder(
            path,
            image_size=image_size or DEFAULT_IMAGE_SIDE,
            val_fraction=val_fraction,
            seed=seed,
            workers=workers,
        )
    if not path.exists():
        known = ", ".join(sorted(registry.datasets))
        raise DataError(f"{spec!r} is neither a dataset name ({known}) nor an existing path")
    suffix = path.suffix.lower()
    options = text_options or TextOptions()
    if suffix == ".jsonl" or (suffix == ".csv" and (text or looks_like_text(path, options))):
        if text is None:
            raise DataError(
                f"{path.name} holds texts; only a text model (a Hugging Face folder with "
                "its tokenizer) takes text data"
            )
        return load_texts(
            path, text, options=options, target=target, val_fraction=val_fraction, seed=seed
        )
    if suffix == ".csv":
        return load_csv(path, target=target, val_fraction=val_fraction, seed=seed)
    if suffix == ".npz":
        return load_npz_dataset(path, val_fraction=val_fraction, seed=seed)
    raise DataError(
        f"{path.name}: not a dataset this reads (a folder of class subfolders, .csv, "
        ".jsonl or .npz)"
    )
