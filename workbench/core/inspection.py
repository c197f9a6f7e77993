"""Open a model and describe it: the one function `workbench inspect` and the app share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.graph.model import Graph
from workbench.core.graph.prebuilt import prebuilt_graph
from workbench.core.io import load
from workbench.core.io.arch_ref import ArchRef
from workbench.core.io.loaded import LoadedModel


@dataclass
class Inspection:
    loaded: LoadedModel
    graph: Graph
    summary: dict[str, Any]  # what `workbench inspect --json` prints


def inspect_model(
    source: str | Path,
    *,
    arch: ArchRef | str | None = None,
    trust: bool = False,
    shapes: dict[str, tuple[int, ...]] | None = None,
    top: int = 10,
    prebuilt: bool = True,
) -> Inspection:
    """Load ``source`` (a file or ``zoo:NAME``), build its graph and summarise it.

    A built-in zoo model's graph comes from ``resources/zoo_graphs`` when ``prebuilt``
    allows and the file still applies (``graph.prebuilt``), instead of a torch.export trace.
    """
    from workbench.core import graph as graph_model

    loaded = load(source, arch=arch, trust=trust, shapes=shapes)
    ready = prebuilt_graph(str(source)) if prebuilt and not shapes else None
    graph = ready or graph_model.from_model(loaded)
    return Inspection(loaded, graph, graph_model.summarize(graph, loaded, top=top))
