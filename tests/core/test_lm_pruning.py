"""Language-model pruning on a trained tiny_lm: whole heads, MLP width, depth by scan."""

from __future__ import annotations

import copy
import statistics

import numpy as np
import onnxruntime as ort
import pytest
import torch
from fixtures.tiny_lm import small_text, trained_tiny_lm

from workbench.core.compress.pruning import lm
from workbench.core.errors import WorkbenchError
from workbench.core.lm.perplexity import torch_perplexity

FOUR_BLOCKS = "zoo:tiny_lm:width=64,layers=4"


def _kept_rows(original: torch.Tensor, pruned: torch.Tensor) -> list[int]:
    """Which rows of ``original`` survive in ``pruned`` (rows are distinct after training)."""
    return [int((original - row).abs().sum(1).argmin()) for row in pruned]


def test_heads_and_mlp_lose_whole_heads_and_channels_and_still_export(tmp_path) -> None:
    source = trained_tiny_lm().module
    module = copy.deepcopy(source)
    example = torch.zeros(1, 32, dtype=torch.long)
    lm.prune_heads_mlp(module, example, heads=0.25, mlp=0.25)

    assert lm.block_shapes(module) == [{"heads": 3, "mlp": 192}] * 2
    assert module.lm_head.weight.shape == source.lm_head.weight.shape  # residual width whole
    assert module.embed.weight.shape == source.embed.weight.shape
    for old, new in zip(source.blocks, module.blocks, strict=True):
        head_dim = old.attn.head_dim
        kept = {}
        for name in ("q_proj", "k_proj", "v_proj"):
            rows = _kept_rows(getattr(old.attn, name).weight, getattr(new.attn, name).weight)
            heads = sorted({r // head_dim for r in rows})
            # whole heads: each kept head keeps all its channels, in order
            assert rows == [h * head_dim + i for h in heads for i in range(head_dim)]
            kept[name] = heads
        assert kept["q_proj"] == kept["k_proj"] == kept["v_proj"]
        columns = [h * head_dim + i for h in kept["q_proj"] for i in range(head_dim)]
        torch.testing.assert_close(new.attn.out_proj.weight, old.attn.out_proj.weight[:, columns])

    ids = torch.randint(0, 2048, (2, 64), generator=torch.Generator().manual_seed(0))
    torch.onnx.export(module, (ids,), tmp_path / "m.onnx", input_names=["input_ids"], dynamo=False)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    with torch.inference_mode():
        expected = module(ids).numpy()
    np.testing.assert_allclose(session.run(None, {"input_ids": ids.numpy()})[0], expected,
                               rtol=1e-4, atol=1e-4)  # fmt: skip

    data = small_text()
    before = torch_perplexity(source, data.x_val[:64], data.y_val[:64])
    after = torch_perplexity(module, data.x_val[:64], data.y_val[:64])
    assert before < after < 2048  # it lost something, but is still a language model


def test_taylor_ranks_heads_only_when_only_heads_are_asked() -> None:
    module = copy.deepcopy(trained_tiny_lm().module)
    example = torch.zeros(1, 32, dtype=torch.long)
    gradients = lm.lm_gradients(small_text(), batches=2)
    lm.prune_heads_mlp(module, example, heads=0.5, mlp=0.0, method="taylor", gradients=gradients)
    assert lm.block_shapes(module) == [{"heads": 2, "mlp": 256}] * 2
    assert all(p.grad is None for p in module.parameters())


def test_too_few_heads_and_non_language_models_are_refused() -> None:
    module = copy.deepcopy(trained_tiny_lm().module)
    with pytest.raises(WorkbenchError, match="removes none"):
        lm.prune_heads_mlp(module, torch.zeros(1, 8, dtype=torch.long), heads=0.1, mlp=0.0)
    with pytest.raises(WorkbenchError, match="not a decoder language model"):
        lm.require_blocks(torch.nn.Sequential(torch.nn.Linear(2, 2)), "mlp")


def test_the_block_the_scan_drops_beats_dropping_the_others_on_held_out_text() -> None:
    """The scan ranks on one part of the validation split; the dropped models are judged
    on the other part, so the test checks that the ranking carries over, not itself."""
    model = trained_tiny_lm(300, FOUR_BLOCKS).module
    data = small_text()
    half = len(data.x_val) // 2
    scan = lm.scan_depth(model, data.x_val[:half], data.y_val[:half])
    assert len(scan.scores) == 4 and "rank  block" in scan.table()
    chosen = scan.ranked()[0].index

    def without(index: int) -> float:
        pruned = copy.deepcopy(model)
        lm.drop_blocks(pruned, [index])
        assert len(pruned.blocks) == 3
        return torch_perplexity(pruned, data.x_val[half:], data.y_val[half:])

    others = [without(i) for i in range(4) if i != chosen]
    assert without(chosen) < statistics.median(others)
