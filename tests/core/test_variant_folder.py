"""The variant folder: what ``write_variant`` writes is what every command leaves, and it
reopens through the reader, which builds a recorded ``module:factory`` only with trust."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from workbench.core.compress import run_pass
from workbench.core.compress.pruning.structured import ChannelPrune
from workbench.core.errors import ModelLoadError, UnsafeModelError
from workbench.core.io import load
from workbench.core.io.pruned_shapes import is_pruned_checkpoint
from workbench.core.io.variant_folder import (
    VariantRecord,
    read_record,
    variant_model,
    write_variant,
)


def _record(**fields) -> VariantRecord:
    settings = dict(
        name="digits_cnn (test)", source="zoo:digits_cnn", arch="digits_cnn",
        dataset="digits", framework="pytorch", step={"pass": "none", "config": {}},
        metrics={"top1": 0.5}, notes=["a note"],
    )  # fmt: skip
    return VariantRecord(**{**settings, **fields})


def test_a_written_variant_lists_its_files_and_reopens_without_arch(tmp_path: Path) -> None:
    pruned = run_pass(ChannelPrune, load("zoo:digits_cnn"), {"amount": 0.5}).model
    extra = tmp_path / "history.json"
    extra.write_text("{}")
    record = _record(kind="pruned", status="finished", extra={"node_error": None})
    paths = write_variant(tmp_path, record, pruned, files={"history_json": extra})
    assert list(paths) == ["torch", "history_json", "variant"]
    written = json.loads(paths["variant"].read_text())
    assert list(written) == [
        "schema", "name", "kind", "source", "arch", "dataset", "framework", "status",
        "step", "metrics", "node_error", "notes", "artifacts",
    ]  # fmt: skip
    assert written["schema"] == 1 and written == {**read_record(tmp_path)}
    assert written["artifacts"] == {"torch": "model.pt", "history_json": "history.json"}
    # narrower than digits_cnn builds, so "auto" kept the pruned shapes beside the weights
    assert is_pruned_checkpoint(torch.load(paths["torch"], weights_only=True))
    assert load(tmp_path).module.features[1][0].out_channels == 32


def test_a_replayed_step_records_no_kind_or_status(tmp_path: Path) -> None:
    model = load("zoo:digits_mlp")
    paths = write_variant(tmp_path, _record(arch="digits_mlp"), model, weights="state_dict")
    written = json.loads(paths["variant"].read_text())
    assert "kind" not in written and "status" not in written
    state = torch.load(paths["torch"], weights_only=True)
    assert not is_pruned_checkpoint(state) and set(state) == set(model.module.state_dict())
    assert variant_model(tmp_path, arch=None, trust=False).path == paths["torch"]


def test_a_variant_folder_opens_without_arch_but_never_imports_code_untrusted(
    tmp_path: Path,
) -> None:
    pruned = run_pass(ChannelPrune, load("zoo:digits_cnn"), {"amount": 0.5}).model
    write_variant(tmp_path, _record(), pruned, weights="pruned")
    assert load(tmp_path).module.features[1][0].out_channels == 32
    write_variant(tmp_path, _record(arch="some_module:build"), None,
                  files={"torch": tmp_path / "model.pt"})  # fmt: skip
    with pytest.raises(UnsafeModelError, match="imports code"):
        load(tmp_path)


def test_an_unreadable_record_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "variant.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="not a readable variant file"):
        load(tmp_path)
    (tmp_path / "variant.json").write_text("[1, 2]")
    with pytest.raises(ModelLoadError, match="not a JSON object"):
        read_record(tmp_path)
