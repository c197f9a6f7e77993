"""Where a measurement was taken: CPU, its vector flags, threads, providers, versions.

Latency numbers mean little without the machine they came from: VNNI or AMX change
int8 speed several-fold, and thread counts change everything. Read from /proc/cpuinfo
on Linux (stdlib only; py-cpuinfo would add a dependency for the same two fields),
``sysctl`` on macOS, ``platform`` elsewhere. Library versions come from package
metadata, so describing the environment imports neither torch nor onnxruntime.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from workbench.core.measure.providers import working_providers

# CPU features that change inference speed, as Linux names them in /proc/cpuinfo.
INTERESTING_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "avx_vnni",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
    "asimd",  # ARM NEON
    "asimddp",  # ARM dot product (int8)
    "sve",
    "i8mm",
    "bf16",
)
LIBRARIES = ("numpy", "torch", "onnx", "onnxruntime-gpu", "onnxruntime", "onnxslim")


def _cpuinfo(text: str) -> tuple[str, list[str]]:
    """(model name, interesting flags) from /proc/cpuinfo text (x86 or ARM)."""
    model, flags = "", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "hardware", "cpu model") and not model:
            model = value.strip()
        elif key in ("flags", "features"):
            flags.update(value.split())
    return model, [flag for flag in INTERESTING_FLAGS if flag in flags]


def _macos_cpu() -> tuple[str, list[str]]:
    def sysctl(name: str) -> str:
        try:
            return subprocess.run(
                ["sysctl", "-n", name], capture_output=True, text=True, timeout=5, check=False
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    model = sysctl("machdep.cpu.brand_string")
    features = (sysctl("machdep.cpu.features") + " " + sysctl("machdep.cpu.leaf7_features")).lower()
    names = {"avx1.0": "avx", "avx2": "avx2", "fma": "fma", "avx512f": "avx512f"}
    return model, [flag for key, flag in names.items() if key in features.split()]


@functools.lru_cache(maxsize=1)
def cpu_description() -> tuple[str, tuple[str, ...]]:
    """(CPU model, speed-relevant flags), read once per process."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        try:
            model, flags = _cpuinfo(cpuinfo.read_text(errors="replace"))
            return model or platform.processor() or platform.machine(), tuple(flags)
        except OSError:
            pass
    if platform.system() == "Darwin":
        model, flags = _macos_cpu()
        return model or platform.machine(), tuple(flags)
    return platform.processor() or platform.machine(), ()


def usable_cpus() -> int:
    """CPUs this process may run on (affinity or cgroup-pinned), not the host's total."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def describe_environment(
    *, runtime: str | None = None, threads: int | None = None, provider: str | None = None
) -> dict[str, Any]:
    """A JSON-ready description of the machine and software a measurement ran on."""
    model, flags = cpu_description()
    env: dict[str, Any] = {
        "cpu": model,
        "cpu_flags": list(flags),
        "vnni": any("vnni" in f for f in flags),
        "amx": any(f.startswith("amx") for f in flags),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable_cpus(),
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "libraries": library_versions(),
    }
    if runtime is not None:
        env["runtime"] = runtime
    if provider is not None:
        env["provider"] = provider
    env["threads"] = threads
    if runtime == "torch":
        import torch

        env["torch_threads"] = torch.get_num_threads()
        env["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        if torch.cuda.is_available():
            env["gpu"] = torch.cuda.get_device_name(0)
    if runtime == "ort":
        env["ort_providers"] = list(working_providers())
    return env
