"""project.json read as untrusted input: schema checked, paths confined, code gated.

A project folder may come from anyone. Its ids name folders saving writes into, its
artifacts name files opening reads, its ``arch`` may name code; every hostile case is
one ``ProjectError`` (or the trust refusal) naming the file and field, with nothing
read outside the folder and nothing written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures.planted import Planted, digits_mlp_weights, plant_module

from workbench.core.context import RunContext
from workbench.core.errors import UnsafeModelError
from workbench.core.io import load
from workbench.core.project import PROJECT_FILE, Project, ProjectError
from workbench.core.project_files import open_project, save_project


@pytest.fixture
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Planted:
    found = plant_module(tmp_path / "code")
    monkeypatch.syspath_prepend(str(found.folder))
    return found


def _project(folder: Path, **variant: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    entry = {"id": "0123abcd", "name": "m", "framework": "pytorch", **variant}
    (folder / PROJECT_FILE).write_text(json.dumps({"schema": 1, "name": "p", "variants": [entry]}))
    return folder


def test_a_project_naming_code_is_refused_without_trust(tmp_path: Path, planted: Planted) -> None:
    digits_mlp_weights(tmp_path / "p" / "variants" / "0123abcd" / "model.pt")
    folder = _project(
        tmp_path / "p", arch=planted.reference, artifacts={"torch": "variants/0123abcd/model.pt"}
    )
    with pytest.raises(UnsafeModelError, match=r"project\.json: variant 'm' field 'arch'"):
        open_project(folder)
    assert not planted.ran


def test_a_trusted_project_builds_its_architecture_in_the_isolated_child_first(
    tmp_path: Path, planted: Planted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(planted.folder))  # for the parsing child
    digits_mlp_weights(tmp_path / "p" / "variants" / "0123abcd" / "model.pt")
    folder = _project(
        tmp_path / "p", arch=planted.reference, artifacts={"torch": "variants/0123abcd/model.pt"}
    )
    said: list[str] = []
    _, inspections = open_project(
        folder, RunContext(progress=lambda _f, message: said.append(message)), trust=True
    )
    assert planted.ran and inspections["0123abcd"].loaded.arch == planted.reference
    assert any("separate process" in message for message in said), said


@pytest.mark.parametrize(
    ("variant", "field", "why"),
    [
        ({"id": "../../x"}, "field 'id'", "is not a variant id"),
        ({"parent": "../y"}, "field 'parent'", "is not a variant id"),
        ({"artifacts": {"onnx": "/etc/hostname"}}, "field 'artifacts.onnx'", "is absolute"),
        ({"artifacts": {"torch": "../outside.pt"}}, "field 'artifacts.torch'", "climbs out"),
        ({"artifacts": {"torch": "link/model.pt"}}, "field 'artifacts.torch'", "link leading"),
        ({"name": 5}, "field 'name'", "must be text, not int"),
        ({"artifacts": ["model.pt"]}, "field 'artifacts'", "must be a mapping, not list"),
        ({"metrics": "fast"}, "field 'metrics'", "must be a mapping, not str"),
        ({"arch": ["digits_cnn"]}, "field 'arch'", "must be text or null, not list"),
        ({"state": "pwned"}, "field 'state'", "must be one of"),
    ],
)
def test_a_hostile_project_file_is_one_error_naming_the_field_and_nothing_is_written(
    tmp_path: Path, variant: dict, field: str, why: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "model.pt").write_text("secret-bytes")
    folder = _project(tmp_path / "p", **variant)
    (folder / "link").symlink_to(outside)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(ProjectError) as info:
        open_project(folder)
    message = info.value.message
    assert f"{folder / PROJECT_FILE}: variants[0] {field}" in message and why in message
    assert "secret-bytes" not in message and "\n" not in message
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_a_saved_project_keeps_only_paths_inside_its_folder(tmp_path: Path) -> None:
    source = digits_mlp_weights(tmp_path / "elsewhere" / "weights.pt")
    project = Project()
    root = project.add_root(load(source, arch="digits_mlp"))
    root.artifacts["onnx_export"] = str(tmp_path / "exports" / "m.onnx")  # written outside
    save_project(project, tmp_path / "p")
    saved = json.loads((tmp_path / "p" / PROJECT_FILE).read_text())["variants"][0]
    assert saved["artifacts"] == {"torch": f"variants/{root.id}/model.pt"}
    reopened, _ = open_project(tmp_path / "p")
    assert reopened.variants[root.id].loaded.module is not None
