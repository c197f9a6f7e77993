"""Arguments several sub-commands share."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.core.data.text import TextOptions


def shape_arg(text: str) -> tuple[str, tuple[int, ...]]:
    """``name=1x3x224x224`` -> ("name", (1, 3, 224, 224)), as an argparse type."""
    from workbench.core.errors import WorkbenchError
    from workbench.core.io.inputs import parse_shape

    try:
        return parse_shape(text)
    except WorkbenchError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


ARCH_METAVAR = "NAME|module:factory|file.py:factory"
SHAPE_METAVAR = "NAME=1x3x224x224[:DTYPE]"
SHAPE_HELP = (
    "concrete shape for an input whose size the file does not fix (repeatable); "
    "':int64' (or int32, int8, uint8, bool, float16, float64) gives the dtype of an input "
    "the model does not declare (default float32), e.g. input_ids=1x32:int64"
)


def add_model_arguments(
    parser: argparse.ArgumentParser, *, nargs: str | None = None, fresh: bool = False
) -> None:
    """MODEL plus --arch, --trust and --shape: how every command opens a model.

    ``fresh``: MODEL may be left out when --arch is given; the architecture is then
    built with fresh weights (train, run)."""
    parser.add_argument(
        "model",
        nargs="?" if fresh else nargs,
        help="a model file (.onnx, .pt, .pt2, .safetensors), a variant folder, "
        "zoo:NAME[:key=value,...] or a torchvision/timm backbone with fresh weights "
        "(tv:resnet50, timm:mobilenetv3_large_100:num_classes=5)"
        + ("; leave out to train --arch from fresh weights" if fresh else ""),
    )
    parser.add_argument(
        "--arch",
        metavar=ARCH_METAVAR,
        help="architecture for a weights-only file (state_dict, safetensors): a zoo name, "
        "a torchvision/timm backbone (tv:resnet50:num_classes=5, timm:NAME), "
        "package.module:factory or path/to/file.py:factory (a function that takes no "
        "arguments and returns an nn.Module)"
        + ("; without MODEL, built with its factory's own fresh weights" if fresh else ""),
    )
    parser.add_argument(
        "--trust",
        action="store_true",
        help="allow what a file would run: TorchScript, pickled modules, .pt2, and a "
        "module:factory that a variant folder, project or recipe names; only for files "
        "whose source you trust (your own --arch needs no --trust)",
    )
    parser.add_argument(
        "--shape",
        type=shape_arg,
        action="append",
        default=[],
        metavar=SHAPE_METAVAR,
        help=SHAPE_HELP,
    )


def add_text_arguments(parser: argparse.ArgumentParser, *, target: bool = False) -> None:
    """--text-column and --max-length (and --target where the command has none yet):
    how a text model's tokenizer reads a .csv or .jsonl of labelled texts."""
    group = parser.add_argument_group("text data (read by a text model's own tokenizer)")
    group.add_argument(
        "--text-column",
        metavar="COLUMN",
        help="the column of a .csv or .jsonl that holds the texts (default: text)",
    )
    group.add_argument(
        "--max-length",
        type=count_arg("token"),
        metavar="N",
        help="tokens per text, padded or cut to it (default: the longest text's, at most 512)",
    )
    if target:
        group.add_argument(
            "--target", metavar="COLUMN", help="the label column (default for texts: label)"
        )


def count_arg(what: str) -> Callable[[str], int]:
    """An argparse type for a whole number of ``what`` (threads, tokens), 1 or more."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise argparse.ArgumentTypeError(f"{text!r} is not a {what} count (1 or more)")
        return value

    return parse


def text_options(args: argparse.Namespace) -> TextOptions:
    """The text flags as a ``TextOptions``."""
    from workbench.core.data.text import TextOptions

    return TextOptions(
        column=getattr(args, "text_column", None),
        max_length=getattr(args, "max_length", None),
        label=getattr(args, "target", None),
    )
