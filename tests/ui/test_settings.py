"""Recent files: newest first, no duplicates, and nothing that has gone from disk."""

from __future__ import annotations

from pathlib import Path

from workbench.ui.settings import open_settings, recent_files, remember_file


def test_recent_files_forget_deleted_files_but_keep_zoo_names(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("WORKBENCH_CONFIG_DIR", str(tmp_path / "config"))
    kept, gone = tmp_path / "kept.onnx", tmp_path / "gone.onnx"
    kept.write_bytes(b"x")
    gone.write_bytes(b"x")
    settings = open_settings()
    for source in (str(gone), "zoo:digits_cnn", str(kept), str(gone)):
        remember_file(settings, source)
    assert recent_files(settings) == [str(gone), str(kept), "zoo:digits_cnn"]
    gone.unlink()
    assert recent_files(settings) == [str(kept), "zoo:digits_cnn"]
    settings.sync()
    assert recent_files(open_settings()) == [str(kept), "zoo:digits_cnn"]  # saved too
