"""The built-in architectures: they build from a seed, fit their dataset and export."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from workbench.core.catalogue import get_registry
from workbench.core.measure.runners import torch_threads
from workbench.core.models.digits import DigitsCNN
from workbench.core.registry import ModelEntry
from workbench.core.zoo import parse_zoo_ref

MODEL_NAMES = sorted(get_registry().models)


def _entry(name: str) -> ModelEntry:
    return get_registry().model(name)


def _val_batch(entry: ModelEntry, count: int = 6) -> torch.Tensor:
    data = get_registry().dataset(entry.dataset).load()
    return torch.from_numpy(np.array(data.x_val[:count]))


def _parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_model_builds_and_classifies_a_batch_of_its_dataset(name: str) -> None:
    entry = _entry(name)
    model = entry.build(seed=0)
    assert isinstance(model, nn.Module) and not model.training
    batch = _val_batch(entry)
    spec = entry.inputs[0]
    assert tuple(batch.shape[1:]) == spec.shape[1:]
    assert str(batch.dtype).removeprefix("torch.") == spec.dtype
    with torch.no_grad():
        logits = model(batch)
    # A language model scores the next token at every position: (batch, tokens, vocab).
    per_token = get_registry().dataset(entry.dataset).task == "language-modeling"
    expected = (*batch.shape, entry.num_classes) if per_token else (len(batch), entry.num_classes)
    assert logits.shape == expected
    assert torch.isfinite(logits).all()
    assert get_registry().dataset(entry.dataset).num_classes == entry.num_classes


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_same_seed_gives_the_same_weights_and_another_seed_others(name: str) -> None:
    entry = _entry(name)
    first, again, other = (entry.build(seed=s).state_dict() for s in (0, 0, 1))
    assert all(torch.equal(first[key], again[key]) for key in first)
    assert any(not torch.equal(first[key], other[key]) for key in first)


@pytest.mark.parametrize(
    ("reference", "head"),
    [
        ("zoo:resnet_shapes:width=0.5", "fc"),
        ("zoo:resnet_shapes:depth=0.5", "fc"),
        ("zoo:mobilenet_shapes:width=0.5", "classifier"),
        ("zoo:transformer_seq:d_model=32,layers=1", "fc"),
    ],
)
def test_multipliers_make_smaller_students_of_the_same_family(reference: str, head: str) -> None:
    name, kwargs = parse_zoo_ref(reference)
    entry = _entry(name)
    student = entry.build(seed=0, **kwargs)
    teacher = entry.build(seed=0)
    assert _parameters(student) < _parameters(teacher)
    assert isinstance(getattr(student, head), nn.Linear)
    with torch.no_grad():
        assert student(_val_batch(entry)).shape == (6, entry.num_classes)


def test_resnet_is_made_of_basic_blocks_with_downsampling_shortcuts() -> None:
    model = _entry("resnet_shapes").build(seed=0)
    blocks = [m for m in model.modules() if type(m).__name__ == "BasicBlock"]
    assert len(blocks) == 6
    assert sum(isinstance(b.shortcut, nn.Sequential) for b in blocks) == 2
    assert [model.fc.in_features, model.fc.out_features] == [128, 10]


def test_mobilenet_has_depthwise_convolutions() -> None:
    model = _entry("mobilenet_shapes").build(seed=0)
    depthwise = [
        m for m in model.modules() if isinstance(m, nn.Conv2d) and m.groups == m.in_channels > 1
    ]
    assert len(depthwise) >= 7
    assert any(isinstance(m, nn.ReLU6) for m in model.modules())


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_model_exports_with_torch_export(name: str) -> None:
    entry = _entry(name)
    model = entry.build(seed=0)
    batch = _val_batch(entry, count=2)
    program = torch.export.export(model, (batch,))
    with torch.no_grad():
        expected = model(batch)
        actual = program.module()(batch)
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)


# The TorchScript exporter warns that it is deprecated, and traces torch's own
# shape checks inside nn.MultiheadAttention (constant for a given model).
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::torch.jit.TracerWarning")
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_model_exports_to_onnx_and_onnxruntime_agrees(name: str, tmp_path: Path) -> None:
    entry = _entry(name)
    model = entry.build(seed=0)
    spec = entry.inputs[0]
    batch = _val_batch(entry, count=6)
    path = tmp_path / f"{name}.onnx"
    torch.onnx.export(
        model,
        (batch[:2],),
        str(path),
        dynamo=False,
        input_names=[spec.name],
        output_names=["logits"],
        dynamic_axes={spec.name: {0: "batch"}, "logits": {0: "batch"}},
    )
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    # A batch size other than the traced one: the batch axis really is dynamic.
    (logits,) = session.run(None, {spec.name: batch.numpy()})
    with torch.no_grad():
        expected = model(batch).numpy()
    np.testing.assert_allclose(logits, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.slow
def test_digits_cnn_trains_from_scratch_to_97_percent() -> None:
    data = get_registry().dataset("digits").load()
    torch.manual_seed(0)
    model = DigitsCNN()
    loader = torch.utils.data.DataLoader(data.train_tensors(), batch_size=32, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    start = time.perf_counter()
    # One thread: batches of 32 gain nothing from a second, which only spins when other
    # processes share the 2 cores.
    with torch_threads(1):
        for _ in range(6):
            model.train()
            for inputs, labels in loader:
                optimizer.zero_grad()
                nn.functional.cross_entropy(model(inputs), labels).backward()
                optimizer.step()
    seconds = time.perf_counter() - start
    model.eval()
    x_val, y_val = data.val_tensors().tensors
    with torch.no_grad():
        accuracy = (model(x_val).argmax(dim=1) == y_val).float().mean().item()
    print(f"DigitsCNN: {accuracy:.4f} validation accuracy after 6 epochs in {seconds:.1f} s")
    assert accuracy >= 0.97
