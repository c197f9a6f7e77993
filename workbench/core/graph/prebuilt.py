"""Graphs of the built-in zoo models, translated ahead of time and shipped in resources/.

Opening the demo used to spend about 4 s before anything showed: importing torch
(1.8 s) and tracing the model with torch.export (2.2 s on first use). A built-in
architecture's graph only changes when its code, the translator or torch changes, so
it is translated once, stored as JSON, and read back in milliseconds without torch:
the app paints it while the module itself loads, and ``inspect_model`` skips the trace.

A file is used only for the exact reference ``zoo:NAME`` (no options), when the registry
still maps NAME to the built-in factory (a plugin may replace it) and the installed
torch is the release that translated it (any build of it: +cpu, +cu128).
``tests/core/test_prebuilt_graphs.py`` holds each file equal to a live translation;
``python -m workbench.core.graph.prebuilt`` writes them again.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from workbench.core.catalogue import get_registry
from workbench.core.data import resources_dir
from workbench.core.graph.model import Graph, Node, TensorInfo, WeightInfo
from workbench.core.graph.summary import summarize
from workbench.core.io import load
from workbench.core.io.arch import lm_axes
from workbench.core.io.loaded import LoadedModel, ModelFormat
from workbench.core.zoo import BUILTIN_MODELS

FORMAT = 1  # bump when the JSON layout changes


def graphs_dir() -> Path:

    return resources_dir() / "zoo_graphs"


def builtin_names() -> list[str]:

    return [entry.name for entry in BUILTIN_MODELS]


def graph_to_dict(graph: Graph) -> dict[str, Any]:
    return dataclasses.asdict(graph)


def graph_from_dict(data: dict[str, Any]) -> Graph:
    """The inverse of ``graph_to_dict``: JSON lists back to the tuples the model uses."""
    return Graph(
        name=data["name"],
        framework=data["framework"],
        nodes=[Node(**{**node, "scope": tuple(node["scope"])}) for node in data["nodes"]],
        tensors={key: _tensor(t) for key, t in data["tensors"].items()},
        weights={
            key: WeightInfo(**{**w, "shape": tuple(w["shape"])})
            for key, w in data["weights"].items()
        },
        inputs=list(data["inputs"]),
        outputs=list(data["outputs"]),
        opset=data["opset"],
        producer=data["producer"],
        notes=list(data["notes"]),
    )


def _tensor(data: dict[str, Any]) -> TensorInfo:
    shape = None if data["shape"] is None else tuple(data["shape"])
    return TensorInfo(data["name"], shape, data["dtype"])


def prebuilt_graph(source: str) -> Graph | None:
    """The shipped graph of ``source`` (``zoo:NAME``), or None when there is none to trust.

    Cheap and torch-free: callers run it before loading the module itself. Each call
    returns a fresh Graph the caller may keep.
    """
    name = source.removeprefix("zoo:")
    if not source.startswith("zoo:") or name not in builtin_names() or not _still_builtin(name):
        return None
    stored, installed = _read(name), _torch_version()
    if stored is None or stored.get("format") != FORMAT or installed is None:
        return None
    # The release decides the translation; its build (+cpu, +cu128) does not.
    if _release(stored.get("torch") or "") != _release(installed):
        return None
    graph = graph_from_dict(stored["graph"])
    graph.producer = f"torch {installed}"  # as a live translation would say
    return graph


def _release(version: str) -> str:
    return version.partition("+")[0]


def _read(name: str) -> dict[str, Any] | None:
    try:
        return json.loads((graphs_dir() / f"{name}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # not shipped, or damaged: translate live instead
        return None


def _still_builtin(name: str) -> bool:

    builtin = next(entry for entry in BUILTIN_MODELS if entry.name == name)
    try:
        entry = get_registry().model(name)
    except Exception:  # whatever the registry says, the live path decides
        return False
    return (entry.factory, entry.inputs) == (builtin.factory, builtin.inputs)


def preview(source: str) -> tuple[Graph, dict[str, Any]] | None:
    """The graph and summary opening ``source`` will show, before its module exists."""
    graph = prebuilt_graph(source)
    if graph is None:
        return None

    # What load() reports for a zoo model, minus the module: name, format, no notes, and
    # a language model's output named "logits" (core/io/arch.py).
    name = source.removeprefix("zoo:")
    entry = get_registry().model(name.partition(":")[0])
    named = lm_axes(entry.inputs) if entry.task == "language-modeling" else {}
    stand_in = LoadedModel(
        ModelFormat.ZOO, None, [], arch=name, output_names=named.get("output_names")
    )
    return graph, summarize(graph, stand_in)


@cache
def _torch_version() -> str | None:
    try:  # the distribution's metadata: asking torch itself would import it (1.8 s)
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return None


def translate_live(name: str) -> Graph:
    """What opening ``zoo:NAME`` translates when nothing is prebuilt."""
    from workbench.core import graph as graph_model

    return graph_model.from_model(load(f"zoo:{name}"))


def write_all(folder: Path | None = None) -> list[Path]:
    """Translate every built-in model now and store it (run after changing one)."""
    folder = folder or graphs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in builtin_names():
        stored = {
            "format": FORMAT,
            "source": f"zoo:{name}",
            "torch": _torch_version(),
            "graph": graph_to_dict(translate_live(name)),
        }
        path = folder / f"{name}.json"
        path.write_text(json.dumps(stored, indent=1) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else None):
        print(written_path)
