"""A Llama-style Hugging Face folder (#23: "GPT-2 and Llama-style configs"): rotary
positions, grouped-query attention, SwiGLU MLP, RMSNorm. Built offline from a config with
random weights and a BPE tokenizer trained here, saved with ``save_pretrained``; then
opened, exported with free batch and sequence, quantized to INT4 weight-only, and used
to generate: ONNX Runtime's greedy tokens must be PyTorch's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from workbench.core.compress.quantization.workflow import quantize_variant
from workbench.core.export import ExportOptions, export_onnx
from workbench.core.io import load
from workbench.core.lm.continuation import continue_text
from workbench.core.lm.measure import is_causal_lm, measure_generation

pytest.importorskip("transformers")

TEXT = [
    "Return the number of items in the list.",
    "Raise an error if the file cannot be opened.",
    "The default value is used when no argument is given.",
] * 20


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("hf") / "my-llama"
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    special = ["<unk>", "<s>", "</s>"]
    bpe.train_from_iterator(TEXT, trainers.BpeTrainer(vocab_size=160, special_tokens=special))
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=bpe.get_vocab_size(), hidden_size=32, intermediate_size=64,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=64, bos_token_id=1, eos_token_id=2, pad_token_id=0,
    )  # fmt: skip
    model = LlamaForCausalLM(config).eval()
    model.save_pretrained(folder)
    return folder, model


def test_a_llama_folder_opens_as_a_causal_lm(llama) -> None:
    folder, _ = llama
    loaded = load(folder)
    assert is_causal_lm(loaded) and loaded.tokenizer == folder
    assert loaded.inputs[0].name == "input_ids"
    assert loaded.inputs[0].dtype == "int64"


def test_llama_exports_with_free_batch_and_sequence_and_matches_torch(tmp_path, llama) -> None:
    folder, original = llama
    out = tmp_path / "llama.onnx"
    report = export_onnx(load(folder), out, ExportOptions(parity_samples=8))
    assert report.written and report.parity.passed, report.notes
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    inputs = {i.name: i for i in session.get_inputs()}
    assert all(i.shape == ["batch", "sequence"] for i in inputs.values())
    for batch, sequence in ((1, 5), (3, 23)):
        ids = torch.randint(3, original.config.vocab_size, (batch, sequence))
        feed = {"input_ids": ids.numpy()}
        if "attention_mask" in inputs:
            feed["attention_mask"] = np.ones_like(feed["input_ids"])
        (got,) = session.run(["logits"], feed)
        with torch.no_grad():
            expected = original(input_ids=ids).logits.numpy()
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)


def test_llama_int4_and_greedy_generation_on_both_runtimes(llama) -> None:
    folder, _ = llama
    loaded = load(folder)
    prompt = "Return the number of"
    on_torch = continue_text(loaded, prompt, 12, runtime="torch")
    on_ort = continue_text(loaded, prompt, 12, runtime="ort")
    assert on_torch.tokens and on_torch.tokens == on_ort.tokens  # one model, one argmax
    assert (on_torch.runtime, on_ort.runtime) == ("torch", "ort")

    outcome = quantize_variant(loaded, "int4", {"block_size": 32, "error_samples": 0},
                               batches=())  # fmt: skip
    ops = {node.op_type for node in outcome.model.onnx_model.graph.node}
    assert "MatMulNBits" in ops
    int4 = continue_text(outcome.model, prompt, 12, dataset=None, runtime="ort")
    assert len(int4.tokens) == 12 or int4.ended
    speed = measure_generation(outcome.model, batches=(1, 2), new_tokens=4, rounds=1)
    assert [p.batch for p in speed.points] == [1, 2]
    assert all(p.tokens_per_s > 0 for p in speed.points)
