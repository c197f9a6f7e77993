"""Depth pruning of image models: blocks found by shape, ranked by the loss without each,
dropped, saved as plain data and reopened; a distilled student that drops blocks."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from workbench.core.compress.distillation.students import build_student
from workbench.core.compress.pruning.blocks import (
    drop_blocks,
    drop_least_important,
    droppable_blocks,
    scan_blocks,
)
from workbench.core.data.shapes import load_shapes
from workbench.core.errors import WorkbenchError
from workbench.core.io import load
from workbench.core.io.pruned_shapes import pruned_checkpoint
from workbench.core.train import TrainConfig, Trainer

EXAMPLE = torch.zeros(1, 3, 32, 32)


@pytest.fixture(scope="module")
def shapes():
    return load_shapes(train_size=3072, val_size=256, seed=0)


def _convs(module: torch.nn.Module) -> int:
    return sum(isinstance(m, torch.nn.Conv2d) for m in module.modules())


def test_the_blocks_that_keep_their_inputs_shape_are_found() -> None:
    """A stage's first block halves the resolution and widens (not droppable), except
    the 16x16 stage's, whose input is the stem's 32 channels already; that whole stage
    keeps its shape too. The digits CNN's convs are single layers, not blocks."""
    module = load("zoo:resnet_shapes").module
    names = droppable_blocks(module, EXAMPLE)
    assert names == ["stages.0.0", "stages.0.1", "stages.0", "stages.1.1", "stages.2.1"]
    assert droppable_blocks(load("zoo:digits_cnn").module, torch.zeros(1, 1, 8, 8)) == []


def test_a_block_that_passes_its_input_through_is_ranked_first_and_dropped(shapes) -> None:
    """In a model trained a little (6 s), stages.1.1 with its residual branch zeroed outputs
    relu(x) = x (x is a ReLU's output): leaving it out costs nothing while every other
    block carries what training put there, so the scan must rank it first; dropping it
    changes no output."""
    model = load("zoo:resnet_shapes:width=0.5")
    config = TrainConfig(optimizer="adamw", lr=3e-3, weight_decay=5e-4, schedule="one-cycle",
                         epochs=4, batch_size=64, device="cpu")  # fmt: skip
    module = Trainer(model.module, shapes, config).fit().model.eval()
    block = module.stages[1][1]
    torch.nn.init.zeros_(block.bn2.weight)
    torch.nn.init.zeros_(block.bn2.bias)
    scores = scan_blocks(module, shapes, EXAMPLE)
    assert scores[0].name == "stages.1.1"
    assert scores[0].loss < scores[1].loss
    x = torch.as_tensor(shapes.x_val[:32].copy())
    before = module(x)
    notes = drop_least_important(module, 1, shapes, EXAMPLE)
    assert isinstance(module.stages[1][1], torch.nn.Identity)
    assert "stages.1.1" in notes[0]
    torch.testing.assert_close(module(x), before, rtol=1e-5, atol=1e-5)


def test_asking_for_more_blocks_than_there_are_is_one_clear_error(shapes) -> None:
    module = load("zoo:digits_cnn").module
    data = load_shapes(train_size=8, val_size=8)
    with pytest.raises(WorkbenchError, match="cannot drop 1 block"):
        drop_least_important(module, 1, data, torch.zeros(1, 1, 8, 8))
    resnet = load("zoo:resnet_shapes").module
    with pytest.raises(WorkbenchError, match="has 5 that keep"):
        drop_least_important(resnet, 6, shapes, EXAMPLE)


def test_a_model_with_dropped_blocks_reopens_from_plain_data(tmp_path: Path) -> None:
    """The checkpoint marks each dropped block; the fresh architecture gets an Identity
    there before its layers are narrowed, so the weights load strictly."""
    source = load("zoo:resnet_shapes:width=2", seed=1)
    student = build_student(source, "pruned:0.75", example=EXAMPLE, round_to=8)
    drop_blocks(student.module, ["stages.0.1", "stages.2.1"])
    path = tmp_path / "dropped.pt"
    torch.save(pruned_checkpoint(student.module), path)
    reopened = load(path, arch="resnet_shapes:width=2").module.eval()
    assert _convs(reopened) == _convs(student.module) == 15 - 4
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(reopened(x), student.module.eval()(x))


def test_a_pruned_student_drops_the_blocks_asked_for(shapes) -> None:
    teacher = load("zoo:resnet_shapes:width=2")
    whole = build_student(teacher, "pruned:0.875", example=EXAMPLE, round_to=8)
    shallow = build_student(teacher, "pruned:0.875", example=EXAMPLE, round_to=8,
                            drop_blocks=2, dataset=shapes)  # fmt: skip
    assert _convs(shallow.module) == _convs(whole.module) - 4
    assert "2 block(s) dropped" in shallow.description
    assert sum("dropped block" in note for note in shallow.notes) == 2
    assert shallow.module(EXAMPLE).shape == (1, 10)


def test_a_block_the_forward_needs_by_name_is_not_offered(shapes) -> None:
    """A model whose forward reads a block's attribute would fail without it: the scan
    leaves that block out instead of failing."""

    class ReadsItsBlock(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = load("zoo:resnet_shapes").module
            self.extra = torch.nn.Sequential(
                torch.nn.Sequential(torch.nn.Linear(10, 10), torch.nn.Linear(10, 10))
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.extra(self.body(x))
            return out * self.extra[0][0].weight.shape[0] / 10

    module = ReadsItsBlock()
    names = [score.name for score in scan_blocks(module, shapes, EXAMPLE)]
    assert "extra.0" in droppable_blocks(module, EXAMPLE) and "extra.0" not in names
    assert "body.stages.1.1" in names
