"""`workbench quantize --method int4` on a language model, and its one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import onnx

from workbench.cli import main

LM = "zoo:tiny_lm:width=64,layers=2"


def test_int4_prints_weight_bytes_perplexity_and_blocks(tmp_path: Path, capsys) -> None:
    out = tmp_path / "int4"
    code = main(["quantize", LM, "--method", "int4", "--block-size", "32", "--algorithm",
                 "rtn", "--keep-float", "/lm_head/MatMul", "--error-samples", "4",
                 "--seconds", "0", "--out", str(out)])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "(INT4 weight-only): quantize-int4" in printed
    assert "MatMul weights: " in printed and "perplexity: " in printed
    assert "per-block error" in printed and "blocks.1" in printed
    record = json.loads((out / "variant.json").read_text())
    assert record["step"]["config"]["exclude"] == ["/lm_head/MatMul"]
    metrics = record["metrics"]
    assert metrics["ratios"]["matmul_weight_ratio"] > 1.5
    assert metrics["before"]["perplexity"] > 1 and metrics["after"]["perplexity"] > 1
    assert [b["block"] for b in record["node_error"]["blocks"]] == ["blocks.0", "blocks.1"]
    ops = {n.name: n.op_type for n in onnx.load(out / "model.onnx").graph.node}
    assert ops["/lm_head/MatMul"] == "MatMul" and "MatMulNBits" in ops.values()


def test_int4_bad_input_is_one_line(tmp_path: Path, capsys) -> None:
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "g", [x], [y])
    path = tmp_path / "relu.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    out = str(tmp_path / "q")
    for args, said in [
        ([str(path)], "relu.onnx: nothing for quantize-int4 to quantize"),
        ([LM, "--block-size", "48"], "block size 48: MatMulNBits takes a power of two"),
        ([LM, "--keep-float", "/lm_head/Matmul"], "no node named '/lm_head/Matmul'"),
    ]:
        code = main(["quantize", *args, "--method", "int4", "--error-samples", "0", "--out", out])
        err = capsys.readouterr().err
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
        assert said in err, err
    assert not Path(out).exists()
