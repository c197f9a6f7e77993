"""Language models through train, evaluate and export: next-token loss per token,
perplexity per epoch, perplexity in torch and ORT, one ONNX file for any length."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.fixtures.tiny_lm import SMALL_LM, small_text, trained_tiny_lm
from workbench.core.data.stdlib_text import TokenDataset
from workbench.core.io import load
from workbench.core.lm.perplexity import torch_perplexity
from workbench.core.train import Trainer
from workbench.core.train.config import TrainConfig, suggest_config
from workbench.core.train.events import TrainingError


def _slice(data: TokenDataset, train: int, val: int) -> TokenDataset:
    """The first windows of ``data``: a run of a few seconds."""
    import dataclasses

    return dataclasses.replace(
        data,
        x_train=data.x_train[:train],
        y_train=data.y_train[:train],
        x_val=data.x_val[:val],
        y_val=data.y_val[:val],
    )


def test_trainer_reports_perplexity_per_token_and_it_falls(tmp_path) -> None:
    data = _slice(small_text(), 384, 64)
    config = suggest_config(SMALL_LM, data.name)
    config.epochs, config.warmup_epochs = 2, 0.0
    model = load(SMALL_LM).module
    start = torch_perplexity(model, data.x_val, data.y_val)
    result = Trainer(model, data, config, run_dir=tmp_path).fit()
    epochs = result.history.epochs
    assert [e["val_perplexity"] < start for e in epochs] == [True, True]
    assert epochs[-1]["val_perplexity"] < 0.6 * start
    last = epochs[-1]
    assert last["val_perplexity"] == pytest.approx(math.exp(last["val_loss"]))
    # the trainer's figure is the per-token perplexity that core.lm computes
    assert last["val_perplexity"] == pytest.approx(
        torch_perplexity(result.model, data.x_val, data.y_val), rel=1e-4
    )
    assert 0 < last["val_accuracy"] < 1  # correct tokens over tokens, not over windows
    assert result.metrics["val_perplexity"] == last["val_perplexity"]
    assert "val_perplexity" in result.history.epochs_csv().splitlines()[0]


def test_image_history_has_no_perplexity_columns() -> None:
    from workbench.core.train.history import TrainHistory

    history = TrainHistory(epochs=[{"epoch": 1, "val_loss": 0.1, "val_perplexity": None}])
    assert "perplexity" not in history.epochs_csv()


def test_lm_defaults() -> None:
    config = suggest_config("tiny_lm", "stdlib-text")
    assert (config.optimizer, config.schedule, config.lr) == ("adamw", "cosine", 3e-3)
    assert config.warmup_epochs > 0 and config.early_metric == "val_loss"
    assert suggest_config("digits_cnn", "digits").early_metric == "val_accuracy"


def test_hf_causal_lm_trains_when_its_vocabulary_fits(tmp_path) -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    data = _slice(small_text(), 64, 16)

    def folder(vocab: int) -> str:
        config = GPT2Config(
            n_layer=1, n_embd=32, n_head=2, vocab_size=vocab, n_positions=64,
            bos_token_id=0, eos_token_id=0,
        )  # fmt: skip
        path = tmp_path / f"gpt2-{vocab}"
        GPT2LMHeadModel(config).save_pretrained(path)
        return str(path)

    config = TrainConfig(epochs=1, batch_size=16, lr=3e-3)
    result = Trainer(load(folder(2048)).module, data, config).fit()
    assert result.history.epochs[-1]["val_perplexity"] > 1
    with pytest.raises(TrainingError, match=r"vocabulary has 99 tokens .* uses 2,048"):
        Trainer(load(folder(99)).module, data, config).fit()


def test_evaluate_perplexity_agrees_between_torch_and_ort(tmp_path) -> None:
    from workbench.core.export import ExportOptions, export_onnx
    from workbench.core.measure.accuracy import evaluate

    loaded, data = trained_tiny_lm(), _slice(small_text(), 8, 48)
    onnx_path = tmp_path / "lm.onnx"
    export_onnx(loaded, onnx_path, ExportOptions(), data=data)
    torch_report = evaluate(loaded, data=data, runtime="torch")
    ort_report = evaluate(load(str(onnx_path)), data=data, runtime="ort")
    assert torch_report.top1 is None and torch_report.token_accuracy > 0
    assert torch_report.perplexity == pytest.approx(
        torch_perplexity(loaded.module, data.x_val, data.y_val), rel=1e-6
    )
    assert ort_report.perplexity == pytest.approx(torch_report.perplexity, rel=0.01)
    assert torch_report.perplexity < 0.5 * data.num_classes  # trained, not uniform


def test_one_export_runs_any_length_and_matches_torch(tmp_path) -> None:
    import onnxruntime as ort
    import torch

    from workbench.core.export import ExportOptions, export_onnx

    loaded = trained_tiny_lm()
    path = tmp_path / "lm.onnx"
    report = export_onnx(loaded, path, ExportOptions(), data=_slice(small_text(), 8, 8))
    assert any("KV cache: not exported" in note for note in report.notes)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input_ids"]
    assert [o.name for o in session.get_outputs()] == ["logits"]
    ids = small_text().x_val[:3]
    for length in (8, 32):
        got = session.run(None, {"input_ids": np.ascontiguousarray(ids[:, :length])})[0]
        with torch.inference_mode():
            want = loaded.module(torch.from_numpy(ids[:, :length].copy())).numpy()
        assert got.shape == (3, length, data_vocab())
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)


def data_vocab() -> int:
    return small_text().num_classes


def test_compare_treats_perplexity_as_lower_is_better() -> None:
    from tests.core.test_compare import P50, metrics
    from workbench.core.compare import table as table_module
    from workbench.core.compare.comparison import Budget, compare
    from workbench.core.measure.metrics import AccuracyReport

    def lm(p50: float, ppl: float) -> dict:
        data = metrics(p50)
        report = AccuracyReport("ort", "cpu", "stdlib-text", "language-modeling", 8)
        report.perplexity, report.token_accuracy = ppl, 1 / ppl
        data["accuracy"] = {"ort": {**report.__dict__, "agreement": None}}
        data["val_perplexity"] = ppl
        return data

    entries = [
        table_module.Entry("a", "fp32", lm(2.0, 50.0)),
        table_module.Entry("b", "int4", lm(1.0, 52.0)),
        table_module.Entry("c", "dominated", lm(2.5, 60.0)),
        table_module.Entry("d", "fastest", lm(0.5, 300.0)),
    ]
    result = compare(entries, 0, budget=Budget("latency", 1.5))
    assert (result.axes.x, result.axes.y) == (P50, "accuracy.ort.perplexity")
    assert [p.name for p in result.front] == ["fastest", "int4", "fp32"]
    assert result.table.names[result.pick] == "int4"  # the lowest perplexity within 1.5 ms
    row = result.table.row("accuracy.ort.perplexity")
    assert [c.best for c in row.cells] == [True, False, False, False]
    assert result.table.row("train.val_perplexity").cells[0].best
    assert "perplexity" in result.table.to_text()
