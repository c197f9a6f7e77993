"""Greedy generation and LM speed figures on a real trained tiny_lm, in torch and ORT."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.tiny_lm import exported_tiny_lm, small_text, trained_tiny_lm

from workbench.core.context import Cancelled, RunContext
from workbench.core.errors import DataError
from workbench.core.lm.codec import codec_for
from workbench.core.lm.continuation import continue_text
from workbench.core.lm.generate import OrtLM, TorchLM, greedy_generate, lm_for
from workbench.core.lm.speed import measure_lm_speed, speed_prompt


@pytest.fixture(scope="module")
def onnx_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_lm_onnx")
    return exported_tiny_lm(folder), exported_tiny_lm(folder, dynamic_sequence=True)


def prompts(count: int, length: int) -> np.ndarray:
    return np.asarray(small_text().x_val[:count, :length])


def test_torch_and_ort_greedy_agree_on_fixed_and_dynamic_sequence(onnx_files) -> None:
    fixed, dynamic = (lm_for(f, "ort") for f in onnx_files)
    assert isinstance(fixed, OrtLM) and (fixed.fixed, dynamic.fixed) == (64, None)
    torch_lm = lm_for(trained_tiny_lm(), "torch")
    # Three prompts of 12 tokens, batched: the fixed file pads each window on the right
    # to 64 and reads the last real position (left padding would shift every position).
    ids = prompts(3, 12)
    expected = greedy_generate(torch_lm, ids, 12).tokens
    assert len(set(map(tuple, expected))) > 1  # the rows differ: a real test of batching
    for lm in (fixed, dynamic):
        np.testing.assert_array_equal(greedy_generate(lm, ids, 12).tokens, expected)


def test_a_prefix_longer_than_the_window_keeps_its_last_tokens(onnx_files) -> None:
    fixed = lm_for(onnx_files[0], "ort")
    long_prompt = np.concatenate([prompts(1, 32)[0], prompts(3, 32)[2], prompts(2, 32)[1]])
    assert len(long_prompt) == 96 > fixed.window == 64
    torch_64 = TorchLM(trained_tiny_lm().module, window=64)
    expected = greedy_generate(torch_64, long_prompt, 6).tokens
    np.testing.assert_array_equal(greedy_generate(fixed, long_prompt, 6).tokens, expected)
    # The whole 96 tokens give other logits: the cut is real, and both runtimes made it.
    import torch

    module = trained_tiny_lm().module
    with torch.inference_mode():
        whole = module(torch.from_numpy(long_prompt[None]))[0, -1]
        cut = module(torch.from_numpy(long_prompt[None, -64:]))[0, -1]
    assert not torch.allclose(whole, cut, atol=1e-3)


def test_generation_stops_at_the_end_token_and_on_cancel() -> None:
    lm = lm_for(trained_tiny_lm(), "torch")
    ids = prompts(1, 16)[0]
    free = greedy_generate(lm, ids, 6).tokens[0]
    # The model's third token taken as the end token: two tokens, then the stop.
    stopped = greedy_generate(lm, ids, 6, end_id=int(free[2]))
    if free[2] in free[:2]:
        pytest.skip("the third token repeats an earlier one")
    assert stopped.steps == 3 and stopped.row(0) == [int(t) for t in free[:2]]

    ctx = RunContext()
    ctx.progress = lambda fraction, message: ctx.cancel.cancel()
    with pytest.raises(Cancelled):
        greedy_generate(lm, ids, 50, ctx=ctx)


def test_continue_text_reads_the_prompt_with_the_datasets_tokenizer() -> None:
    loaded = trained_tiny_lm()
    assert loaded.dataset == "stdlib-text"
    result = continue_text(loaded, "Return the number of", 8, threads=1)
    codec = codec_for("stdlib-text", None, label="x")
    ids = codec.encode("Return the number of")
    expected = greedy_generate(lm_for(loaded, "torch"), ids, 8, end_id=codec.end_id).row(0)
    assert result.tokens == expected and result.text == codec.decode(expected)
    assert result.tokens_per_s > 0 and result.runtime == "torch"


def test_a_model_without_tokenizer_is_one_clear_error(onnx_files) -> None:
    with pytest.raises(DataError, match="has no tokenizer"):
        codec_for(onnx_files[0].dataset, onnx_files[0].tokenizer, label="tiny_lm.onnx")
    with pytest.raises(DataError, match="not text"):
        codec_for("digits", None, label="digits_cnn")


def test_speed_figures_are_positive_and_batch_8_writes_more_tokens_per_second() -> None:
    lm = lm_for(trained_tiny_lm(), "torch", threads=1)
    speeds = measure_lm_speed(lm, speed_prompt(prompts(1, 32)[0]), new_tokens=8, rounds=3)
    one, eight = speeds
    print(
        f"\ntorch cpu 1 thread: prefill b1 {one.prefill_ms:.2f} ms, b8 {eight.prefill_ms:.2f} ms;"
        f" decode b1 {one.tokens_per_s:.0f} tok/s, b8 {eight.tokens_per_s:.0f} tok/s"
    )
    assert (one.batch, eight.batch) == (1, 8)
    for speed in speeds:
        assert speed.prompt_tokens == 32 and len(speed.rounds) == 3
        assert speed.prefill_ms > 0 and speed.tokens_per_s > 0
        assert speed.peak_memory_bytes is not None and speed.peak_memory_bytes >= 0
    # A tiny model's step is mostly fixed cost: eight rows share it.
    assert eight.tokens_per_s > one.tokens_per_s
    assert eight.prefill_ms > one.prefill_ms * 0.5  # more work is not much faster
