"""Two threads tracing one model at once take turns (core.torch_tracing)."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from workbench.core.graph.from_torch import from_torch
from workbench.core.io import load
from workbench.core.measure.torch_to_onnx import torch_to_onnx


def test_exporting_and_graphing_one_model_from_two_threads_at_once(monkeypatch) -> None:
    """Compare measuring a model while the graph diff builds its graph failed with
    "Unexpected key _export_root.features.0.1" when the two tracers overlapped. Each
    tracer is wrapped to count how many run at once (and to linger, so that two
    unguarded ones would overlap); the real exports still run and must succeed."""
    model = load("zoo:digits_cnn")
    running, most = [0], [0]
    lock = threading.Lock()

    def counted(real):
        def tracer(*args, **kwargs):
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            try:
                time.sleep(0.05)
                return real(*args, **kwargs)
            finally:
                with lock:
                    running[0] -= 1

        return tracer

    monkeypatch.setattr(torch.export, "export", counted(torch.export.export))
    monkeypatch.setattr(torch.onnx, "export", counted(torch.onnx.export))
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run(work) -> None:
        start.wait()
        try:
            for _ in range(3):
                work()
        except BaseException as exc:  # collected for the assert below
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(lambda: from_torch(model.module, model.inputs),)),
        threading.Thread(target=run, args=(lambda: torch_to_onnx(model, label="m"),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    assert most[0] == 1, "two tracers ran at once"


@pytest.mark.parametrize("exporter", ["torchscript", "dynamo"])
def test_an_export_leaves_the_module_as_it_found_it(exporter: str) -> None:
    model = load("zoo:digits_cnn")
    model.module.train()
    torch_to_onnx(model, label="m", exporter=exporter)
    assert model.module.training
