"""An architecture named by its file (``path/to/nets.py:build``), no PYTHONPATH needed."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from workbench.core.errors import ArchitectureError, TrustRequired
from workbench.core.io import load
from workbench.core.io.arch_ref import is_code_reference, parse_arch

NETS = """
import torch
from blocks import head  # a module beside this file

def build():
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 8), head())
"""
BLOCKS = "import torch\n\ndef head():\n    return torch.nn.Linear(8, 3)\n"


@pytest.fixture
def nets(tmp_path: Path) -> Path:
    folder = tmp_path / "my code"
    folder.mkdir()
    (folder / "nets.py").write_text(NETS)
    (folder / "blocks.py").write_text(BLOCKS)
    return folder / "nets.py"


def test_weights_open_with_an_architecture_named_by_its_file(nets: Path, tmp_path) -> None:
    reference = f"{nets}:build"
    assert is_code_reference(reference)
    built = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 8), torch.nn.Linear(8, 3))
    torch.save(built.state_dict(), tmp_path / "weights.pt")
    loaded = load(str(tmp_path / "weights.pt"), arch=reference, shapes={"input": (1, 12)})
    x = torch.randn(2, 12)
    assert torch.equal(loaded.module(x), built(x))
    assert loaded.arch == reference


def test_a_file_reference_from_a_file_still_needs_trust(nets: Path) -> None:
    with pytest.raises(TrustRequired, match="imports code"):
        parse_arch(f"{nets}:build", trusted=False, origin="r.yaml step 1").require_trust()


def test_a_module_that_is_not_importable_says_how_to_name_it(tmp_path: Path) -> None:
    torch.save(torch.nn.Linear(3, 2).state_dict(), tmp_path / "w.pt")
    with pytest.raises(ArchitectureError, match=r"PYTHONPATH=\.\), or name its file"):
        load(str(tmp_path / "w.pt"), arch="no_such_nets:build")
    with pytest.raises(ArchitectureError, match="does not exist"):
        load(str(tmp_path / "w.pt"), arch=f"{tmp_path}/missing.py:build")
