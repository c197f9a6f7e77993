"""`workbench generate` as a user runs it: a zoo LM and its ONNX export, and bad input."""

from __future__ import annotations

import json

import pytest
from fixtures.cli import error_line, run_workbench

from workbench.core.io import load
from workbench.core.measure.torch_to_onnx import torch_to_onnx

MODEL = "zoo:tiny_lm:width=64,layers=2"
PROMPT = "Return the number of"


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory):
    """The zoo model's seeded weights exported as a plain file (no dataset recorded)."""
    path = tmp_path_factory.mktemp("generate") / "lm.onnx"
    model = torch_to_onnx(load(MODEL), label="lm", dynamic_batch=True).model
    path.write_bytes(model.SerializeToString())
    return path


def test_zoo_lm_and_its_onnx_export_continue_alike_and_print_speed(onnx_file) -> None:
    args = ["--prompt", PROMPT, "--max-new-tokens", "6", "--threads", "1", "--json"]
    speed = ["--new-tokens", "4", "--rounds", "1", "--prompt-tokens", "16"]
    torch_run = run_workbench("generate", MODEL, *args, *speed, "--batch", "1,2")
    assert torch_run.returncode == 0, torch_run.stderr
    ort_run = run_workbench(
        "generate", str(onnx_file), "--data", "stdlib-text", *args, "--no-speed"
    )
    assert ort_run.returncode == 0, ort_run.stderr
    torch_out, ort_out = json.loads(torch_run.stdout), json.loads(ort_run.stdout)
    assert torch_out["continuation"]["runtime"] == "torch"
    assert ort_out["continuation"]["runtime"] == "ort"
    assert ort_out["continuation"]["tokens"] == torch_out["continuation"]["tokens"]
    assert len(torch_out["continuation"]["tokens"]) > 0
    assert [s["batch"] for s in torch_out["speed"]] == [1, 2]
    assert all(s["tokens_per_s"] > 0 and s["prompt_tokens"] == 16 for s in torch_out["speed"])
    assert ort_out["speed"] == []


def test_plain_output_says_there_is_no_kv_cache() -> None:
    run = run_workbench(
        *["generate", MODEL, "--prompt", PROMPT, "--max-new-tokens", "3", "--batch", "1"],
        *["--new-tokens", "2", "--rounds", "1", "--threads", "1"],
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[1].startswith(PROMPT)
    assert "no KV cache" in run.stdout and "batch 1: prefill 32 tokens" in run.stdout


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--prompt", "x"], "has no tokenizer"),  # the .onnx names no dataset
        (["--prompt", "x", "--data", "digits"], "not text"),
        (["--prompt", "", "--data", "stdlib-text"], "the prompt is empty"),
        (["--prompt", "x", "--data", "stdlib-text", "--max-new-tokens", "0"], "at least 1"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(onnx_file, extra, expected) -> None:
    assert expected in error_line(run_workbench("generate", str(onnx_file), *extra))


def test_a_bad_batch_list_is_a_usage_error(onnx_file) -> None:
    run = run_workbench("generate", str(onnx_file), "--prompt", "x", "--batch", "1,0")
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "batch sizes must be whole numbers" in run.stderr.strip().splitlines()[-1]
