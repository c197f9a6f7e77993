"""The shipped zoo graphs are what a live torch.export translation gives, and apply only
where they can: the exact built-in, the torch that translated them.

When one of these fails after changing a zoo model or the translator, write the files
again with ``python -m workbench.core.graph.prebuilt``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from workbench.core import graph as graph_model
from workbench.core.catalogue import get_registry, reset_registry
from workbench.core.graph import prebuilt
from workbench.core.inspection import inspect_model
from workbench.core.registry import ModelEntry
from workbench.core.zoo import BUILTIN_MODELS


@pytest.mark.parametrize("name", [entry.name for entry in BUILTIN_MODELS])
def test_each_shipped_graph_and_summary_equal_a_live_translation(name: str) -> None:
    live = inspect_model(f"zoo:{name}", prebuilt=False)
    shipped = prebuilt.prebuilt_graph(f"zoo:{name}")
    assert shipped is not None, f"resources/zoo_graphs/{name}.json is missing or stale"
    assert shipped == live.graph
    graph, summary = prebuilt.preview(f"zoo:{name}")
    assert graph == live.graph and summary == live.summary


def test_opening_a_builtin_reads_the_shipped_graph_instead_of_tracing(monkeypatch) -> None:
    def no_trace(loaded):
        raise AssertionError(f"{loaded.display_name} was traced")

    monkeypatch.setattr(graph_model, "from_model", no_trace)
    inspection = inspect_model("zoo:digits_cnn")
    assert inspection.loaded.module is not None  # the model itself is still loaded
    assert inspection.summary["node_count"] == len(inspection.graph.nodes) > 5
    # Each open gets its own objects: a caller may change what it was given.
    assert inspection.graph is not inspect_model("zoo:digits_cnn").graph


def test_options_or_other_shapes_are_translated_live() -> None:
    assert prebuilt.prebuilt_graph("zoo:resnet_shapes:width=2") is None
    assert prebuilt.prebuilt_graph("zoo:workbench.core.models.digits:DigitsCNN") is None
    assert prebuilt.prebuilt_graph("model.onnx") is None
    wider = inspect_model("zoo:digits_cnn", shapes={"input": (4, 1, 8, 8)})
    assert wider.summary["inputs"][0]["shape"][0] == 4


def test_a_graph_from_another_torch_release_or_a_damaged_file_is_not_used(
    monkeypatch, tmp_path: Path
) -> None:
    folder = tmp_path / "zoo_graphs"
    shutil.copytree(prebuilt.graphs_dir(), folder)
    monkeypatch.setattr(prebuilt, "graphs_dir", lambda: folder)
    assert prebuilt.prebuilt_graph("zoo:digits_cnn") is not None

    stored = json.loads((folder / "digits_cnn.json").read_text())
    release = stored["torch"].partition("+")[0]
    stored["torch"] = f"{release}+cu128"  # another build of the same release: still used
    (folder / "digits_cnn.json").write_text(json.dumps(stored))
    assert (
        prebuilt.prebuilt_graph("zoo:digits_cnn").producer
        == inspect_model("zoo:digits_cnn", prebuilt=False).graph.producer
    )  # named after the torch installed, as a live translation is
    stored["torch"] = "1.0.0"
    (folder / "digits_cnn.json").write_text(json.dumps(stored))
    assert prebuilt.prebuilt_graph("zoo:digits_cnn") is None

    (folder / "digits_mlp.json").write_text("{not json")
    assert prebuilt.prebuilt_graph("zoo:digits_mlp") is None
    (folder / "resnet_shapes.json").unlink()
    assert prebuilt.prebuilt_graph("zoo:resnet_shapes") is None
    # The live path still opens them.
    assert inspect_model("zoo:digits_mlp").graph == prebuilt.translate_live("digits_mlp")


def test_a_plugin_that_replaces_a_builtin_name_gets_its_own_graph() -> None:
    reset_registry()
    try:
        registry = get_registry()
        replaced = ModelEntry(
            name="digits_cnn",
            factory="workbench.core.models.digits:DigitsMLP",
            description="a plugin's model under the demo's name",
            dataset="digits",
            inputs=BUILTIN_MODELS[0].inputs,
        )
        registry.add_model(replaced)
        assert prebuilt.prebuilt_graph("zoo:digits_cnn") is None
    finally:
        reset_registry()


def test_write_all_writes_what_is_shipped(tmp_path: Path) -> None:
    written = prebuilt.write_all(tmp_path)
    assert sorted(path.name for path in written) == sorted(
        path.name for path in prebuilt.graphs_dir().glob("*.json")
    )
    for path in written:
        assert json.loads(path.read_text()) == json.loads(
            (prebuilt.graphs_dir() / path.name).read_text()
        )
