"""``stdlib-text``: English prose from the Python standard library, for language models.

The docstrings and comments of the standard library on this machine are megabytes of
English that nobody here wrote and nothing has to download. Files are read in sorted
order and split by file (a module goes wholly to train or to validation, chosen by a
hash of its path), so the split is the same on every run on one Python and validation
text is from modules the model never saw. Test suites are left out: their comments are
mostly code.

The tokenizer is a byte-level BPE trained on the training split by Hugging Face's
``tokenizers`` library (the GPT-2 scheme: any text encodes, nothing is unknown).
Samples are windows of ``context + 1`` tokens cut from the concatenated stream:
``x`` is the first ``context`` tokens, ``y`` the same shifted by one (next-token labels).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import io
import os
import sys
import sysconfig
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.data.dataset import ArrayDataset, read_only
from workbench.core.errors import DataError

NAME = "stdlib-text"
TASK = "language-modeling"
VOCAB_SIZE = 2048
CONTEXT = 64
VAL_EVERY = 20  # about one module in 20 goes to validation
SKIPPED_PARTS = frozenset({"site-packages", "dist-packages", "test", "tests", "idle_test"})
SEPARATOR = "\n\n"
CACHE_VERSION = 1  # bump when the prose extraction or the tokenizer's settings change
END_OF_TEXT = "<|endoftext|>"


@dataclass
class TokenDataset(ArrayDataset):
    """Next-token windows: ``x`` (N, context) and ``y`` (N, context) int64 token ids.

    ``num_classes`` is the vocabulary size; ``tokenizer`` turns text into ids and back
    (a ``tokenizers.Tokenizer``), so a prompt can be typed and a continuation read.
    """

    tokenizer: Any = field(default=None, repr=False)

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text).ids)

    def decode(self, ids: Any) -> str:
        return str(self.tokenizer.decode([int(i) for i in ids]))


def load_stdlib_text(
    context: int = CONTEXT,
    max_train_tokens: int = 0,
    max_val_tokens: int = 0,
    vocab_size: int = VOCAB_SIZE,
) -> TokenDataset:
    """Train/validation windows of stdlib prose; the same for the same arguments.

    ``max_train_tokens`` / ``max_val_tokens`` (0: all) take the first tokens of each
    split, for tests and quick runs.
    """
    context, vocab_size = int(context), int(vocab_size)
    if context < 2:
        raise DataError(f"{NAME}: context must be at least 2 tokens, not {context}")
    tokenizer = stdlib_tokenizer(vocab_size)
    train_ids, val_ids = _token_streams(vocab_size)
    x_train, y_train = _windows(train_ids, context, int(max_train_tokens))
    x_val, y_val = _windows(val_ids, context, int(max_val_tokens))
    read_only(x_train, y_train, x_val, y_val)
    vocab = tokenizer.get_vocab_size()
    return TokenDataset(
        name=NAME,
        task=TASK,
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        num_classes=vocab,
        class_names=tuple(tokenizer.id_to_token(i) or "" for i in range(vocab)),
        tokenizer=tokenizer,
    )


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


@functools.lru_cache(maxsize=1)
def stdlib_texts() -> tuple[str, str]:
    """(train, validation) prose of the standard library's modules, in sorted file order."""
    root = stdlib_root()
    train: list[str] = []
    val: list[str] = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if SKIPPED_PARTS.intersection(relative.parts):
            continue
        prose = module_prose(path)
        if not prose:
            continue
        digest = hashlib.sha1(relative.as_posix().encode()).digest()
        (val if digest[0] % VAL_EVERY == 0 else train).append(prose)
    if not train or not val:
        raise DataError(f"{NAME}: found no standard-library sources under {root}")
    return SEPARATOR.join(train), SEPARATOR.join(val)


def module_prose(path: Path) -> str:
    """A module's docstrings and comments as paragraphs; '' for a file that will not parse."""
    try:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return ""
    paragraphs = [_docstring(node) for node in ast.walk(tree)]
    paragraphs.extend(_comment_blocks(source))
    return SEPARATOR.join(p for p in paragraphs if p)


def _docstring(node: ast.AST) -> str:
    if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        return (ast.get_docstring(node, clean=True) or "").strip()
    return ""


def _comment_blocks(source: str) -> list[str]:
    """Runs of comment lines on consecutive lines joined into one paragraph each."""
    blocks: list[list[str]] = []
    last_line = -2
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type != tokenize.COMMENT:
                continue
            text = token.string.lstrip("#").strip()
            if not text or text.startswith("!") or "coding" in text[:12]:
                continue
            if token.start[0] == last_line + 1 and blocks:
                blocks[-1].append(text)
            else:
                blocks.append([text])
            last_line = token.start[0]
    except (tokenize.TokenError, SyntaxError):
        pass
    # Comments of two words or fewer (lint markers, pragmas) are not prose.
    return [" ".join(block) for block in blocks if sum(len(t.split()) for t in block) > 2]


@functools.lru_cache(maxsize=2)
def stdlib_tokenizer(vocab_size: int = VOCAB_SIZE) -> Any:
    """A byte-level BPE ``tokenizers.Tokenizer`` trained on the training split.

    Training takes seconds; the result (deterministic for one Python) is kept in the
    user's cache folder so every process after the first reads it in milliseconds.
    """
    from tokenizers import Tokenizer

    cached = _cache_file(f"tokenizer-{vocab_size}.json")
    if cached is not None and cached.is_file():
        try:
            return Tokenizer.from_file(str(cached))
        except Exception:  # a torn or foreign file: train again and overwrite it
            pass
    tokenizer = _train_tokenizer(vocab_size)
    if cached is not None:
        _write_atomically(cached, tokenizer.to_str().encode())
    return tokenizer


def _train_tokenizer(vocab_size: int) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[END_OF_TEXT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    train_text, _ = stdlib_texts()
    tokenizer.train_from_iterator(train_text.split(SEPARATOR), trainer=trainer)
    return tokenizer


@functools.lru_cache(maxsize=2)
def _token_streams(vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Both splits as one int64 id stream each, paragraphs ended by END_OF_TEXT."""
    cached = _cache_file(f"tokens-{vocab_size}.npz")
    if cached is not None and cached.is_file():
        try:
            with np.load(cached) as saved:
                return saved["train"], saved["val"]
        except Exception:  # torn or foreign: tokenize again and overwrite it
            pass
    train, val = _tokenize(vocab_size)
    if cached is not None:
        buffer = io.BytesIO()
        np.savez(buffer, train=train, val=val)
        _write_atomically(cached, buffer.getvalue())
    return train, val


def _tokenize(vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    tokenizer = stdlib_tokenizer(vocab_size)
    end = tokenizer.token_to_id(END_OF_TEXT)
    streams = []
    for text in stdlib_texts():
        ids: list[int] = []
        for encoding in tokenizer.encode_batch(text.split(SEPARATOR)):
            ids.extend(encoding.ids)
            ids.append(end)
        streams.append(np.asarray(ids, dtype=np.int64))
    return streams[0], streams[1]


def _windows(ids: np.ndarray, context: int, max_tokens: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping windows of ``context + 1`` tokens: inputs and next-token labels."""
    if max_tokens:
        ids = ids[: max_tokens + 1]
    count = (len(ids) - 1) // context
    if count < 1:
        raise DataError(f"{NAME}: {len(ids)} tokens make no window of {context + 1}")
    x = ids[: count * context].reshape(count, context)
    y = ids[1 : count * context + 1].reshape(count, context)
    return x.copy(), y.copy()


def _cache_file(name: str) -> Path | None:
    """Where a derived file lives: per Python version (its stdlib is the corpus)."""
    base = os.environ.get("WORKBENCH_CACHE") or os.environ.get("XDG_CACHE_HOME")
    folder = Path(base) if base else Path.home() / ".cache"
    if not os.environ.get("WORKBENCH_CACHE"):
        folder = folder / "workbench"
    version = "py" + ".".join(map(str, sys.version_info[:3])) + f"-v{CACHE_VERSION}"
    folder = folder / NAME / version
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only home: derive it each time
    return folder / name


def _write_atomically(path: Path, data: bytes) -> None:
    """Write beside and rename, so a concurrent reader never sees half a file."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    except OSError:
        partial.unlink(missing_ok=True)
