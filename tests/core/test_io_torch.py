"""PyTorch files: weights-only first, nothing from an untrusted file ever runs."""

from __future__ import annotations

import importlib
import os
import pickle
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import safetensors.torch
import torch

from workbench.core.errors import ArchitectureError, ModelLoadError, UnsafeModelError
from workbench.core.io import InputSpec, ModelFormat, detect_format, load

Factory = Callable[..., torch.nn.Module]


def _nets() -> Any:
    """The module the ``factory_module`` fixture put on sys.path."""
    return importlib.import_module("wb_io_test_nets")


def _zoo() -> None:
    """The zoo's model factories are written alongside this module; skip until they exist."""
    pytest.importorskip("workbench.core.models.digits")


class _RunsShell:
    """Unpickling this would run a shell command creating the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (os.system, (f"touch {self.marker}",))


class _OpensFile:
    """Unpickling this would create the marker file through builtins.open."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (open, (str(self.marker), "w"))


# -- zoo and architectures -------------------------------------------------------------


def test_zoo_reference_builds_a_seeded_model() -> None:
    _zoo()
    first = load("zoo:digits_cnn", seed=3)
    again = load("zoo:digits_cnn", seed=3)
    other = load("zoo:digits_cnn", seed=4)
    assert first.format is ModelFormat.ZOO and first.path is None
    assert first.inputs == [InputSpec("input", (1, 1, 8, 8))]
    assert (first.arch, first.dataset, first.num_classes) == ("digits_cnn", "digits", 10)
    x = torch.randn(2, 1, 8, 8)
    assert torch.equal(first.module(x), again.module(x))
    assert not torch.equal(first.module(x), other.module(x))


def test_zoo_options_reach_the_factory() -> None:
    _zoo()
    loaded = load("zoo:digits_cnn:num_classes=5")
    assert loaded.arch == "digits_cnn:num_classes=5" and loaded.num_classes == 5
    assert loaded.module(torch.zeros(1, 1, 8, 8)).shape == (1, 5)
    with pytest.raises(ArchitectureError, match="'digits_cnn' cannot be built with"):
        load("zoo:digits_cnn:colour=3")


def test_unknown_zoo_name_lists_the_built_ins() -> None:
    with pytest.raises(ArchitectureError) as info:
        load("zoo:nope")
    assert info.value.message.startswith("no architecture named 'nope' (built-in: ")
    assert "digits_cnn" in info.value.message


def test_zoo_state_dict_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    _zoo()
    trained = load("zoo:digits_cnn", seed=7).module
    path = tmp_path / "digits.pt"
    torch.save(trained.state_dict(), path)
    for arch in ("digits_cnn", "zoo:digits_cnn"):
        loaded = load(path, arch=arch, seed=0)  # seed 0 weights are replaced by the file's
        assert loaded.format is ModelFormat.STATE_DICT
        assert loaded.arch == "digits_cnn" and loaded.dataset == "digits"
        assert loaded.inputs == [InputSpec("input", (1, 1, 8, 8))]
        assert loaded.file_size == path.stat().st_size
        x = torch.randn(4, 1, 8, 8)
        assert torch.equal(loaded.module(x), trained(x))


def test_nested_checkpoint_dict_is_found(tmp_path: Path, factory_module: str) -> None:
    source = _nets().net()
    path = tmp_path / "ckpt.pt"
    torch.save({"epoch": 3, "model_state_dict": source.state_dict(), "lr": 0.1}, path)
    loaded = load(path, arch=factory_module)
    x = torch.randn(1, 1, 8, 8)
    assert torch.equal(loaded.module(x), source(x))


def test_state_dict_without_arch_says_what_to_pass(tmp_path: Path, factory_module: str) -> None:
    path = tmp_path / "weights.pt"
    torch.save(_nets().net().state_dict(), path)
    with pytest.raises(ArchitectureError) as info:
        load(path)
    message = info.value.message
    assert message.startswith("weights.pt is a state_dict (weights only, 4 tensors); pass ")
    assert "--arch NAME or --arch package.module:factory (built-in: " in message


def test_unknown_arch_name_for_a_state_dict(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save(torch.nn.Linear(2, 2).state_dict(), path)
    with pytest.raises(ArchitectureError, match=r"weights\.pt: no architecture named 'nope'"):
        load(path, arch="nope")
    with pytest.raises(
        ArchitectureError, match=r"weights\.pt: cannot import module 'no_such_pkg\.models'"
    ):
        load(path, arch="no_such_pkg.models:make")


def test_module_factory_arch_round_trip(tmp_path: Path, factory_module: str) -> None:
    source = _nets().net()
    path = tmp_path / "w.pth"
    torch.save(source.state_dict(), path, _use_new_zipfile_serialization=False)
    loaded = load(path, arch=factory_module)
    assert loaded.arch == factory_module and loaded.dataset is None
    x = torch.randn(3, 1, 8, 8)
    assert torch.equal(loaded.module(x), source(x))
    # No declared input: the first layer's guess is kept only because a forward pass took it.
    assert loaded.inputs == [InputSpec("x", (1, 1, 8, 8))]
    assert any("guessed from the first layer (Conv2d)" in note for note in loaded.notes)


def test_arch_that_does_not_fit_names_the_keys(tmp_path: Path, factory_module: str) -> None:
    path = tmp_path / "w.pt"
    torch.save(_nets().wide_net().state_dict(), path)
    with pytest.raises(ArchitectureError) as info:
        load(path, arch=factory_module)
    assert info.value.message == (
        f"w.pt does not fit architecture '{factory_module}': shape mismatch: fc.weight "
        "(file 12x256, model 10x256), fc.bias (file 12, model 10); pass the --arch the "
        "weights were trained with"
    )
    torch.save(torch.nn.Linear(3, 3).state_dict(), path)
    with pytest.raises(
        ArchitectureError, match=r"missing keys: conv\.weight, conv\.bias, fc\.weight"
    ):
        load(path, arch=factory_module)
    with pytest.raises(ArchitectureError, match=r"unexpected keys: weight, bias"):
        load(path, arch=factory_module)


def test_zoo_arch_shape_mismatch(tmp_path: Path) -> None:
    _zoo()
    path = tmp_path / "five.pt"
    torch.save(load("zoo:digits_cnn:num_classes=5").module.state_dict(), path)
    with pytest.raises(ArchitectureError, match=r"shape mismatch: fc\.weight \(file 5x128"):
        load(path, arch="digits_cnn")
    assert load(path, arch="digits_cnn:num_classes=5").num_classes == 5


def test_factory_that_builds_no_module(tmp_path: Path, factory_module: str) -> None:
    path = tmp_path / "w.pt"
    torch.save(torch.nn.Linear(3, 3).state_dict(), path)
    with pytest.raises(ArchitectureError, match=r"returned a int, not a torch nn\.Module"):
        load(path, arch="wb_io_test_nets:not_a_module")


def test_safetensors_round_trip(tmp_path: Path, factory_module: str) -> None:
    source = _nets().net()
    path = tmp_path / "w.safetensors"
    safetensors.torch.save_file(source.state_dict(), path)
    with pytest.raises(ArchitectureError, match=r"w\.safetensors is a safetensors file"):
        load(path)
    loaded = load(path, arch=factory_module, shapes={"x": (2, 1, 8, 8)})
    assert loaded.format is ModelFormat.SAFETENSORS
    assert loaded.inputs == [InputSpec("x", (2, 1, 8, 8))]
    x = torch.randn(2, 1, 8, 8)
    assert torch.equal(loaded.module(x), source(x))


# -- TorchScript and exported programs ------------------------------------------------


def test_torchscript_needs_trust(tmp_path: Path, make_sequential: Factory) -> None:
    model = make_sequential()
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.trace(model, torch.zeros(1, 1, 8, 8)), path)
    with pytest.raises(UnsafeModelError) as info:
        load(path)
    assert info.value.message == (
        "scripted.pt is a TorchScript archive; loading one runs code stored in it. "
        "Open it with --trust only if you trust where it came from."
    )
    loaded = load(path, trust=True, shapes={"input": (1, 1, 8, 8)})
    assert loaded.format is ModelFormat.TORCHSCRIPT
    assert loaded.inputs == [InputSpec("input", (1, 1, 8, 8))]
    x = torch.randn(2, 1, 8, 8)
    assert torch.equal(loaded.module(x), model(x))
    probed = load(path, trust=True)
    assert probed.inputs == [InputSpec("input", (1, 1, 8, 8))]


def test_exported_program_needs_trust_and_keeps_placeholder_shapes(
    tmp_path: Path, make_sequential: Factory
) -> None:
    model = make_sequential()
    path = tmp_path / "program.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(3, 1, 8, 8),)), path)
    with pytest.raises(UnsafeModelError, match=r"program\.pt2 is a torch\.export program"):
        load(path)
    loaded = load(path, trust=True)
    assert loaded.format is ModelFormat.EXPORTED_PROGRAM
    assert loaded.exported_program is not None and loaded.module is not None
    assert loaded.inputs == [InputSpec("input", (3, 1, 8, 8))]
    x = torch.randn(3, 1, 8, 8)
    assert torch.allclose(loaded.module(x), model(x))


# -- pickled modules and malicious pickles -------------------------------------------


def test_pickled_module_refused_without_trust_and_loaded_with_it(
    tmp_path: Path, make_sequential: Factory
) -> None:
    model = make_sequential()
    path = tmp_path / "whole.pt"
    torch.save(model, path)
    with pytest.raises(UnsafeModelError) as info:
        load(path)
    message = info.value.message
    assert message.startswith("whole.pt pickles Python objects (it needs ")
    assert "torch.nn.modules.container.Sequential" in message
    assert "loading it would run code from the file" in message
    assert message.endswith("Use --trust if you trust it, or save a state_dict and pass --arch")
    loaded = load(path, trust=True)
    assert loaded.format is ModelFormat.PICKLED_MODULE
    x = torch.randn(2, 1, 8, 8)
    assert torch.equal(loaded.module(x), model(x))


@pytest.mark.parametrize("form", ["zip", "torch-legacy", "pickle-protocol-4"])
@pytest.mark.parametrize("payload", [_RunsShell, _OpensFile])
def test_malicious_pickle_never_runs(tmp_path: Path, form: str, payload: type) -> None:
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.pt"
    evil = {"weights": torch.ones(2), "x": payload(marker)}
    if form == "zip":
        torch.save(evil, path)
    elif form == "torch-legacy":
        torch.save(evil, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps(payload(marker), protocol=4))
    assert not marker.exists()
    assert detect_format(path) is ModelFormat.PICKLED_MODULE
    for arch in (None, "digits_cnn"):
        with pytest.raises(UnsafeModelError) as info:
            load(path, arch=arch)
        needed = "posix.system" if payload is _RunsShell else "io.open"  # open is io.open
        assert f"evil.pt pickles Python objects (it needs {needed}" in info.value.message
    assert not marker.exists()


def _save_with_vanishing_class(tmp_path: Path, module_name: str) -> Path:
    """Save an instance of a class whose module is gone by the time the file is loaded."""
    folder = tmp_path / "gone"
    folder.mkdir()
    source = """
        import torch

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = torch.nn.Linear(4, 2)

            def forward(self, x):
                return self.fc(x)
    """
    (folder / f"{module_name}.py").write_text(textwrap.dedent(source))
    sys.path.insert(0, str(folder))
    try:
        net_class = __import__(module_name).Net
        path = tmp_path / "net.pt"
        torch.save(net_class(), path)
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(module_name, None)
    return path


def test_missing_class_with_trust_names_it(tmp_path: Path) -> None:
    path = _save_with_vanishing_class(tmp_path, "wb_io_vanishing_mod")
    with pytest.raises(UnsafeModelError, match=r"wb_io_vanishing_mod\.Net"):
        load(path)
    with pytest.raises(ArchitectureError) as info:
        load(path, trust=True)
    assert info.value.message == (
        "net.pt needs class Net from module wb_io_vanishing_mod, which cannot be imported "
        "here; make that module importable, or save a state_dict and pass --arch"
    )


def test_missing_class_from_main_with_trust(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    main = sys.modules["__main__"]

    class Net(torch.nn.Linear):
        pass

    Net.__module__, Net.__qualname__ = "__main__", "Net"
    monkeypatch.setattr(main, "Net", Net, raising=False)
    path = tmp_path / "main.pt"
    torch.save(Net(2, 2), path)
    monkeypatch.delattr(main, "Net")
    with pytest.raises(ArchitectureError, match=r"main\.pt needs class Net from module __main__"):
        load(path, trust=True)


def test_checkpoint_holding_no_weights(tmp_path: Path) -> None:
    path = tmp_path / "meta.pt"
    torch.save({"epoch": 3, "lr": 0.1}, path)
    with pytest.raises(ModelLoadError, match=r"meta\.pt holds a dict but no model weights"):
        load(path, arch="digits_cnn")


def test_torch_shapes_argument(tmp_path: Path, factory_module: str) -> None:
    path = tmp_path / "w.pt"
    torch.save(_nets().net().state_dict(), path)
    loaded = load(path, arch=factory_module, shapes={"image": (4, 1, 8, 8)})
    assert loaded.inputs == [InputSpec("image", (4, 1, 8, 8))]
    assert loaded.notes == []


def test_zoo_input_override_checks_names() -> None:
    _zoo()
    loaded = load("zoo:digits_cnn", shapes={"input": (8, 1, 8, 8)})
    assert loaded.inputs == [InputSpec("input", (8, 1, 8, 8))]
    with pytest.raises(ModelLoadError, match="--shape names input 'image'"):
        load("zoo:digits_cnn", shapes={"image": (8, 1, 8, 8)})


def test_no_guess_when_the_first_layer_cannot_tell(tmp_path: Path) -> None:
    model = torch.nn.Sequential(torch.nn.BatchNorm1d(5), torch.nn.Linear(5, 2))
    path = tmp_path / "bn.pt"
    torch.save(model, path)
    loaded = load(path, trust=True)
    assert loaded.inputs == []
    assert loaded.notes == [
        "the input shape cannot be told from the model; pass --shape input=1x3x224x224 "
        "(the real shape)"
    ]


def test_dataparallel_prefix_is_removed_with_a_note(tmp_path: Path, factory_module: str) -> None:
    source = _nets().net()
    path = tmp_path / "dp.pt"
    torch.save({f"module.{k}": v for k, v in source.state_dict().items()}, path)
    loaded = load(path, arch=factory_module, shapes={"x": (1, 1, 8, 8)})
    assert loaded.notes == ["the weights' 'module.' prefix (from DataParallel) was removed"]
    x = torch.randn(1, 1, 8, 8)
    assert torch.equal(loaded.module(x), source(x))
