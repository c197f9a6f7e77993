"""Labelled texts read through a model folder's tokenizer: CSV and JSONL alike, a seeded
split, one padded length, and the model's named inputs stacked per sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fixtures.hf_folders import labelled_texts, save_tokenizer, write_texts_csv

from workbench.core.data.resolve import resolve_dataset
from workbench.core.data.text import TextOptions, Tokenization

NAMES = ("input_ids", "attention_mask", "token_type_ids")


def test_csv_and_jsonl_read_alike_with_a_seeded_split_and_one_length(tmp_path: Path) -> None:
    text = Tokenization("my-bert", save_tokenizer(tmp_path / "tok"), NAMES)
    csv_file = write_texts_csv(tmp_path / "texts.csv", 100)
    jsonl = tmp_path / "texts.jsonl"
    rows = [{"text": t, "label": y} for t, y in labelled_texts(100)]
    jsonl.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    first = resolve_dataset(str(csv_file), text=text, seed=3)
    again = resolve_dataset(str(jsonl), text=text, seed=3)
    np.testing.assert_array_equal(first.x_val, again.x_val)
    np.testing.assert_array_equal(first.y_train, again.y_train)
    assert first.x_train.shape == (80, 3, 12) and first.input_shape == (12,)  # [CLS] 10 [SEP]
    assert first.class_names == ("neg", "pos") and first.input_names == NAMES
    ids, mask, types = (first.x_train[:, i] for i in range(3))
    assert (ids[:, 0] == 2).all() and (mask.sum(1) >= 5).all() and not types.any()
    assert (ids[mask == 0] == 0).all()  # padded with [PAD]
    other = resolve_dataset(str(csv_file), text=text, seed=4)
    assert not np.array_equal(first.y_val, other.y_val) or not np.array_equal(
        first.x_val, other.x_val
    )
    cut = resolve_dataset(str(csv_file), text=text, text_options=TextOptions(max_length=6))
    assert cut.input_shape == (6,) and any("were cut to 6 tokens" in n for n in cut.notes)
