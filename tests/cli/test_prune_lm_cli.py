"""`workbench prune MODEL --heads --mlp --depth` on a language model, as a user runs it."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import onnxruntime as ort
import torch
from fixtures.cli import error_line, run_workbench

from workbench.core.compress.pruning.lm import block_shapes
from workbench.core.io import load


def workbench(*args: str) -> subprocess.CompletedProcess[str]:
    return run_workbench(*args, env={"OMP_NUM_THREADS": "1"})


def test_heads_mlp_and_depth_make_a_smaller_lm_that_reopens_and_exports(tmp_path) -> None:
    out = tmp_path / "pruned"
    done = workbench("prune", "zoo:tiny_lm:width=64,layers=2", "--heads", "0.25", "--mlp",
                     "0.25", "--depth", "1", "--scan-windows", "16", "--data", "stdlib-text",
                     "--seconds", "0.1", "--out", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "rank  block  perplexity without it" in done.stdout  # the scan's table
    assert "blocks: 2 x (4 heads, MLP 256) -> 3 heads, MLP 192" in done.stdout
    assert "perplexity: " in done.stdout and "parameters: " in done.stdout

    record = json.loads((out / "variant.json").read_text())
    metrics = record["metrics"]
    assert len(metrics["depth_scan"]["blocks"]) == 2 and len(metrics["dropped_blocks"]) == 1
    assert metrics["after"]["parameters"] < metrics["before"]["parameters"]
    assert metrics["before"]["perplexity"] > 1 and metrics["after"]["perplexity"] > 1
    assert record["arch"] == "tiny_lm:width=64,layers=1"

    reopened = load(str(out / "model.pt"), arch=record["arch"])
    assert block_shapes(reopened.module) == [{"heads": 3, "mlp": 192}]
    ids = torch.randint(0, 2048, (1, 64), generator=torch.Generator().manual_seed(0))
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    with torch.inference_mode():
        expected = reopened.module(ids).numpy()
    name = session.get_inputs()[0].name
    np.testing.assert_allclose(session.run(None, {name: ids.numpy()})[0], expected, atol=1e-4)


def test_lm_flags_on_other_models_and_image_flags_on_lms_are_one_line(tmp_path) -> None:
    for args, said in (
        (("zoo:digits_cnn", "--heads", "0.25"), "is not a decoder language model"),
        (("zoo:tiny_lm", "--heads", "0.25", "--amount", "0.3"), "--amount is for channel"),
        (("zoo:tiny_lm", "--mlp", "0.25", "--method", "bn-scale"), "does not rank attention"),
    ):
        done = workbench("prune", *args, "--out", str(tmp_path / "x"))
        assert done.returncode == 2, done.stderr
        assert said in error_line(done), done.stderr
