"""Labelled texts (a CSV or JSONL file) tokenized with a model folder's own tokenizer.

A text model (one taking ``input_ids``, e.g. a Hugging Face ``save_pretrained`` folder)
reads its data through the tokenizer saved beside it: transformers' ``AutoTokenizer``,
offline (``local_files_only``; a fast tokenizer from ``tokenizer.json``). Every text is
padded (and, past the length, truncated) to one length: ``max_length``, else the longest
text's within ``MAX_LENGTH_CAP``, so a file always gives the same arrays.

A sample holds the model's named inputs stacked on axis 1 (``(N, inputs, length)``
int64, in ``input_names`` order), so everything that slices samples (the split, batches,
the trainer's shuffling) handles them as one array; ``split_inputs`` unstacks a batch.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.data.dataset import stratified_split
from workbench.core.data.image_folder import FileDataset
from workbench.core.data.tabular import _natural_key
from workbench.core.errors import DataError

DEFAULT_TEXT_COLUMN = "text"
DEFAULT_LABEL_COLUMN = "label"
MAX_LENGTH_CAP = 512  # BERT's positions; a longer default would rarely fit a model
TEXT_SUFFIXES = (".csv", ".jsonl")
# What a saved tokenizer leaves in a folder (any one is enough for AutoTokenizer).
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "vocab.json",
    "spiece.model",
    "special_tokens_map.json",
    "merges.txt",
)


@dataclass(frozen=True)
class TextOptions:
    """How to read a text file: its text column and the token length (None: longest)."""

    column: str | None = None  # None: "text"
    max_length: int | None = None
    label: str | None = None  # None: the CSV's --target, else "label"

    @property
    def text_column(self) -> str:
        return self.column or DEFAULT_TEXT_COLUMN

    def to_dict(self) -> dict[str, Any]:
        """The options set, as a recipe's ``text:`` mapping records them."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, value: Any) -> TextOptions:
        """A recipe's ``text:`` mapping ({column, max_length, label}); ValueError says
        what is wrong with it."""
        if not isinstance(value, dict):
            raise ValueError("'text' must be a mapping such as {column: sentence, max_length: 64}")
        unknown = sorted(set(value) - {"column", "max_length", "label"})
        if unknown:
            raise ValueError(f"unknown keys in 'text': {', '.join(map(str, unknown))} "
                             "(known: column, max_length, label)")  # fmt: skip
        for key in ("column", "label"):
            if value.get(key) is not None and not isinstance(value[key], str):
                raise ValueError(f"text {key} must be a column name")
        length = value.get("max_length")
        if length is not None and (
            not isinstance(length, int) or isinstance(length, bool) or length < 1
        ):
            raise ValueError("text max_length must be a whole number of tokens, at least 1")
        return cls(value.get("column"), length, value.get("label"))


@dataclass(frozen=True)
class Tokenization:
    """The model side: its name (for messages), tokenizer folder and input names."""

    model: str
    tokenizer: Path | None
    input_names: tuple[str, ...]


@dataclass
class TextDataset(FileDataset):
    """Token ids (and masks) of labelled texts; ``x`` is (N, inputs, length) int64."""

    input_names: tuple[str, ...] = ()

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One input's sample shape (the token length), as the model declares it."""
        return tuple(self.x_train.shape[2:])


def split_inputs(batch: Any) -> tuple[Any, ...]:
    """A stacked (batch, inputs, length) tensor as one tensor per input."""
    return tuple(batch.unbind(1))


def has_tokenizer(folder: Path | None) -> bool:
    return folder is not None and any((folder / name).is_file() for name in TOKENIZER_FILES)


def tokenizer_files(folder: Path) -> list[Path]:
    """The tokenizer's files in ``folder`` (to copy beside a derived model)."""
    return [folder / name for name in TOKENIZER_FILES if (folder / name).is_file()]


def copy_tokenizer(tokenizer: Path | None, folder: Path) -> dict[str, Path]:
    """The tokenizer folder's files copied into ``folder`` (a model derived from a text
    model reads texts as its source did), by artifact key (the file name)."""
    if tokenizer is None or tokenizer.resolve() == folder.resolve():
        return {}
    folder.mkdir(parents=True, exist_ok=True)
    copied = {}
    for source in tokenizer_files(tokenizer):
        shutil.copyfile(source, folder / source.name)
        copied[source.name] = folder / source.name
    return copied


def looks_like_text(path: Path, options: TextOptions) -> bool:
    """A ``.jsonl``, or a ``.csv`` whose header names the text column."""
    if path.suffix.lower() == ".jsonl":
        return True
    if path.suffix.lower() != ".csv":
        return False
    if options.column:
        return True
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, csv.Error, UnicodeDecodeError):
        return False
    return DEFAULT_TEXT_COLUMN in (name.strip() for name in header)


def load_texts(
    path: Path | str,
    tokenization: Tokenization,
    *,
    options: TextOptions | None = None,
    target: str | None = None,
    val_fraction: float = 0.2,
    seed: int = 0,
) -> TextDataset:
    """The file's texts through the model's tokenizer, split stratified by label."""
    path = Path(path)
    options = options or TextOptions()
    texts, labels = read_texts(path, options.text_column, options.label or target)
    if not has_tokenizer(tokenization.tokenizer):
        raise DataError(
            f"{path.name} is text data; reading it needs the model's tokenizer, and "
            f"{tokenization.model} has none (tokenizer.json or tokenizer_config.json "
            "beside config.json: save it with tokenizer.save_pretrained)"
        )
    tokenizer = open_tokenizer(tokenization.tokenizer)
    arrays, length, notes = tokenize(tokenizer, texts, tokenization.input_names, options)
    classes = sorted(set(labels), key=_natural_key)
    if len(classes) < 2:
        raise DataError(f"{path.name}: the labels hold one class only ({classes[0]!r})")
    index = {name: i for i, name in enumerate(classes)}
    y = np.array([index[name] for name in labels], dtype=np.int64)
    train, val = stratified_split(y, val_fraction, seed)
    return TextDataset(
        name=path.stem,
        task="classification",
        x_train=arrays[train],
        y_train=y[train],
        x_val=arrays[val],
        y_val=y[val],
        num_classes=len(classes),
        class_names=tuple(classes),
        source=str(path),
        notes=(f"{len(texts)} texts as {length} tokens each", *notes),
        input_names=tuple(tokenization.input_names),
    )


def read_texts(path: Path, column: str, target: str | None) -> tuple[list[str], list[str]]:
    """(texts, labels) from a CSV header or JSONL objects; a missing column is an error
    naming the ones there are."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DataError(f"{path}: cannot open ({exc.strerror or exc})") from None
    with handle:
        try:
            jsonl = path.suffix.lower() == ".jsonl"
            rows = _jsonl_rows(path, handle) if jsonl else _csv_rows(handle)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise DataError(f"{path.name}: not readable as text ({exc})") from None
    if not rows:
        raise DataError(f"{path.name}: no rows")
    columns = list(rows[0])
    label = target or DEFAULT_LABEL_COLUMN
    for name, flag in ((column, "--text-column"), (label, "--target")):
        if name not in columns:
            raise DataError(
                f"{path.name}: no column {name!r} (name it with {flag}); columns: "
                f"{', '.join(columns)}"
            )
    texts, labels = [], []
    for number, row in enumerate(rows, start=2 if path.suffix.lower() == ".csv" else 1):
        text, value = row.get(column), row.get(label)
        if not isinstance(text, str) or value is None or str(value).strip() == "":
            where = "line" if path.suffix.lower() == ".jsonl" else "row"
            raise DataError(
                f"{path.name} {where} {number}: needs a text in {column!r} and a label in {label!r}"
            )
        texts.append(text)
        labels.append(str(value).strip())
    return texts, labels


def _csv_rows(handle: Any) -> list[dict[str, Any]]:
    reader = csv.DictReader(handle)
    if reader.fieldnames is not None:
        reader.fieldnames = [name.strip() for name in reader.fieldnames]
    return [row for row in reader if any((v or "").strip() for v in row.values() if v)]


def _jsonl_rows(path: Path, handle: Any) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise DataError(f"{path.name} line {number}: not JSON ({exc})") from None
        if not isinstance(row, dict):
            raise DataError(f"{path.name} line {number}: not a JSON object")
        rows.append(row)
    return rows


def open_tokenizer(folder: Path) -> Any:
    """The folder's tokenizer, offline; one line when transformers cannot read it."""
    os.environ["HF_HUB_OFFLINE"] = "1"  # read when huggingface_hub is first imported
    from workbench.core.torchvision_import import prepare_torchvision

    prepare_torchvision()  # transformers imports it when installed
    try:
        import transformers
    except ImportError:
        raise DataError(
            "text data is tokenized by transformers: pip install 'workbench[hf]'"
        ) from None
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{folder.name}: the tokenizer cannot be read ({first})") from None
    return tokenizer


def tokenize(
    tokenizer: Any, texts: Sequence[str], names: Sequence[str], options: TextOptions
) -> tuple[np.ndarray, int, list[str]]:
    """(N, len(names), length) int64, the length, and notes (truncation, a lent pad)."""
    notes: list[str] = []
    if tokenizer.pad_token is None:
        lent = tokenizer.eos_token or tokenizer.unk_token
        if lent is None:
            raise DataError("the tokenizer has no padding token (nor an end or unknown token)")
        tokenizer.pad_token = lent  # GPT-2's way: padded positions are masked anyway
        notes.append(f"the tokenizer has no padding token; padded with {lent!r}")
    lengths = [len(ids) for ids in tokenizer(list(texts))["input_ids"]]
    cap = min(MAX_LENGTH_CAP, int(getattr(tokenizer, "model_max_length", MAX_LENGTH_CAP)))
    length = options.max_length or min(max(lengths), cap)
    if length < 1:
        raise DataError(f"the token length must be at least 1, not {length}")
    cut = sum(1 for n in lengths if n > length)
    if cut:
        notes.append(f"{cut} of {len(texts)} texts were cut to {length} tokens")
    encoded = tokenizer(
        list(texts),
        padding="max_length",
        truncation=True,
        max_length=length,
        return_token_type_ids=True,
        return_attention_mask=True,
    )
    arrays = []
    for name in names:
        values = encoded.get(name)
        if values is None:
            raise DataError(f"the tokenizer gives no {name!r}, an input the model takes")
        arrays.append(np.asarray(values, dtype=np.int64))
    return np.stack(arrays, axis=1), length, notes
