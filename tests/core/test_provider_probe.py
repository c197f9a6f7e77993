"""The ONNX Runtime provider probe: preload first, silent, and it keeps the reason."""

from __future__ import annotations

import os

import onnxruntime as ort
import pytest

from workbench.core.measure.provider_probe import (
    CPU,
    CUDA,
    TENSORRT,
    captured_output,
    failure_reason,
    probe,
)
from workbench.core.measure.providers import _probe_model, quiet_session_options, why_not

# What onnxruntime-gpu 1.31 logs on a machine without the CUDA libraries (colours kept).
LINUX_LOG = (
    "\x1b[1;31m2026-12-04 16:46:43.546701344 [E:onnxruntime:Default, provider_bridge_ort.cc:"
    "2458 operator()] /onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:2043 "
    "onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL"
    " : Failed to load library /venv/site-packages/onnxruntime/capi/libonnxruntime_providers_"
    "cuda.so with error: libcublasLt.so.13: cannot open shared object file: No such file or "
    "directory\n\x1b[m\n"
)
WINDOWS_LOG = (
    '[E:onnxruntime:Default, provider_bridge_ort.cc:1992] LoadLibrary failed with error 126 "" '
    'when trying to load "C:\\venv\\onnxruntime\\capi\\onnxruntime_providers_cuda.dll"'
)
NO_GPU_LOG = (
    "[E:onnxruntime:Default, cuda_call.cc:123 CudaCall] CUDA failure 100: no CUDA-capable "
    "device is detected ; GPU=0 ; hostname=x ; expr=cudaSetDevice(info_.device_id);"
)
PRELOAD_PRINTED = (
    "Failed to load libcurand.so.10: libcurand.so.10: cannot open shared object file: No "
    "such file or directory\n"
)


def test_the_reason_names_the_missing_library_and_how_to_get_it() -> None:
    reason = failure_reason(CUDA, LINUX_LOG, cuda_version="13.0")
    assert reason.startswith("CUDA provider failed to load: libcublasLt.so.13 not found (")
    assert "CUDA 13" in reason and "onnxruntime-gpu[cuda,cudnn]" in reason
    assert "\n" not in reason and "\x1b" not in reason
    trt = failure_reason(TENSORRT, LINUX_LOG.replace("libcublasLt.so.13", "libnvinfer.so.10"))
    assert trt.startswith("TensorRT provider failed to load: libnvinfer.so.10 not found")
    assert "pip install tensorrt" in trt


def test_the_probe_s_own_messages_come_before_what_preload_printed() -> None:
    # The GPU is missing: the library preload_dlls missed (optional here) is not the cause.
    reason = failure_reason(CUDA, NO_GPU_LOG, PRELOAD_PRINTED, "13.0")
    assert reason == "CUDA provider failed to load: no CUDA-capable device is detected"
    # The probe said nothing: preload's lines still tell why.
    assert "libcurand.so.10 not found" in failure_reason(CUDA, "", PRELOAD_PRINTED)
    assert "without saying why" in failure_reason(CUDA, "", "")
    windows = failure_reason(CUDA, WINDOWS_LOG)
    assert "onnxruntime_providers_cuda.dll did not load (error 126" in windows


def test_captured_output_keeps_ort_lines_and_passes_other_stderr_on(capfd) -> None:
    with captured_output() as text:
        print("*************** EP Error ***************")
        os.write(2, LINUX_LOG.encode())
        os.write(2, b"a line some other thread wrote\n")
    assert "EP Error" in text.value and "libcublasLt.so.13: cannot open" in text.value
    assert "\x1b[" not in text.value
    out, err = capfd.readouterr()
    assert out == "" and err == "a line some other thread wrote\n"


def test_preload_dlls_runs_before_the_first_provider_session(monkeypatch, capfd) -> None:
    """The CUDA libraries that pip packages bring are found only when preloaded first."""
    if not {CUDA, TENSORRT} & set(ort.get_available_providers()):
        pytest.skip("this onnxruntime lists no GPU provider: nothing to preload")
    if not hasattr(ort, "preload_dlls"):
        pytest.skip(f"onnxruntime {ort.__version__} has no preload_dlls")
    calls: list[str] = []
    real_preload, real_session = ort.preload_dlls, ort.InferenceSession

    def preload(*args, **kwargs):
        calls.append("preload_dlls")
        print("Failed to load libexample.so.1: ...")  # its console output stays captured
        return real_preload(*args, **kwargs)

    def session(model, options=None, providers=None, **kwargs):
        calls.append(f"session {providers[0]}")
        return real_session(model, options, providers=providers, **kwargs)

    monkeypatch.setattr(ort, "preload_dlls", preload)
    monkeypatch.setattr(ort, "InferenceSession", session)
    result = probe(_probe_model(), quiet_session_options)
    assert calls[0] == "preload_dlls" and calls[1].startswith("session ")
    assert result.working[-1] == CPU
    listed = {CUDA, TENSORRT} & set(ort.get_available_providers())
    assert set(result.failures) == listed - set(result.working)  # a reason for each failure
    out, err = capfd.readouterr()
    assert "libexample" not in out + err and "EP Error" not in out + err


def test_why_cuda_is_unusable_here_is_the_real_cause() -> None:
    """On this machine (onnxruntime-gpu, no CUDA libraries) the cause is a library."""
    reason = why_not(CUDA)
    if reason is None:
        pytest.skip("ONNX Runtime's CUDA provider works here")
    if CUDA in ort.get_available_providers():
        assert reason.startswith("CUDA provider failed to load: ") and "\n" not in reason
        cause = reason.removeprefix("CUDA provider failed to load: ")
        assert any(word in cause for word in (".so", ".dll", "device", "driver")), reason
    else:
        assert "install onnxruntime-gpu" in reason
    assert why_not(CPU) is None
