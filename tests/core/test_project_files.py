"""A saved project holds its models; opened again, every variant is there as it was."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from workbench.core.catalogue import get_registry
from workbench.core.compress import run_pass
from workbench.core.io import load
from workbench.core.project import PROJECT_FILE, Project, ProjectError
from workbench.core.project_files import open_project, save_project


def _project_with_a_pruned_child() -> tuple[Project, str]:
    project = Project(name="p")
    root = project.add_root(load("zoo:digits_cnn"))
    result = run_pass(get_registry().pass_("random-prune").load(), root.loaded, {"amount": 0.4})
    child = project.add_child(
        root,
        "pruned",
        {"pass": "random-prune", "config": {"amount": 0.4}},
        metrics=dict(result.metrics),
    )
    child.loaded = result.model
    return project, child.id


def test_save_then_open_gives_the_same_variants_and_weights(tmp_path: Path) -> None:
    project, child_id = _project_with_a_pruned_child()
    save_project(project, tmp_path / "proj")
    saved = json.loads((tmp_path / "proj" / PROJECT_FILE).read_text())
    child_entry = next(v for v in saved["variants"] if v["id"] == child_id)
    assert child_entry["artifacts"]["torch"] == f"variants/{child_id}/model.pt"
    assert not (tmp_path / "proj" / "variants" / project.roots()[0].id).exists()  # zoo: rebuilt

    again, inspections = open_project(tmp_path / "proj")
    assert set(again.variants) == set(project.variants) == set(inspections)
    assert again.variants[child_id].metrics["sparsity"] == pytest.approx(0.4, abs=0.01)
    assert again.lineage(child_id)[0].source == "zoo:digits_cnn"
    for name, value in project.variants[child_id].loaded.module.state_dict().items():
        assert torch.equal(value, again.variants[child_id].loaded.module.state_dict()[name])
    # Saved a second time into the same folder: the files already there are kept as they are.
    before = (tmp_path / "proj" / "variants" / child_id / "model.pt").stat().st_mtime_ns
    save_project(again, tmp_path / "proj")
    assert (tmp_path / "proj" / "variants" / child_id / "model.pt").stat().st_mtime_ns == before


def test_an_onnx_variant_is_saved_as_onnx(tmp_path: Path) -> None:
    import onnx

    from workbench.core.export import export_onnx

    project = Project()
    root = project.add_root(load("zoo:digits_mlp"))
    exported = tmp_path / "m.onnx"
    export_onnx(root.loaded, exported)
    onnx_model = load(str(exported))
    child = project.add_child(root, "onnx", {"pass": "export"}, framework="onnx")
    child.loaded = dataclasses.replace(onnx_model, path=None)
    save_project(project, tmp_path / "proj")
    again, _ = open_project(tmp_path / "proj")
    assert again.variants[child.id].loaded.framework == "onnx"
    reread = onnx.load(str(tmp_path / "proj" / again.variants[child.id].artifacts["onnx"]))
    assert len(reread.graph.node) == len(onnx_model.onnx_model.graph.node)


def test_a_damaged_model_file_is_named_and_nothing_is_overwritten(tmp_path: Path) -> None:
    project, child_id = _project_with_a_pruned_child()
    save_project(project, tmp_path / "proj")
    model = tmp_path / "proj" / "variants" / child_id / "model.pt"
    model.write_bytes(b"not a checkpoint")
    listing = json.loads((tmp_path / "proj" / PROJECT_FILE).read_text())
    with pytest.raises(ProjectError, match=r"project\.json: variant 'pruned' cannot be opened"):
        open_project(tmp_path / "proj")
    assert json.loads((tmp_path / "proj" / PROJECT_FILE).read_text()) == listing
    assert model.read_bytes() == b"not a checkpoint"


def test_a_channel_pruned_variant_reopens_with_its_narrower_layers(tmp_path: Path) -> None:
    project = Project()
    root = project.add_root(load("zoo:resnet_shapes"))
    result = run_pass(get_registry().pass_("channel-prune").load(), root.loaded, {"amount": 0.5})
    child = project.add_child(root, "pruned", {"pass": "channel-prune", "config": {}})
    child.loaded = result.model
    save_project(project, tmp_path / "proj")
    again, _ = open_project(tmp_path / "proj")
    reopened = again.variants[child.id].loaded.module
    assert (
        sum(p.numel() for p in reopened.parameters())
        == sum(p.numel() for p in result.model.module.parameters())
        < sum(p.numel() for p in root.loaded.module.parameters())
    )
    x = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(reopened.eval()(x), result.model.module.eval()(x))
