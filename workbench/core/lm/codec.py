"""Text <-> token ids for a language model: its dataset's tokenizer or its folder's own.

A zoo LM names its dataset (``stdlib-text``), whose ``TokenDataset`` carries the
tokenizer it was trained with; a Hugging Face folder (or a variant folder made from
one) keeps its tokenizer beside the weights. A model with neither cannot read a
prompt, and says so in one line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from workbench.core.errors import DataError


@dataclass(frozen=True)
class TextCodec:
    """How a prompt becomes ids and ids become text, and which id ends a text."""

    encode: Callable[[str], list[int]]
    decode: Callable[[Sequence[int]], str]
    end_id: int | None
    source: str  # where the tokenizer came from, for messages


def codec_for(dataset: str | None, tokenizer: Path | None, *, label: str) -> TextCodec:
    """The codec of a model meant for ``dataset`` or with a ``tokenizer`` folder."""
    from workbench.core.data.text import has_tokenizer

    if tokenizer is not None and has_tokenizer(tokenizer):
        return _folder_codec(tokenizer)
    if dataset:
        return _dataset_codec(dataset, label=label)
    raise DataError(
        f"{label} has no tokenizer: it names no text dataset and no tokenizer folder "
        "(name the dataset it was trained on, e.g. stdlib-text)"
    )


def _dataset_codec(dataset: str, *, label: str) -> TextCodec:
    from workbench.core.data import stdlib_text

    if dataset == stdlib_text.NAME:
        # The tokenizer alone (cached file): loading the token windows is not needed.
        tokenizer = stdlib_text.stdlib_tokenizer()
    else:
        from workbench.core.catalogue import get_registry

        tokenizer = getattr(get_registry().dataset(dataset).load(), "tokenizer", None)
        if tokenizer is None:
            raise DataError(f"{label}: dataset {dataset!r} is not text; it has no tokenizer")
    end = tokenizer.token_to_id(stdlib_text.END_OF_TEXT)
    return TextCodec(
        encode=lambda text: list(tokenizer.encode(text).ids),
        decode=lambda ids: str(tokenizer.decode([int(i) for i in ids])),
        end_id=end,
        source=dataset,
    )


def _folder_codec(folder: Path) -> TextCodec:
    from workbench.core.data.text import open_tokenizer

    tokenizer = open_tokenizer(folder)
    return TextCodec(
        encode=lambda text: list(tokenizer.encode(text, add_special_tokens=False)),
        decode=lambda ids: str(tokenizer.decode([int(i) for i in ids])),
        end_id=tokenizer.eos_token_id,
        source=folder.name,
    )
