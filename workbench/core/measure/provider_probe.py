"""Which ONNX Runtime GPU providers load here, and if not, why: the probe behind
``working_providers``.

``onnxruntime-gpu`` lists CUDA and TensorRT as *available* even without a GPU or its
libraries; only creating a session tells whether they load. A provider that fails
does not raise: the session falls back to the CPU and the cause ("libcublasLt.so.13:
cannot open shared object file") goes to the C++ logger on file descriptor 2, once per
process. The probe catches that text (and the Python "EP Error" banner on stdout)
instead of printing it, and keeps one line per provider for when the user asks for
that device.

Before the probe, ``onnxruntime.preload_dlls()`` (ONNX Runtime 1.21+) loads the CUDA
libraries that pip packages bring (``site-packages/nvidia/...``, PyTorch's CUDA
wheels): without a system CUDA, ORT finds them only that way.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
_QUIET = 3  # ORT severities: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal
_CAPTURE = 2  # during the probe: warnings too ("Require cuDNN 9.* and CUDA 13.*")
_PROVIDER_NAMES = {CUDA: "CUDA", TENSORRT: "TensorRT"}
_MISSING_LIBRARY = re.compile(r"([\w.+-]+\.so[.\d]*): cannot open shared object file")
_LOAD_FAILED = re.compile(
    r'LoadLibrary failed with error (\d+) "[^"]*" when trying to load "([^"]+)"'
)
_ORT_LINE = re.compile(r"\[[EWIV]:onnxruntime:")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class ProviderProbe:
    """The providers a session really gets, best first (CPU last), and why the others
    listed as available do not load (one line each, for the user)."""

    working: tuple[str, ...]
    failures: dict[str, str] = field(default_factory=dict)


def probe(model: bytes, session_options: Callable[[], Any]) -> ProviderProbe:
    """Try each GPU provider ORT lists on ``model`` (a tiny graph), silently."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    listed = [p for p in (TENSORRT, CUDA) if p in available]
    if not listed:
        return ProviderProbe((CPU,))
    preload_log = preload_gpu_libraries()
    found: list[str] = []
    failures: dict[str, str] = {}
    for provider in listed:
        options = session_options()
        options.log_severity_level = _CAPTURE
        ort.set_default_logger_severity(_CAPTURE)  # library-load failures use this logger
        error, text = "", _Captured()
        try:
            with captured_output() as text:
                session = ort.InferenceSession(model, options, providers=[provider, CPU])
            if provider in session.get_providers():
                found.append(provider)
                continue
        except Exception as exc:  # a failure means "not usable here", reported on request
            error = str(exc)
        finally:
            ort.set_default_logger_severity(_QUIET)
        said = f"{error}\n{text.value}"
        failures[provider] = failure_reason(provider, said, preload_log, _ort_cuda_version())
    return ProviderProbe((*found, CPU), failures)


def preload_gpu_libraries() -> str:
    """``onnxruntime.preload_dlls()`` where this ORT has it; what it printed (its
    "Failed to load libcublasLt.so.13: ..." lines), kept out of the user's console."""
    import onnxruntime as ort

    preload = getattr(ort, "preload_dlls", None)
    if preload is None:
        return ""
    with captured_output() as text, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its plugin-EP registration warns on failure
        try:
            preload()
        except Exception as exc:  # a broken nvidia package must not stop the CPU path
            print(f"preload_dlls failed: {exc}")
    return text.value


class _Captured:
    value = ""


@contextlib.contextmanager
def captured_output() -> Iterator[_Captured]:
    """Collect stdout (Python prints) and file descriptor 2 (ORT's C++ logger) into
    ``.value``. What other threads write to fd 2 meanwhile is passed back on."""
    box = _Captured()
    buffer = io.StringIO()
    with tempfile.TemporaryFile() as sink:
        saved = _swap_fd2(sink.fileno())
        try:
            with contextlib.redirect_stdout(buffer):
                yield box
        finally:
            if saved is not None:
                os.dup2(saved, 2)
                os.close(saved)
            sink.seek(0)
            logged = sink.read().decode("utf-8", "replace")
            box.value = buffer.getvalue() + _ANSI.sub("", logged)
            _pass_on(logged)


def _swap_fd2(target: int) -> int | None:
    """Point fd 2 at ``target``; the saved original, or None where there is no fd 2
    (a windowed app on Windows): then there is nothing to catch."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        return None
    os.dup2(target, 2)
    return saved


def _pass_on(logged: str) -> None:
    """Write back to stderr the lines that were not ORT's own log lines."""
    kept = [
        line
        for line in logged.splitlines(keepends=True)
        if not _ORT_LINE.search(line) and _ANSI.sub("", line).strip()
    ]
    if kept:
        with contextlib.suppress(OSError):
            os.write(2, "".join(kept).encode("utf-8", "replace"))


def failure_reason(provider: str, text: str, preload_log: str = "", cuda_version: str = "") -> str:
    """One line from ORT's messages: ``CUDA provider failed to load: libcublasLt.so.13
    not found (...)``; a missing library comes with the way to install it. The probe's
    own messages come first; what ``preload_dlls`` printed only when they say nothing."""
    name = _PROVIDER_NAMES.get(provider, provider)
    for source in (text, preload_log):
        cause = _cause(provider, _ANSI.sub("", source), cuda_version)
        if cause:
            return f"{name} provider failed to load: {cause}"
    return f"{name} provider failed to load (ONNX Runtime fell back to the CPU without saying why)"


_KNOWN_CAUSES = (
    "no CUDA-capable device is detected",
    "CUDA driver version is insufficient for CUDA runtime version",
    "forward compatibility was attempted on non supported HW",
)


def _cause(provider: str, text: str, cuda_version: str) -> str | None:
    missing = _MISSING_LIBRARY.search(text)
    if missing:
        library = missing.group(1)
        return f"{library} not found ({_install_hint(provider, library, cuda_version)})"
    windows = _LOAD_FAILED.search(text)
    if windows:
        library = os.path.basename(windows.group(2))
        return f"{library} did not load (error {windows.group(1)}: a DLL it needs is missing)"
    known = next((cause for cause in _KNOWN_CAUSES if cause in text), None)
    return known or _first_error(text)


def _install_hint(provider: str, library: str, cuda_version: str) -> str:
    major = cuda_version.split(".")[0] if cuda_version else ""
    cuda = f"CUDA {major}" if major else "CUDA"
    if provider == TENSORRT and "nvinfer" in library:
        return "TensorRT is not installed: pip install tensorrt, or run without --tensorrt"
    if "cudnn" in library:
        return f"needs cuDNN 9 for {cuda}: pip install nvidia-cudnn-cu{major or 'XX'}"
    return (
        f"onnxruntime-gpu needs the {cuda} and cuDNN 9 libraries: pip install "
        f"'onnxruntime-gpu[cuda,cudnn]', a PyTorch built for {cuda}, or a system {cuda}"
    )


def _first_error(text: str) -> str | None:
    """The first error's own words, without ORT's time stamp and source location."""
    for line in text.splitlines():
        line = line.strip()
        if "EP Error" in line and ")" in line:
            return line.split(")", 1)[1].strip()[:200]
        if "[E:onnxruntime:" in line:
            tail = line.split("FAIL :", 1)[-1] if "FAIL :" in line else line.split("]", 1)[-1]
            return tail.strip()[:200]
    first = next((s.strip() for s in text.splitlines() if s.strip()), "")
    return first[:200] or None


def _ort_cuda_version() -> str:
    """The CUDA version this onnxruntime-gpu was built for ("13.0"); "" if unknown."""
    try:
        from onnxruntime.capi import build_and_package_info as info
    except ImportError:
        return ""
    return str(getattr(info, "cuda_version", "") or "")
