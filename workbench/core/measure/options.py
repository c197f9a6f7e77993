"""How a model is measured: one typed set of options for ``benchmark``, `workbench
bench`, `compare --measure`, `run`'s comparison and the app's Benchmark action."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class MeasureOptions:
    """Runtime, batch sizes, timing and device of a measurement (the `bench` defaults),
    and how the model is opened and evaluated where a caller does that too (`compare`).

    ``runtime`` is ONNX Runtime unless set, so the latencies of several models compare;
    "auto" takes each model's own (ONNX Runtime for ONNX, PyTorch eager otherwise).
    """

    runtime: str = "ort"  # ort | torch | auto
    batches: list[int] | None = None  # None: the input's own batch (usually 1)
    runs: int = 30  # at least this many timed runs...
    seconds: float = 1.0  # ...and at least this long
    warmup: int = 5
    threads: int | None = None
    profile: bool = False  # ONNX Runtime's per-node table (ort only)
    tensorrt: bool = False  # ONNX Runtime's TensorRT provider (GPU machines)
    data: str | None = None  # dataset for inputs, symbolic sizes and accuracy
    text: Any = None  # TextOptions: how a text model's tokenizer reads ``data`` (None: defaults)
    samples: int | None = None  # validation samples evaluated (None: all)
    device: str = "cpu"
    arch: str | None = None  # what a weights-only file is paired with
    trust: bool = False
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @classmethod
    def for_search(cls, threads: int | None = None, **settings: object) -> MeasureOptions:
        """Options for a measured search: ``threads`` as ``threads.search_threads``
        chooses (1 on machines with few cores) unless given; the caller prints
        ``search_threads(threads)[1]`` to say which."""
        from workbench.core.measure.threads import search_threads

        chosen, _why = search_threads(threads)
        return cls(threads=chosen, **settings)  # type: ignore[arg-type]
