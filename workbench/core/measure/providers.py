"""ONNX Runtime execution providers that really work here, and quiet sessions.

``onnxruntime-gpu`` lists CUDA and TensorRT as *available* even on a machine without the
libraries or a GPU; only creating a session tells whether they load. The probe
(``probe_providers``) keeps ORT's messages out of the console, remembers the answer for
the process and says why a provider failed when the user asks for it.
"""

from __future__ import annotations

import contextlib
import functools
import io
from typing import Any

from workbench.core.errors import WorkbenchError
from workbench.core.measure.provider_probe import CPU, CUDA, TENSORRT, ProviderProbe, probe

__all__ = ["CPU", "CUDA", "TENSORRT", "create_session", "providers_for", "working_providers"]
_QUIET = 3  # ORT severities: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal


def quiet_session_options(threads: int | None = None, *, spin: bool = True) -> Any:
    """SessionOptions that log only errors; ``threads`` sets the intra-op thread count.

    ``spin=False`` stops idle ORT threads from busy-waiting after each run: right when
    PyTorch runs in between (parity, agreement), where spinning threads starve it
    (a batch-1 parity check ran ~20x slower); the benchmark keeps ORT's default.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = _QUIET
    if threads:
        options.intra_op_num_threads = int(threads)
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def _probe_model() -> bytes:
    """A one-node model (Identity on float[1]), enough to make a provider load."""
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "probe",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=7)
    return model.SerializeToString()


@functools.lru_cache(maxsize=1)
def probe_providers() -> ProviderProbe:
    """The providers that load here and why the others do not (probed once per process)."""

    return probe(_probe_model(), quiet_session_options)


def working_providers() -> tuple[str, ...]:
    """Providers a session can really be created with, best first; CPU always last."""
    return probe_providers().working


def why_not(provider: str) -> str | None:
    """Why ``provider`` is not usable here, in one line for the user; None if it is."""
    import onnxruntime as ort

    probed = probe_providers()
    if provider in probed.working:
        return None
    if provider in probed.failures:
        return probed.failures[provider]
    name = "CUDA" if provider == CUDA else "TensorRT" if provider == TENSORRT else provider
    return (
        f"this onnxruntime ({ort.__version__}) has no {name} provider: install "
        "onnxruntime-gpu in its place"
    )


def providers_for(device: str = "auto", *, tensorrt: bool = False) -> list[Any]:
    """The provider list for ``device`` (auto, cpu, cuda, cuda:N); refuses a missing GPU.

    ``auto`` takes CUDA when it works, else the CPU. TensorRT builds engines on first
    use (slow), so it is used only when asked for with ``tensorrt=True``.
    """
    name = (device or "auto").strip().lower()
    working = working_providers()
    if name == "cpu":
        return [CPU]
    index = 0
    if name.startswith("cuda"):
        _, _, number = name.partition(":")
        if number:
            try:
                index = int(number)
            except ValueError:
                raise WorkbenchError(
                    f"{device!r} is not a device (use auto, cpu or cuda:N)"
                ) from None
    elif name != "auto":
        raise WorkbenchError(f"ONNX Runtime cannot run on {device!r} (use auto, cpu or cuda:N)")
    chosen: list[Any] = []
    if tensorrt:
        if TENSORRT not in working:
            raise WorkbenchError(why_not(TENSORRT) or "TensorRT does not work here")
        chosen.append((TENSORRT, {"device_id": index}))
    if CUDA in working:
        chosen.append((CUDA, {"device_id": index}))
    elif name.startswith("cuda"):
        raise WorkbenchError(why_not(CUDA) or "CUDA does not work here")
    return [*chosen, CPU]


def create_session(
    model: Any,
    *,
    device: str = "auto",
    threads: int | None = None,
    tensorrt: bool = False,
    spin: bool = True,
    options: Any = None,
) -> Any:
    """An InferenceSession for a path, bytes or ModelProto, without console noise."""
    import onnxruntime as ort

    options = options or quiet_session_options(threads, spin=spin)
    if hasattr(model, "SerializeToString"):
        model = model.SerializeToString()
    elif not isinstance(model, bytes):
        model = str(model)
    providers = providers_for(device, tensorrt=tensorrt)
    with contextlib.redirect_stdout(io.StringIO()):
        return ort.InferenceSession(model, options, providers=providers)


@functools.lru_cache(maxsize=1)
def max_ir_version() -> int:
    """The newest ONNX IR version this onnxruntime reads, found by trying.

    onnx's helpers stamp their own newest IR (14 with onnx 1.23) on models they build,
    which onnxruntime 1.31 refuses; exported files are lowered to this when needed.
    """
    import onnx
    import onnxruntime as ort

    model = onnx.load_from_string(_probe_model())
    for version in range(onnx.IR_VERSION, 6, -1):
        model.ir_version = version
        try:
            ort.InferenceSession(
                model.SerializeToString(), quiet_session_options(), providers=[CPU]
            )
            return version
        except Exception:  # this version is too new for the runtime; try the next older
            continue
    return 7
