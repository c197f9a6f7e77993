"""The fix loop's changes: one node's setting changed, the pass run again from the parent."""

from __future__ import annotations

import dataclasses

import onnx
import pytest

from workbench.core.catalogue import get_registry
from workbench.core.compress import run_pass
from workbench.core.compress.refine import Refinement, node_changes, refined_step, refinements
from workbench.core.compress.rerun import run_again
from workbench.core.config_schema import config_from_dict
from workbench.core.context import Cancelled, RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io import load


def _labels(step, node) -> list[str]:
    return [change.label for change in refinements(step, node)]


def test_a_static_int8_node_can_stay_float_go_per_channel_or_calibrate_otherwise() -> None:
    step = {
        "pass": "quantize-static",
        "config": {"calibration": "percentile", "per_channel": False},
    }
    assert _labels(step, "Conv_3") == [
        "Keep Conv_3 in float",
        "Quantize weights per channel (every layer)",
        "Calibrate with minmax",
        "Calibrate with entropy",
    ]
    kept = refined_step(step, refinements(step, "Conv_3")[0])
    assert kept["config"]["exclude"] == ["Conv_3"] and kept["config"]["calibration"] == "percentile"
    assert _labels(kept, "Conv_3")[0] == "Quantize Conv_3 again"  # the way back


def test_a_channel_pruned_layer_can_be_left_alone_or_get_its_own_amount() -> None:
    step = {"pass": "channel-prune", "config": {"amount": 0.5, "layer_amounts": ["conv1=0.25"]}}
    labels = _labels(step, "conv2")
    assert labels == ["Leave conv2 unpruned", "Prune conv2 by 25%", "Prune conv2 by 75%"]
    deeper = refined_step(step, refinements(step, "conv2")[2])
    assert deeper["config"]["layer_amounts"] == ["conv1=0.25", "conv2=0.75"]


def test_a_change_the_schema_refuses_says_so_and_other_steps_offer_none() -> None:
    step = {"pass": "quantize-static", "config": {}}
    with pytest.raises(WorkbenchError, match="Bad change: calibration must be one of"):
        refined_step(step, Refinement("Bad change", "calibration", "median"))
    assert refinements({"pass": "train", "config": {}}, "x") == []
    assert refinements({}, "x") == []


def test_keep_in_float_runs_again_from_the_parent_and_keeps_that_node_float() -> None:
    parent = load("zoo:digits_cnn")
    step = {"pass": "quantize-static", "config": {"samples": 32, "error_samples": 0}}
    pass_class = get_registry().pass_("quantize-static").load()
    first = run_pass(pass_class, parent, config_from_dict(pass_class.config_class, step["config"]),
                     RunContext(data="digits"))  # fmt: skip
    conv = next(n.name for n in first.model.onnx_model.graph.node if n.op_type == "Conv")
    again = refined_step(step, refinements(step, conv)[0])
    second = run_pass(pass_class, parent,
                      config_from_dict(pass_class.config_class, again["config"]),
                      RunContext(data="digits"))  # fmt: skip
    floats = {t.name for t in second.model.onnx_model.graph.initializer
              if t.data_type == onnx.TensorProto.FLOAT}  # fmt: skip
    node = next(n for n in second.model.onnx_model.graph.node if n.name == conv)
    assert node.input[1] in floats  # its weight stays float32, not dequantized INT8


@pytest.fixture(scope="module")
def digits_graph():
    """zoo:digits_cnn and its torch.export graph, as the Graph tab shows it."""
    from workbench.core.graph import from_model

    model = load("zoo:digits_cnn")
    return model, from_model(model)


def _node(graph, name: str):
    return next(n for n in graph.nodes if n.name == name)


def test_a_pruning_step_names_the_conv_layer_behind_a_graph_node(digits_graph) -> None:
    model, graph = digits_graph
    step = {"pass": "channel-prune", "config": {"amount": 0.5}}
    conv = node_changes(step, _node(graph, "features.1.0"), model.module)
    assert conv.target == "features.1.0" and conv.why_none == ""
    assert [c.label for c in conv.changes] == ["Leave features.1.0 unpruned",
        "Prune features.1.0 by 25%", "Prune features.1.0 by 75%"]  # fmt: skip
    # An ONNX export keeps the module path only in its weights' names: the same layer.
    renamed = dataclasses.replace(_node(graph, "features.1.0"), name="/features/1/0/Conv")
    assert node_changes(step, renamed, model.module).target == "features.1.0"


def test_nodes_pruning_does_not_touch_offer_no_pruning_change(digits_graph) -> None:
    model, graph = digits_graph
    step = {"pass": "channel-prune", "config": {"amount": 0.5, "ignore": ["features.1"]}}
    for name in ("features.0.1", "features.0.2", "features.2", "head.0"):  # BN, ReLU, pool
        found = node_changes(step, _node(graph, name), model.module)
        assert found.changes == [] and found.why_none == "", name
    classifier = node_changes(step, _node(graph, "fc"), model.module)
    assert classifier.changes == [] and "classifier" in classifier.why_none
    inside = node_changes(step, _node(graph, "features.1.0"), model.module)
    assert inside.changes == [] and inside.why_none == "left unpruned with features.1"
    assert node_changes(step, _node(graph, "head.1"), None).why_none == "its model is not loaded"


def test_a_layer_left_unpruned_can_be_pruned_again() -> None:
    step = {"pass": "magnitude-prune", "config": {"ignore": ["conv1", "conv2"]}}
    assert _labels(step, "conv2") == ["Prune conv2 again"]
    back = refined_step(step, refinements(step, "conv2")[0])
    assert back["config"]["ignore"] == ["conv1"]


def test_a_cancelled_re_run_stops_and_makes_nothing() -> None:
    ctx = RunContext()
    ctx.cancel.cancel()
    step = {"pass": "channel-prune", "config": {"amount": 0.5}}
    with pytest.raises(Cancelled):
        run_again(load("zoo:digits_cnn"), step, ctx)
