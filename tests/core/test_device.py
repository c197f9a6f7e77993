"""Device choice: what a chooser offers (each GPU named), and why CUDA is absent."""

from __future__ import annotations

import pytest
import torch

from workbench.core.device import (
    cuda_missing,
    gpu_choices,
    onnxruntime_devices,
    resolve_device,
    torch_devices,
)
from workbench.core.errors import WorkbenchError

H200 = 150_109_593_600  # bytes, as torch.cuda.get_device_properties reports an H200


def test_each_gpu_is_named_with_its_memory() -> None:
    choices = gpu_choices([("NVIDIA H200", H200), ("NVIDIA A100-SXM4-80GB", 85_095_874_560)])
    assert [c.name for c in choices] == ["cuda:0", "cuda:1"]
    assert choices[0].label == "cuda:0 — NVIDIA H200, 139.8 GiB"
    assert choices[1].label == "cuda:1 — NVIDIA A100-SXM4-80GB, 79.3 GiB"
    assert gpu_choices([]) == []


def test_torch_devices_list_the_gpus_here_or_say_why_there_are_none() -> None:
    devices = torch_devices()
    assert devices.names[:2] == ["auto", "cpu"]
    if torch.cuda.is_available():
        assert devices.cuda_missing is None
        gpus = [n for n in devices.names if n.startswith("cuda:")]
        assert len(gpus) == torch.cuda.device_count()
        assert torch.cuda.get_device_name(0) in devices.choices[2].label
        assert devices.choices[0].label == "auto (cuda here)"
    else:
        assert not any(n.startswith("cuda") for n in devices.names)
        assert devices.cuda_missing == cuda_missing(torch) and devices.cuda_missing
        if torch.version.cuda is None:  # this CI machine: a CPU build of PyTorch
            assert devices.cuda_missing == f"PyTorch {torch.__version__} is built without CUDA"


def test_asking_for_cuda_without_it_says_why_in_one_line() -> None:
    if torch.cuda.is_available():
        with pytest.raises(WorkbenchError, match=r"CUDA device\(s\) found"):
            resolve_device(f"cuda:{torch.cuda.device_count()}")
        return
    with pytest.raises(WorkbenchError) as raised:
        resolve_device("cuda")
    assert raised.value.message == (f"device 'cuda' is not available here ({cuda_missing(torch)})")


def test_onnxruntime_devices_offer_cuda_only_when_its_provider_loads() -> None:
    from workbench.core.measure.providers import CUDA, working_providers

    devices = onnxruntime_devices()
    assert devices.names[0] == "cpu" and "auto" not in devices.names
    if CUDA in working_providers():
        assert devices.cuda_missing is None and "cuda:0" in devices.names
    else:
        assert devices.names == ["cpu"]
        assert "CUDA provider failed to load" in devices.cuda_missing or (
            "no CUDA provider" in devices.cuda_missing
        )
