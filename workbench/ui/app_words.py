"""Core messages in the app's words: "choose its architecture", not "pass --arch".

The core writes its one-line errors and notes for both faces, and names a remedy by the
command-line flag that applies it, because the flag is exact and the CLI prints the
message as it is. The app has no flags: this module rewrites the flag phrases a core
message can hold into what a person does in the app. Hand-written because no library
maps one program's flags to another face's words; the rules are few and ordered from
the most specific phrase to the generic "--some-flag" -> "the 'some flag' setting".
"""

from __future__ import annotations

import re
from collections.abc import Callable

Replacement = str | Callable[[re.Match[str]], str]


def _label(flag: str) -> str:
    return flag.replace("-", " ")


def _open_anyway(match: re.Match[str]) -> str:
    """Keep the sentence's capital: "Open it with --trust" -> "Open it anyway"."""
    first = next(group for group in match.groups() if group)
    return ("O" if first.isupper() else "o") + "pen it anyway"


_RULES: tuple[tuple[re.Pattern[str], Replacement], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        # Architectures: the app asks for one when a weights-only file opens.
        (r"\b[Pp]ass --arch NAME or --arch package\.module:factory",
         "choose its architecture (a built-in name or package.module:factory)"),
        (r"\b[Pp]ass the --arch\b", "choose the architecture"),
        (r"\b[Pp]ass --arch\b", "choose its architecture"),
        (r"\bwith --arch\b", "with its architecture"),
        (r"--arch (\S+) was ignored", r"the architecture \1 was ignored"),
        (r"--arch\b", "an architecture"),
        # Trust: the app asks before anything from a file runs.
        (r"\b(?:([Oo])pen it with|([Uu])se|([Pp])ass) --trust\b", _open_anyway),
        (r"\bwithout --trust\b", "without trusting it"),
        (r"--trust\b", "trust"),
        # Shapes and data.
        (r"\b[Pp]ass --shape (\S+)", r"give the input shape \1"),
        (r"--shape (\S+)", r"the input shape \1"),
        (r"\b[Pp]ass (?:one with )?--data(?: NAME\|PATH| NAME| \(a dataset name or a path\))?",
         "choose a dataset"),
        (r"\(--data NAME\|PATH\)", "(a dataset name or a folder)"),
        (r"\bor --data\b", "or a dataset"),
        (r"\banother --data\b", "another dataset"),
        # Compare's "why (not) faster": the app profiles with Model > Benchmark (an ONNX
        # variant gets ONNX Runtime's per-op table) and measures batches in Measure all.
        (r"benchmark both with --profile(?: \(per-op times\))?",
         "benchmark both with Model ▸ Benchmark (an ONNX variant gets a per-op profile)"),
        (r"without a profile \(--profile\)", "without a per-op profile (Model ▸ Benchmark)"),
        (r"at larger batches \(--batch 1,32\)",
         "at a larger batch (Measure all on one runtime, batch 32)"),
        (r"\(try --batch 1,32\)", "(try Measure all on one runtime at batch 32)"),
        (r"workbench compare --measure, or Model ▸ Benchmark", "Measure all on one runtime"),
        # Anything else: the setting of that name, as the forms label it.
        (r"(?<![\w-])--([a-z][a-z0-9-]*) (\d[\w.,]*)", lambda m: f"{_label(m[1])} {m[2]}"),
        (r"(?<![\w-])--([a-z][a-z0-9-]*)", lambda m: f"the '{_label(m[1])}' setting"),
    )
)  # fmt: skip


def in_app_words(text: str) -> str:
    """``text`` with each command-line flag phrase replaced by the app's words for it."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def error_line(error: BaseException) -> str:
    """The one line a dialog or page shows for ``error``: a WorkbenchError's message in
    the app's words; anything else (a bug) as its type and text, for the report."""
    message = getattr(error, "message", None)
    if isinstance(message, str):
        return in_app_words(message)
    return f"{type(error).__name__}: {error}"
