"""`workbench inspect FOLDER` on a Hugging Face save_pretrained folder, as a user runs it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures.cli import error_line, run_workbench
from fixtures.hf_folders import as_pytorch_bin, bert_model, gpt2_model, save, with_remote_code


@pytest.fixture(scope="module")
def bert_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save(bert_model(), tmp_path_factory.mktemp("hf") / "my-bert")


def test_inspect_a_bert_folder(bert_folder: Path) -> None:
    result = run_workbench("inspect", str(bert_folder))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("my-bert  (hf-folder")
    for line in ("input_ids: int64[1x8]", "token_type_ids: int64[1x8]", "logits: float32[1x2]"):
        assert line in out, out
    assert "BertForSequenceClassification (model.safetensors)" in out
    assert result.stderr == ""  # no progress bars or transformers advice


def test_inspect_a_gpt2_pytorch_model_bin_folder(tmp_path: Path) -> None:
    folder = as_pytorch_bin(save(gpt2_model(), tmp_path / "gpt2-bin"))
    result = run_workbench("inspect", str(folder))
    assert result.returncode == 0, result.stderr
    assert "logits: float32[1x8x99]" in result.stdout  # the tied lm_head is there
    assert "missing" not in result.stdout + result.stderr


def test_remote_code_without_trust_is_one_line(tmp_path: Path) -> None:
    folder = with_remote_code(save(bert_model(), tmp_path / "custom"))
    line = error_line(run_workbench("inspect", str(folder)))
    assert "auto_map" in line and "--trust" in line, line
    assert not (folder / "RAN").exists()


def test_without_transformers_one_line_says_what_to_install(
    tmp_path: Path, bert_folder: Path
) -> None:
    blocked = tmp_path / "blocked"
    (blocked / "transformers").mkdir(parents=True)
    (blocked / "transformers" / "__init__.py").write_text(
        "raise ImportError('No module named transformers')\n", encoding="utf-8"
    )
    result = run_workbench("inspect", str(bert_folder), env={"PYTHONPATH": str(blocked)})
    line = error_line(result)
    assert "needs the transformers package: pip install 'workbench[hf]'" in line, line


def test_a_plain_folder_still_says_what_to_give(tmp_path: Path) -> None:
    line = error_line(run_workbench("inspect", str(tmp_path)))
    assert "config.json" in line and "is a folder, not a model file" in line, line
