"""The GPU suite's command lines still parse: it runs only on GPU machines, rarely, so a
renamed or removed flag must fail here, on every machine, first."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.gpu_commands import every_command_line

from workbench.cli import build_parser


def test_every_command_line_of_the_gpu_suite_parses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = build_parser()
    lines = every_command_line(tmp_path)
    assert {line[0] for line in lines} >= {"train", "bench", "eval", "quantize", "distill", "prune"}
    for line in lines:
        try:
            args = parser.parse_args(line)
        except SystemExit:
            error = capsys.readouterr().err.strip().splitlines()[-1]
            pytest.fail(f"workbench {' '.join(line)}: {error}")
        assert args.command == line[0] and args.json
