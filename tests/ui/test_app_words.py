"""The app speaks in its own words: no command-line flag reaches a dialog or a page."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import torch

import workbench
from workbench.core.errors import ArchitectureError
from workbench.core.io import load
from workbench.core.io.torch_file import _TRUST_HINT
from workbench.ui.app_words import error_line, in_app_words
from workbench.ui.wizards.pruning_wizard import PruningWizard
from workbench.ui.workers import TaskRunner

FLAG = re.compile(r"(?<![\w-])--[A-Za-z]")
CORE = Path(workbench.__file__).parent / "core"


def _core_strings_with_flags() -> list[tuple[str, str]]:
    """Every string the core writes (f-strings' literal parts too) that names a flag."""
    found = []
    for path in sorted(CORE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and FLAG.search(text) and "\n" not in text.strip():
                found.append((f"{path.relative_to(CORE)}:{node.lineno}", text))  # no docstrings
    return found


def test_every_flag_phrase_the_core_writes_has_app_words() -> None:
    strings = _core_strings_with_flags()
    assert len(strings) > 30  # the sweep found the core's messages
    left = [(where, in_app_words(text)) for where, text in strings]
    assert [item for item in left if FLAG.search(item[1])] == []


@pytest.mark.parametrize(
    ("flagged", "words"),
    [
        (_TRUST_HINT, "Open it anyway only if you trust where it came from."),
        ("input 'x' declares no shape; pass --shape x=1x3x224x224",
         "input 'x' declares no shape; give the input shape x=1x3x224x224"),
        ("try --batch-size 64", "try batch size 64"),
        ("set data (--data NAME|PATH)", "set data (a dataset name or a folder)"),
        ("written (use --force to write it anyway)",
         "written (use the 'force' setting to write it anyway)"),
        ("no measured figure explains it; benchmark both with --profile (per-op times) and at "
         "larger batches (--batch 1,32)",
         "no measured figure explains it; benchmark both with Model ▸ Benchmark (an ONNX "
         "variant gets a per-op profile) and at a larger batch (Measure all on one runtime, "
         "batch 32)"),
        ("measure both the same way (workbench compare --measure, or Model ▸ Benchmark)",
         "measure both the same way (Measure all on one runtime)"),
    ],
)  # fmt: skip
def test_flag_phrases_become_what_a_person_does_in_the_app(flagged: str, words: str) -> None:
    assert in_app_words(flagged) == words


def test_weights_without_an_architecture_ask_for_one_in_app_words(tmp_path: Path) -> None:
    torch.save(torch.nn.Linear(3, 2).state_dict(), tmp_path / "w.pt")
    with pytest.raises(ArchitectureError) as missing:
        load(str(tmp_path / "w.pt"))
    assert "--arch" in missing.value.message  # the CLI's words stay the CLI's
    line = error_line(missing.value)
    assert "choose its architecture" in line and "digits_cnn" in line and not FLAG.search(line)
    with pytest.raises(ArchitectureError) as wrong:
        load(str(tmp_path / "w.pt"), arch="digits_cnn")
    assert error_line(wrong.value).endswith("choose the architecture the weights were trained with")


def test_a_bug_keeps_its_type_for_the_report() -> None:
    assert error_line(KeyError("x")) == "KeyError: 'x'"


def test_a_failed_run_says_what_to_do_without_naming_a_flag(qtbot, tmp_path: Path) -> None:
    torch.save(torch.nn.Linear(3, 2).state_dict(), tmp_path / "w.pt")
    with pytest.raises(ArchitectureError) as failure:
        load(str(tmp_path / "w.pt"))
    wizard = PruningWizard(load("zoo:digits_cnn"), TaskRunner())
    qtbot.addWidget(wizard)
    page = wizard.run_page
    page._failed(failure.value)  # what a run that failed on this error shows
    shown = page.message.text()
    assert shown.startswith("Failed: w.pt is a state_dict") and "choose its architecture" in shown
    assert not FLAG.search(shown)
