"""Project and Variant: lineage, never mutating the parent, atomic save, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.core.io.loaded import InputSpec, LoadedModel, ModelFormat
from workbench.core.project import PROJECT_FILE, Project, ProjectError, atomic_write_text


def _loaded(path: Path | None = None) -> LoadedModel:
    return LoadedModel(
        format=ModelFormat.ONNX if path else ModelFormat.ZOO,
        path=path,
        inputs=[InputSpec("input", (1, 1, 8, 8))],
        arch=None if path else "digits_cnn",
        dataset="digits",
    )


def test_opened_model_becomes_root_and_children_keep_lineage(tmp_path: Path) -> None:
    project = Project(name="demo")
    root = project.add_root(_loaded(tmp_path / "m.onnx"))
    assert root.parent is None and root.framework == "onnx"
    assert root.artifacts == {"onnx": str(tmp_path / "m.onnx")}
    pruned = project.add_child(root, "pruned", {"pass": "prune", "config": {"amount": 0.5}})
    quant = project.add_child(pruned, "int8", {"pass": "quantize", "config": {}})
    assert [v.name for v in project.lineage(quant.id)] == ["m.onnx", "pruned", "int8"]
    assert project.children(root.id) == [pruned]
    assert project.roots() == [root]
    assert root.step == {} and root.metrics == {}  # the parent was not touched


def test_zoo_root_records_its_source() -> None:
    root = Project().add_root(_loaded())
    assert root.source == "zoo:digits_cnn" and root.framework == "pytorch"
    assert root.artifacts == {}


def test_save_and_open_round_trip(tmp_path: Path) -> None:
    project = Project(name="p")
    root = project.add_root(_loaded(tmp_path / "m.onnx"))
    child = project.add_child(root, "child", {"pass": "x"}, metrics={"top1": 0.9})
    path = project.save(tmp_path / "proj")
    assert path.name == PROJECT_FILE
    again = Project.open(tmp_path / "proj")
    assert again.name == "p"
    assert again.variants[child.id].metrics == {"top1": 0.9}
    assert again.variants[child.id].parent == root.id
    assert again.variants[root.id].loaded is None  # the live model is never serialised
    assert not list((tmp_path / "proj").glob("*.tmp"))


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not a readable project file"),
        (json.dumps({"schema": 99}), "unknown project schema 99"),
        (json.dumps({"schema": 1, "variants": [{"name": "no id"}]}), "lacks the field 'id'"),
        (
            json.dumps(
                {"schema": 1, "variants": [{"id": "0000000a", "name": "a", "parent": "000000ff"}]}
            ),
            "names a parent 000000ff that is missing",
        ),
        (
            json.dumps(
                {
                    "schema": 1,
                    "variants": [
                        {"id": "0000000a", "name": "a", "parent": "0000000b"},
                        {"id": "0000000b", "name": "b", "parent": "0000000a"},
                    ],
                }
            ),
            "is its own ancestor",
        ),
    ],
)
def test_invalid_project_names_the_file_and_changes_nothing(
    tmp_path: Path, content: str, expected: str
) -> None:
    (tmp_path / PROJECT_FILE).write_text(content)
    with pytest.raises(ProjectError) as info:
        Project.open(tmp_path)
    assert str(tmp_path / PROJECT_FILE) in info.value.message
    assert expected in info.value.message
    assert (tmp_path / PROJECT_FILE).read_text() == content


def test_failed_atomic_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    atomic_write_text(target, "old")

    class Boom(Exception):
        pass

    class Exploding(str):
        def encode(self, *args, **kwargs):  # fails after the temp file would be made
            raise Boom

    with pytest.raises(Boom):
        atomic_write_text(target, Exploding("new"))
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]
