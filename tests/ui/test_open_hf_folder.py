"""A Hugging Face folder dropped on the window opens as a variant; one that names its
own code asks first, and opens nothing when the user declines."""

from __future__ import annotations

from pathlib import Path

from fixtures.hf_folders import bert_model, save, with_remote_code
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from workbench.core.io import ModelFormat
from workbench.ui import open_actions


def drop(window, folder: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)


def test_a_dropped_bert_folder_opens_with_its_text_inputs(
    qtbot, main_window, tmp_path: Path
) -> None:
    folder = save(bert_model(), tmp_path / "my-bert")
    drop(main_window, folder)
    qtbot.waitUntil(lambda: main_window.variants.topLevelItemCount() == 1, timeout=120_000)
    (variant,) = main_window.project.variants.values()
    assert variant.loaded.format is ModelFormat.HF_FOLDER
    assert [s.name for s in variant.loaded.inputs][:2] == ["input_ids", "attention_mask"]
    assert main_window.findChild(QMessageBox, "error-dialog") is None


def test_remote_code_asks_for_trust_and_a_no_opens_nothing(
    qtbot, main_window, monkeypatch, tmp_path: Path
) -> None:
    folder = with_remote_code(save(bert_model(), tmp_path / "custom"))
    asked: list[str] = []
    monkeypatch.setattr(open_actions, "ask_trust", lambda _p, e: asked.append(str(e)) or False)
    main_window.open_source(str(folder))
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=120_000)
    qtbot.waitUntil(lambda: not main_window.tasks.busy, timeout=60_000)
    assert "auto_map" in asked[0]
    assert main_window.project.variants == {}
    assert not (folder / "RAN").exists()
