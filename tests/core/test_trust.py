"""One trust boundary: code a file names runs only when the user trusted that file.

Variant folders, project files, recipes and compare all turn strings from files into
architectures; each goes through ``ArchRef``. A planted module proves what ran.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures.planted import DISTILL_RECIPE, Planted, plant_module, variant_folder

from workbench.core.compare.sources import measure_folder
from workbench.core.context import RunContext
from workbench.core.errors import TrustRequired
from workbench.core.io import load
from workbench.core.io.arch_ref import is_code_reference, parse_arch
from workbench.core.measure import MeasureOptions
from workbench.core.recipe import parse_recipe, run_recipe, validate_recipe


@pytest.fixture
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Planted:
    found = plant_module(tmp_path / "code")
    monkeypatch.syspath_prepend(str(found.folder))
    return found


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("digits_cnn", False),
        ("zoo:resnet_shapes:width=0.25", False),
        ("resnet_shapes:width=0.25,depth=2", False),  # a registered name with options
        ("unknown_net:width=2", False),  # options: never an import (fails as unknown)
        ("pruned:0.5", False),
        ("mynets:build", True),
        ("my.package.models:make_net", True),
        ("os:system", True),
        ("zoo:os:system", False),  # the prefix says zoo: looked up, never imported
    ],
)
def test_a_reference_is_code_only_when_it_names_module_and_factory(text: str, code: bool) -> None:
    assert is_code_reference(text) is code


def test_an_untrusted_code_reference_names_its_origin_and_the_way_past() -> None:
    ref = parse_arch("mynets:build", trusted=False, origin="T/variant.json field 'arch'")
    with pytest.raises(TrustRequired) as info:
        ref.require_trust()
    message = info.value.message
    assert message.startswith("T/variant.json field 'arch' names architecture 'mynets:build'")
    assert "imports code" in message and "--trust" in message
    parse_arch("mynets:build", trusted=True).require_trust()  # the user's own: no error
    parse_arch("resnet_shapes:width=2", trusted=False).require_trust()  # data: no error


def test_a_variant_folder_naming_code_needs_trust_and_runs_it_with_trust(
    tmp_path: Path, planted: Planted
) -> None:
    folder = variant_folder(tmp_path / "T", planted.reference)
    with pytest.raises(TrustRequired, match=r"T/variant\.json field 'arch'"):
        load(folder)
    assert not planted.ran
    assert load(folder, trust=True).module is not None
    assert planted.ran


def test_the_users_own_arch_needs_no_trust_on_a_folder(tmp_path: Path, planted: Planted) -> None:
    folder = variant_folder(tmp_path / "T", None)
    assert load(folder, arch=planted.reference).arch == planted.reference
    assert planted.ran


def test_a_parameterised_zoo_variant_reopens_without_arch_or_trust(tmp_path: Path) -> None:
    import torch

    from workbench.core.models.digits import DigitsMLP

    folder = variant_folder(tmp_path / "T", "digits_mlp:hidden=32", torch_file=False)
    torch.save(DigitsMLP(hidden=32).state_dict(), folder / "model.pt")
    record = json.loads((folder / "variant.json").read_text())
    record["artifacts"] = {"torch": "model.pt"}
    (folder / "variant.json").write_text(json.dumps(record))
    loaded = load(folder)
    assert loaded.module.layers[1].out_features == 32


def test_an_onnx_only_folder_never_asks_for_trust(tmp_path: Path, planted: Planted) -> None:
    from workbench.core.export import export_onnx

    folder = variant_folder(tmp_path / "T", planted.reference, torch_file=False)
    export_onnx(load("zoo:digits_mlp"), folder / "model.onnx")
    record = json.loads((folder / "variant.json").read_text())
    record["artifacts"] = {"onnx": "model.onnx"}
    (folder / "variant.json").write_text(json.dumps(record))
    assert load(folder).framework == "onnx"
    assert not planted.ran


def test_a_folder_without_an_architecture_falls_back_to_its_onnx(tmp_path: Path) -> None:
    from workbench.core.export import export_onnx

    folder = variant_folder(tmp_path / "T", None)  # model.pt: weights, arch unknown
    export_onnx(load("zoo:digits_mlp"), folder / "model.onnx")
    record = json.loads((folder / "variant.json").read_text())
    record["artifacts"]["onnx"] = "model.onnx"
    (folder / "variant.json").write_text(json.dumps(record))
    loaded = load(folder)
    assert loaded.framework == "onnx"
    assert any("records no architecture" in note for note in loaded.notes)


def test_compare_measure_never_builds_code_a_variant_json_names(
    tmp_path: Path, planted: Planted
) -> None:
    folder = variant_folder(tmp_path / "T", planted.reference)
    options = MeasureOptions(runs=2, seconds=0.05, warmup=1, batches=[1], samples=20)
    with pytest.raises(TrustRequired, match=r"variant\.json field 'arch'"):
        measure_folder(folder, options)
    assert not planted.ran
    options.trust = True
    assert measure_folder(folder, options).entry.metrics
    assert planted.ran


def test_a_recipe_naming_code_is_refused_before_anything_runs(planted: Planted) -> None:
    recipe = parse_recipe(DISTILL_RECIPE.format(student=planted.reference), source="r.yaml")
    with pytest.raises(TrustRequired, match=r"r\.yaml:5: step 1 \(distill\) field 'student'"):
        validate_recipe(recipe)
    with pytest.raises(TrustRequired):
        run_recipe(recipe, load("zoo:digits_cnn"), ctx=RunContext(trust=False))
    assert not planted.ran
    validate_recipe(recipe, trusted=True)  # checking imports nothing either
    assert not planted.ran


def test_a_trusted_recipe_builds_the_student_it_names(planted: Planted) -> None:
    recipe = parse_recipe(DISTILL_RECIPE.format(student=planted.reference), source="r.yaml")
    outcomes = run_recipe(recipe, load("zoo:digits_cnn"), ctx=RunContext(trust=True))
    assert planted.ran
    assert outcomes[0].model.arch == planted.reference


def test_a_distillation_student_from_code_needs_trust_in_the_context(planted: Planted) -> None:
    from workbench.core.compress.distillation.students import build_student

    teacher = load("zoo:digits_cnn")
    with pytest.raises(TrustRequired, match="the student"):
        build_student(teacher, planted.reference)
    assert not planted.ran
    assert build_student(teacher, planted.reference, trusted=True).kind == "factory"
