"""Compare's generation preview with a real trained tiny_lm and its ONNX export."""

from __future__ import annotations

import pytest
from fixtures.tiny_lm import exported_tiny_lm, trained_tiny_lm
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QTextBrowser

from workbench.core.lm.continuation import continue_text
from workbench.core.project import Project
from workbench.ui.compare import CompareTab
from workbench.ui.compare.generation_preview import START_TEXT

PROMPT = "Return the number of"


@pytest.fixture(scope="module")
def onnx_lm(tmp_path_factory):
    return exported_tiny_lm(tmp_path_factory.mktemp("preview"))


@pytest.fixture
def tab(qtbot, onnx_lm):
    project = Project()
    root = project.add_root(trained_tiny_lm(), "tiny_lm FP32")
    child = project.add_child(root, "tiny_lm ONNX", {"pass": "export"}, framework="onnx")
    child.loaded = onnx_lm
    widget = CompareTab()
    widget.resize(1300, 850)
    widget.show()
    widget.set_project(project)
    widget.select([root.id, child.id])
    widget.pages.setCurrentWidget(widget.generation)
    yield widget
    qtbot.waitUntil(lambda: not widget.tasks.busy, timeout=30_000)
    widget.close()
    widget.deleteLater()


def test_two_variants_continue_the_prompt_side_by_side(qtbot, tab, tmp_path) -> None:
    preview = tab.generation
    expected = continue_text(trained_tiny_lm(), PROMPT, 12)
    preview.prompt.setPlainText(PROMPT)
    preview.max_new.setValue(12)
    with qtbot.waitSignal(preview.generated, timeout=60_000) as got:
        qtbot.mouseClick(preview.button, Qt.MouseButton.LeftButton)
        assert preview.button.text() == "Cancel"  # the work is in a worker, not here
    results = got.args[0]
    assert len(results) == 2
    ordered = [results[i] for i in tab.selected_ids()]  # a signal's dict is sorted by id
    texts = [r.text for r in ordered]
    assert texts == [expected.text, expected.text]  # torch and ORT: the same greedy tokens
    assert [r.runtime for r in ordered] == ["torch", "ort"]
    bodies = [b.toPlainText() for b in preview.findChildren(QTextBrowser, "generation-text")]
    ending = " [end of text]" if expected.ended else ""
    assert bodies == [PROMPT + expected.text + ending] * 2
    speeds = [s.text() for s in preview.findChildren(QLabel, "generation-speed")]
    assert len(speeds) == 2 and all("tokens/s" in s for s in speeds)
    assert preview.button.text() == START_TEXT
    tab.grab().save(str(tmp_path / "generation.png"))


def test_a_variant_without_tokenizer_fails_into_the_dialog_signal(qtbot, tab, onnx_lm) -> None:
    child = tab.ticked_variants()[1]
    child.dataset = None  # a bare .onnx: no dataset, no tokenizer folder
    with qtbot.waitSignal(tab.failed, timeout=60_000) as got:
        tab.generation.start()
    assert "has no tokenizer" in str(got.args[0])
    assert tab.generation.button.text() == START_TEXT


def test_cancel_stops_between_tokens(qtbot, tab) -> None:
    preview = tab.generation
    preview.max_new.setValue(512)
    job = preview.start()
    assert job is not None
    preview.toggle()  # Cancel
    qtbot.waitUntil(lambda: not preview.running, timeout=30_000)
    assert preview.status.text() == "Cancelled." and not preview.results
