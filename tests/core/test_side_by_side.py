"""Variants timed side by side in a child process, on one runtime, interleaved."""

from __future__ import annotations

import pytest

from workbench.core.context import Cancelled, CancelToken, RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io import load
from workbench.core.measure.conditions import Conditions
from workbench.core.measure.side_by_side import SideBySideOptions, measure_side_by_side

QUICK = SideBySideOptions(warmup_s=0.02, rounds=3, runs_per_round=4, round_s=0.01)


def test_a_pytorch_and_an_onnx_variant_share_one_runtime_and_its_conditions(tmp_path) -> None:
    from workbench.core.export.onnx_export import torch_to_onnx

    cnn = load("zoo:digits_cnn")
    onnx_file = tmp_path / "mlp.onnx"
    import onnx

    onnx.save(torch_to_onnx(load("zoo:digits_mlp"), label="mlp").model, onnx_file)
    seen: list[str] = []
    reports = measure_side_by_side(
        [("cnn", cnn), ("mlp", onnx_file)],
        QUICK,
        RunContext(progress=lambda fraction, message: seen.append(message)),
    )
    assert list(reports) == ["cnn", "mlp"]
    for report in reports.values():
        assert (report.runtime, report.provider, report.device) == (
            "ort",
            "CPUExecutionProvider",
            "cpu",
        )
        assert report.batches[0].batch == 1 and report.batches[0].latency.runs >= 12
        assert "separate process" in report.notes[0] and "1 other model" in report.notes[0]
    assert Conditions.of(reports["cnn"]) == Conditions.of(reports["mlp"])
    # the CNN does far more work per sample than the MLP, and the timing shows it
    assert reports["cnn"].latency.p50_ms > reports["mlp"].latency.p50_ms
    assert any("Warming up cnn" in m for m in seen) and any("Round 3" in m for m in seen)


def test_cancelling_stops_the_child_and_raises_cancelled() -> None:
    token = CancelToken()

    def progress(fraction: float | None, message: str) -> None:
        if message.startswith("Warming up"):
            token.cancel()

    slow = SideBySideOptions(warmup_s=0.05, rounds=1000, runs_per_round=10, round_s=0.5)
    with pytest.raises(Cancelled):
        measure_side_by_side(
            [("a", load("zoo:digits_mlp"))], slow, RunContext(progress=progress, cancel=token)
        )


def test_bad_requests_are_one_line_errors() -> None:
    mlp = load("zoo:digits_mlp")
    with pytest.raises(WorkbenchError, match="its own name"):
        measure_side_by_side([("a", mlp), ("a", mlp)], QUICK)
    with pytest.raises(WorkbenchError, match="at least 1"):
        SideBySideOptions(rounds=0)
