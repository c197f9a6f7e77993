"""Hugging Face save_pretrained folders open directly, offline, and export with their
input names, int64 dtypes and dynamic batch and sequence axes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from fixtures.hf_folders import (
    as_pytorch_bin,
    bert_model,
    gpt2_model,
    random_ids,
    save,
    with_remote_code,
)

from workbench.core.errors import TrustRequired, UnsafeModelError, WorkbenchError
from workbench.core.export import ExportOptions, export_onnx
from workbench.core.io import ModelFormat, load


@pytest.fixture(scope="module")
def bert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    model = bert_model()
    return save(model, tmp_path_factory.mktemp("hf") / "my-bert"), model


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    model = gpt2_model()
    return save(model, tmp_path_factory.mktemp("hf") / "my-gpt2"), model


def test_a_bert_folder_opens_with_named_int64_text_inputs(bert) -> None:
    folder, original = bert
    loaded = load(folder)
    assert loaded.format is ModelFormat.HF_FOLDER and loaded.framework == "pytorch"
    assert [(s.name, s.dtype) for s in loaded.inputs] == [
        ("input_ids", "int64"),
        ("attention_mask", "int64"),
        ("token_type_ids", "int64"),
    ]
    assert loaded.output_names == ["logits"]  # a ModelOutput's field, not "output_0"
    assert loaded.dynamic_axes["input_ids"] == {0: "batch", 1: "sequence"}
    assert loaded.dynamic_axes["logits"] == {0: "batch"}
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    ids = random_ids(3, 6)
    mask = torch.ones_like(ids)
    with torch.no_grad():
        (logits,) = loaded.module(ids, mask, torch.zeros_like(ids))
        expected = original(input_ids=ids, attention_mask=mask).logits
    torch.testing.assert_close(logits, expected)


def test_gpt2_tied_lm_head_is_tied_not_missing(gpt2) -> None:
    folder, original = gpt2
    from safetensors import safe_open

    with safe_open(folder / "model.safetensors", "pt") as saved:
        assert "lm_head.weight" not in saved.keys()  # noqa: SIM118 (safe_open is no dict)  # save_pretrained drops the tied copy
    loaded = load(folder)
    inner = loaded.module.model
    assert inner.lm_head.weight.data_ptr() == inner.transformer.wte.weight.data_ptr()
    ids = random_ids(2, 7)
    with torch.no_grad():
        (logits,) = loaded.module(ids, torch.ones_like(ids))
    torch.testing.assert_close(logits, original(input_ids=ids).logits)
    assert loaded.dynamic_axes["logits"] == {0: "batch", 1: "sequence"}


def test_pytorch_model_bin_loads_through_the_weights_only_reader(tmp_path: Path, gpt2) -> None:
    _, original = gpt2
    folder = as_pytorch_bin(save(original, tmp_path / "bin-gpt2"))
    loaded = load(folder)
    assert "pytorch_model.bin" in loaded.notes[0]
    ids = random_ids(1, 5)
    with torch.no_grad():
        torch.testing.assert_close(
            loaded.module(ids, torch.ones_like(ids))[0], original(input_ids=ids).logits
        )


def test_a_bin_that_pickles_objects_is_refused_before_transformers_reads_it(
    tmp_path: Path, gpt2
) -> None:
    import argparse

    _, original = gpt2
    folder = as_pytorch_bin(save(original, tmp_path / "odd"))
    weights = torch.load(folder / "pytorch_model.bin", weights_only=True)
    torch.save({**weights, "extra": argparse.Namespace(x=1)}, folder / "pytorch_model.bin")
    with pytest.raises(UnsafeModelError, match=r"argparse\.Namespace"):
        load(folder)


def test_remote_code_in_config_runs_only_with_trust(tmp_path: Path, bert) -> None:
    _, original = bert
    folder = with_remote_code(save(original, tmp_path / "custom"))
    with pytest.raises(TrustRequired, match="auto_map"):
        load(folder)
    assert not (folder / "RAN").exists()


@pytest.mark.parametrize("which", ["bert", "gpt2"])
def test_export_keeps_names_int64_and_dynamic_batch_and_sequence(
    request: pytest.FixtureRequest, tmp_path: Path, which: str
) -> None:
    folder, original = request.getfixturevalue(which)
    out = tmp_path / f"{which}.onnx"
    report = export_onnx(load(folder), out, ExportOptions(parity_samples=8))
    assert report.written and report.parity.passed and report.dynamic_batch
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    inputs = {i.name: i for i in session.get_inputs()}
    assert next(iter(inputs)) == "input_ids"
    assert all(i.type == "tensor(int64)" for i in inputs.values())
    assert all(i.shape == ["batch", "sequence"] for i in inputs.values())
    assert [o.name for o in session.get_outputs()] == ["logits"]
    for batch, sequence in ((1, 5), (3, 23)):  # neither is the traced example (2 x 8)
        ids = random_ids(batch, sequence, seed=sequence)
        feed = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
        if "token_type_ids" in inputs:
            feed["token_type_ids"] = torch.zeros_like(ids)
        (got,) = session.run(["logits"], {k: v.numpy() for k, v in feed.items()})
        with torch.no_grad():
            expected = original(**feed).logits.numpy()
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)


def test_torchscript_exporter_failure_falls_back_to_dynamo(tmp_path: Path, gpt2) -> None:
    # Without attention_mask, transformers' mask code calls torch.diff, which the
    # TorchScript-based exporter cannot export (aten::diff).
    _, original = gpt2
    folder = save(original, tmp_path / "ids-only")
    tokenizer = {"model_input_names": ["input_ids"]}
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer), encoding="utf-8")
    loaded = load(folder)
    assert [s.name for s in loaded.inputs] == ["input_ids"]
    with pytest.raises(WorkbenchError, match=r"aten::diff.*--exporter dynamo"):
        export_onnx(loaded, tmp_path / "ts.onnx", ExportOptions(exporter="torchscript"))
    assert not (tmp_path / "ts.onnx").exists()
    report = export_onnx(loaded, tmp_path / "auto.onnx", ExportOptions(parity_samples=8))
    assert report.written and report.exporter == "torch.onnx dynamo"
    assert any("exported with dynamo instead" in note for note in report.notes)
    session = ort.InferenceSession(str(tmp_path / "auto.onnx"))
    assert session.get_inputs()[0].shape == ["batch", "sequence"]
