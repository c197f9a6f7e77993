"""Standard backbones by name (tv:, timm:): real torchvision and timm builders, fresh
weights (nothing downloaded), the user's own checkpoint, and image folders read at the
backbone's 224x224."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from fixtures.image_folder import write_shape_folder

from workbench.core.data.resolve import resolve_dataset
from workbench.core.errors import ArchitectureError, WorkbenchError
from workbench.core.io import load
from workbench.core.io.arch_ref import is_code_reference, parse_arch
from workbench.core.io.torch_file import load_fresh
from workbench.core.named_sources import is_named_source

# Not importorskip: importing timm is what the workbench's torchvision import must precede.
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("timm") is None, reason="the vision extra is not installed"
)


def _parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_a_torchvision_resnet50_builds_fresh_at_224() -> None:
    model = load("tv:resnet50")
    assert _parameters(model.module) == 25_557_032  # torchvision's ResNet-50, 1000 classes
    assert [spec.shape for spec in model.inputs] == [(1, 3, 224, 224)]
    assert model.image_size == (224, 224) and model.num_classes == 1000
    assert model.arch == "tv:resnet50"
    with torch.no_grad():
        assert model.module(torch.zeros(1, 3, 224, 224)).shape == (1, 1000)


def test_options_go_to_the_builder_and_the_seed_decides_the_weights() -> None:
    first = load("tv:resnet18:num_classes=3", seed=0)
    again = load("tv:resnet18:num_classes=3", seed=0)
    other = load("tv:resnet18:num_classes=3", seed=1)
    assert first.module.fc.out_features == 3 and first.num_classes == 3
    assert torch.equal(first.module.conv1.weight, again.module.conv1.weight)
    assert not torch.equal(first.module.conv1.weight, other.module.conv1.weight)


def test_a_timm_mobilenetv3_builds_at_its_configured_size() -> None:
    model = load("timm:mobilenetv3_small_100:num_classes=5")
    assert model.inputs[0].shape == (1, 3, 224, 224)
    assert model.num_classes == 5 and model.arch == "timm:mobilenetv3_small_100:num_classes=5"
    with torch.no_grad():
        assert model.module(torch.zeros(2, 3, 224, 224)).shape == (2, 5)


def test_torchvision_sides_come_from_its_weights_metadata() -> None:
    from torchvision import models

    from workbench.core.models.backbones import _torchvision_side

    assert _torchvision_side(models, "inception_v3") == 299
    assert _torchvision_side(models, "mobilenet_v3_large") == 224


def test_the_users_own_checkpoint_pairs_with_a_backbone(tmp_path: Path) -> None:
    trained = load("tv:resnet18:num_classes=3", seed=7).module
    with torch.no_grad():
        trained.fc.bias.fill_(0.25)
    torch.save(trained.state_dict(), tmp_path / "mine.pt")
    model = load(tmp_path / "mine.pt", arch="tv:resnet18:num_classes=3")
    assert torch.equal(model.module.fc.bias, torch.full((3,), 0.25))
    assert torch.equal(model.module.conv1.weight, trained.conv1.weight)
    assert model.image_size == (224, 224)
    with pytest.raises(ArchitectureError, match="does not fit architecture 'tv:resnet34"):
        load(tmp_path / "mine.pt", arch="tv:resnet34:num_classes=3")


def test_a_backbone_name_is_data_not_code() -> None:
    for text in ("tv:resnet50", "timm:mobilenetv3_small_100:num_classes=5"):
        assert not is_code_reference(text) and is_named_source(text)
        ref = parse_arch(text, trusted=False, origin="recipe.yaml field 'arch'")
        ref.require_trust()  # a file naming it needs no --trust
        assert load_fresh(ref, shapes=None, seed=0).module is not None


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("tv:resnet5", "torchvision has no model 'resnet5'; did you mean tv:resnet50"),
        ("timm:mobilenetv3_smal_100", "did you mean timm:mobilenetv3_small_100"),
        ("tv:fasterrcnn_resnet50_fpn", "tv:fasterrcnn_resnet50_fpn is not an image classifier"),
        ("tv:resnet18:depth=3", "tv:resnet18 cannot be built with {'depth': 3}"),
        ("tv:resnet18:num_classes", "is not of the form key=value"),
    ],
)
def test_bad_names_get_one_line(source: str, message: str) -> None:
    with pytest.raises(WorkbenchError) as raised:
        load(source)
    assert message in raised.value.message and "\n" not in raised.value.message


def test_a_missing_library_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "timm", None)  # as if not installed
    with pytest.raises(
        ArchitectureError, match=r"timm is not installed; pip install 'workbench\[vision\]'"
    ):
        load("timm:mobilenetv3_small_100")


def test_the_note_says_when_torchvisions_operators_did_not_load() -> None:
    """Where torchvision's compiled operators fit this torch, nothing is said; where they
    do not (a CUDA torchvision beside a CPU-only torch, as on the CI machine), the models
    still build and the note says what does not work."""
    from torchvision.extension import _has_ops

    notes = load("tv:resnet18").notes
    said = any("compiled operators do not fit" in note for note in notes)
    assert said == (not _has_ops())


def test_image_folders_are_read_at_the_models_input_size(tmp_path: Path) -> None:
    folder = write_shape_folder(tmp_path / "shapes", side=64, per_class=3)
    model = load("tv:resnet18:num_classes=3")
    data = resolve_dataset(str(folder), image_size=model.image_size)
    assert data.x_train.shape[1:] == (3, 224, 224) and data.num_classes == 3
    assert resolve_dataset(str(folder)).x_train.shape[1:] == (3, 32, 32)  # no model: 32
    assert load("zoo:digits_cnn").image_size == (8, 8)
    assert load("zoo:tiny_lm").image_size is None  # token ids, not an image
