"""`workbench quantize` as a user runs it: a variant folder, measured; bad input in one line."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import onnx
import pytest
from fixtures.cli import run_workbench

from workbench.cli import main
from workbench.core.measure.providers import create_session


def quantize(*args: str) -> subprocess.CompletedProcess[str]:
    return run_workbench("quantize", *args)


def test_static_writes_a_measured_variant_folder(tmp_path: Path) -> None:
    out = tmp_path / "int8"
    done = quantize(
        "zoo:digits_cnn", "--method", "static", "--samples", "16", "--error-samples", "8",
        "--data", "digits", "--batch", "1,4", "--seconds", "0.05", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no ORT or torch console noise
    assert "x smaller" in done.stdout and "per-node error" in done.stdout
    # each latency names its runtime and threads; the change is the rounds' median
    assert "latency batch 4: p50 " in done.stdout and "(ORT CPU, default threads): " in done.stdout
    assert "(median of 5 rounds, " in done.stdout
    model = onnx.load(out / "model.onnx")
    assert any(n.op_type == "QuantizeLinear" for n in model.graph.node)
    session = create_session(model, device="cpu")
    assert session.get_inputs()[0].name == "input"
    record = json.loads((out / "variant.json").read_text())
    assert record["kind"] == "quantized" and record["artifacts"] == {"onnx": "model.onnx"}
    assert record["step"]["pass"] == "quantize-static"
    assert record["step"]["config"]["samples"] == 16
    assert record["step"]["config"]["calibration"] == "percentile"
    metrics = record["metrics"]
    for side in ("before", "after"):
        assert 0 <= metrics[side]["top1"] <= 1
        assert set(metrics[side]["latency_ms"]) == {"1", "4"}
        assert metrics[side]["size_bytes"] > 0
    assert metrics["ratios"]["size_ratio"] > 3
    paired = metrics["ratios"]["speedup_rounds"]["4"]
    assert len(paired["rounds"]) == 5 and metrics["ratios"]["speedup"]["4"] == paired["median"]
    assert record["node_error"]["rows"]


def test_exclude_takes_several_nodes_and_keeps_them_float(tmp_path: Path, capsys) -> None:
    first = tmp_path / "a"
    assert main(["quantize", "zoo:digits_cnn", "--method", "static", "--samples", "8",
                 "--error-samples", "8", "--batch", "1", "--seconds", "0", "--out",
                 str(first)]) == 0  # fmt: skip
    rows = json.loads((first / "variant.json").read_text())["node_error"]["rows"]
    convs = [r["node"] for r in rows if r["op_type"] == "Conv"][:2]
    second = tmp_path / "b"
    code = main(["quantize", "zoo:digits_cnn", "--method", "static", "--samples", "8",
                 "--error-samples", "0", "--seconds", "0", "--out", str(second),
                 "--exclude", *convs])  # fmt: skip
    assert code == 0
    record = json.loads((second / "variant.json").read_text())
    assert record["step"]["config"]["exclude"] == convs
    model = onnx.load(second / "model.onnx")
    floats = {t.name for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT}
    nodes = {n.name: n for n in model.graph.node}
    assert all(nodes[name].input[1] in floats for name in convs)
    capsys.readouterr()


def _bad(capsys, *args: str) -> str:
    code = main(["quantize", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys) -> None:
    out = str(tmp_path / "x")
    err = _bad(capsys, "zoo:digits_cnn", "--method", "static", "--exclude", "nope", "--out", out)
    assert "no node named 'nope'" in err
    err = _bad(capsys, "zoo:digits_cnn", "--method", "dynamic", "--samples", "9", "--out", out)
    assert "--samples does not apply to --method dynamic" in err
    onnx_file = tmp_path / "plain.onnx"
    assert main(["export", "zoo:digits_cnn", "--out", str(onnx_file)]) == 0
    capsys.readouterr()
    err = _bad(capsys, str(onnx_file), "--method", "static", "--out", out)
    assert "needs calibration data" in err and "--data" in err
    err = _bad(capsys, str(onnx_file), "--method", "torch-dynamic", "--out", out)
    assert "works on pytorch" in err
    err = _bad(capsys, "zoo:digits_mlp", "--method", "torch-dynamic", "--auto-exclude", "2",
               "--out", out)  # fmt: skip
    # auto_exclude is a setting of the methods that make a per-node error table
    assert "--auto-exclude does not apply to --method torch-dynamic" in err
    err = _bad(capsys, "zoo:digits_cnn", "--method", "static", "--error-samples", "0",
               "--auto-exclude", "1", "--out", out)  # fmt: skip
    assert "auto-exclude ranks nodes by the per-node error table" in err
    with pytest.raises(SystemExit) as info:  # out of the field's range: argparse's usage error
        main(["quantize", "zoo:digits_cnn", "--method", "static", "--auto-exclude", "-1",
              "--out", out])  # fmt: skip
    assert info.value.code == 2
    assert "auto_exclude must be between 0 and 100, got '-1'" in capsys.readouterr().err
    assert not Path(out).exists()


def test_auto_exclude_reports_what_keeping_the_worst_nodes_float_gained(tmp_path: Path) -> None:
    out = tmp_path / "auto"
    done = quantize(
        "zoo:digits_cnn", "--method", "static-int8", "--calib-samples", "16",
        "--error-samples", "8", "--auto-exclude", "2", "--batch", "1,4", "--seconds", "0.05",
        "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    record = json.loads((out / "variant.json").read_text())
    auto = record["metrics"]["auto_exclude"]
    names = [row["node"] for row in auto["nodes"]]
    assert len(names) == 2 and record["step"]["config"]["exclude"] == names
    assert record["step"]["config"]["samples"] == 16  # --calib-samples is --samples
    assert set(auto["slowdown"]) == {"1", "4"} and auto["without"]["top1"] is not None
    assert "top1_gained_points" in auto and "agreement_gained_points" in auto
    assert f"auto-exclude kept 2 nodes in float: {names[0]}, {names[1]}" in done.stdout
    assert "top-1:" in done.stdout and "latency, batch 4:" in done.stdout
    model = onnx.load(out / "model.onnx")
    floats = {t.name for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT}
    for node in model.graph.node:
        if node.name in names:
            assert node.input[1] in floats  # a float weight, not dequantized int8


def test_a_model_with_nothing_to_quantize_is_one_line(tmp_path: Path) -> None:
    import numpy as np
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "g", [x], [y])
    path = tmp_path / "relu.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    before = path.read_bytes()
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.random((16, 4), dtype=np.float32), y=np.arange(16) % 4)
    done = quantize(str(path), "--method", "static", "--data", str(tmp_path / "d.npz"),
                    "--out", str(tmp_path / "q"))  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "relu.onnx: nothing for quantize-static to quantize" in done.stderr
    assert path.read_bytes() == before and not (tmp_path / "q").exists()


def test_a_model_onnx_cannot_express_is_refused(tmp_path: Path, monkeypatch, capsys) -> None:
    (tmp_path / "wb_svd_net.py").write_text(
        textwrap.dedent(
            """
            import torch

            class Net(torch.nn.Module):
                def __init__(self):
                    super().__init__()
                    self.fc = torch.nn.Linear(64, 10)

                def forward(self, x):
                    return self.fc(x.flatten(1)) + torch.linalg.svdvals(x.flatten(2)).sum()

            def net():
                return Net()
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import torch
    from wb_svd_net import net

    torch.save(net().state_dict(), tmp_path / "w.pt")
    err = _bad(
        capsys, str(tmp_path / "w.pt"), "--arch", "wb_svd_net:net", "--shape",
        "input=1x1x8x8", "--method", "dynamic", "--data", "digits", "--out",
        str(tmp_path / "o"),
    )  # fmt: skip
    assert "cannot be exported to ONNX" in err and "svdvals" in err
    sys.modules.pop("wb_svd_net", None)


@pytest.mark.parametrize(
    ("method", "model"), [("dynamic", "zoo:transformer_seq"), ("fp16", "zoo:digits_cnn")]
)
def test_other_methods_write_runnable_onnx(tmp_path: Path, method: str, model: str, capsys) -> None:
    out = tmp_path / method
    assert main(["quantize", model, "--method", method, "--error-samples", "4",
                 "--seconds", "0", "--out", str(out)]) == 0  # fmt: skip
    record = json.loads((out / "variant.json").read_text())
    assert record["metrics"]["after"]["top1"] is not None
    create_session(onnx.load(out / "model.onnx"), device="cpu")
    assert "wrote" in capsys.readouterr().out


def test_torch_dynamic_writes_torchscript_that_reopens(tmp_path: Path, capsys) -> None:
    from workbench.core.io import load
    from workbench.core.measure import evaluate

    out = tmp_path / "tq"
    assert main(["quantize", "zoo:digits_mlp", "--method", "torch-dynamic", "--seconds", "0",
                 "--out", str(out)]) == 0  # fmt: skip
    record = json.loads((out / "variant.json").read_text())
    assert record["artifacts"] == {"torch": "model.pt"}
    reopened = load(out / "model.pt", trust=True, shapes={"input": (1, 1, 8, 8)})
    report = evaluate(reopened, data="digits", runtime="torch")
    assert abs(report.top1 - record["metrics"]["after"]["top1"]) < 1e-9
    capsys.readouterr()


def test_the_results_advise_per_device_from_the_recorded_provider(tmp_path: Path) -> None:
    from fixtures.cuda_records import cuda_outcome, quantized_digits

    from workbench.cli.quantize import format_outcome

    # A real run here, as the H200's CUDA provider recorded the same run
    gpu = cuda_outcome(quantized_digits("static"), "static")
    text = format_outcome(gpu, {})
    assert (
        "latency batch 1: p50 0.530 ms -> 0.930 ms (ORT CUDA cuda:0, default threads): "
        "1.75x slower" in text
    )
    (dequantized, choose) = [line for line in text.splitlines() if "advice:" in line]
    assert (
        "INT8 in QDQ form runs dequantized on ONNX Runtime's CUDA execution provider" in dequantized
    )
    assert "[0.57x at b1, 0.77x at b256 vs float32 on ort/CUDA cuda:0]" in dequantized
    assert "on cuda:0: choose FP16 (tensor cores)" in choose
