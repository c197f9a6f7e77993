"""GPU memory beside a training run: silent on the CPU, throttled figures on CUDA."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from workbench.core.catalogue import get_registry
from workbench.core.data.digits import load_digits
from workbench.core.train import TrainConfig, Trainer
from workbench.core.train.events import Finished, Progress, Started, Step
from workbench.core.train.gpu_memory import DeviceMemory, MemorySampler, device_memory

GIB = 1024**3


def _started(device: str) -> Started:
    return Started(100, 10, 10, 0, device, 1000, 100)


def _progress(step: int) -> Progress:
    return Progress(step, 100, 1, 1000.0, 1.0)


def test_a_cpu_run_gets_no_gpu_memory_events() -> None:
    """A real run on the CPU with the sampler listening: nothing GPU-related comes."""
    events: list = []
    sampler = MemorySampler(events.append, interval_s=0.0)
    data = load_digits()
    small = dataclasses.replace(data, x_train=data.x_train[:256], y_train=data.y_train[:256])
    model = get_registry().model("digits_mlp").build(seed=0)
    config = TrainConfig(epochs=1, batch_size=64, device="cpu")
    Trainer(model, small, config, listeners=[sampler]).fit()
    assert sampler.device is None and events == []
    assert device_memory("cpu") is None and device_memory("mps") is None


def test_samples_are_throttled_and_the_end_of_the_run_is_always_sampled() -> None:
    """The CUDA path's bookkeeping, with a sample function standing in for the allocator."""
    now = [0.0]
    sampled: list[str] = []
    resets: list[str] = []

    def sample(device: str) -> DeviceMemory:
        sampled.append(device)
        return DeviceMemory(device, len(sampled) * GIB, 3 * GIB, 140 * GIB)

    events: list = []
    sampler = MemorySampler(
        events.append, interval_s=0.5, clock=lambda: now[0], sample=sample, reset=resets.append
    )
    sampler(_started("cuda:1"))
    assert resets == ["cuda:1"]
    for step in range(1, 11):  # ten Progress events 0.1 s apart: two samples
        now[0] = step * 0.1
        sampler(Step(step, 1, 1.0, 0.1))
        sampler(_progress(step))
    assert sampled == ["cuda:1", "cuda:1"]
    sampler(Finished(result=None))  # the last figures, whatever the interval
    assert len(events) == 3 and all(isinstance(e, DeviceMemory) for e in events)
    sampler(_started("cpu"))  # the next run is on the CPU: silent again
    sampler(_progress(1))
    assert len(events) == 3 and resets == ["cuda:1"]


def test_the_figures_read_as_in_use_peak_and_total() -> None:
    memory = DeviceMemory("cuda:0", 3 * GIB // 2, 5 * GIB, 150_109_593_600)
    assert memory.describe() == "GPU memory 1.5 GiB in use · peak 5.0 GiB of 139.8 GiB"


def test_device_memory_reads_the_allocator_on_cuda() -> None:
    if not torch.cuda.is_available():
        assert device_memory("cuda:0") is None  # no CUDA here: nothing to read
        pytest.skip("no CUDA device here")
    block = torch.empty(64 * 1024 * 1024, dtype=torch.uint8, device="cuda:0")
    memory = device_memory("cuda:0")
    assert memory is not None and memory.allocated >= block.numel()
    assert memory.peak >= memory.allocated and memory.total > memory.peak
