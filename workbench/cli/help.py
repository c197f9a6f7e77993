"""Man-page-like `--help`: prose paragraphs filled to the terminal, examples kept as written."""

from __future__ import annotations

import argparse
import textwrap


class ManPageFormatter(argparse.HelpFormatter):
    """argparse's formatter, except that in descriptions and epilogs a paragraph (text
    between blank lines) with an indented line is printed as written, so example
    commands keep their layout; other paragraphs are filled as usual.

    Use: ``commands.add_parser(..., epilog=EXAMPLES, formatter_class=ManPageFormatter)``.
    """

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        blocks = []
        for block in textwrap.dedent(text).strip("\n").split("\n\n"):
            lines = block.splitlines()
            if any(line[:1].isspace() for line in lines):
                blocks.append("\n".join(indent + line for line in lines))
            else:
                blocks.append(
                    textwrap.fill(
                        " ".join(block.split()),
                        width,
                        initial_indent=indent,
                        subsequent_indent=indent,
                    )
                )
        return "\n\n".join(blocks)
