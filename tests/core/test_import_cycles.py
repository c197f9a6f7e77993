"""No import cycle among the project's modules, and any module imports first in a fresh process.

import-linter (``make lint``) checks the layers and cycles between sibling packages;
this checks single modules, with grimp (which import-linter uses). grimp counts imports
inside functions and under ``TYPE_CHECKING`` too, so a cycle cannot hide behind either.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator

import grimp
import pytest

# Known cycles owned by work in progress elsewhere, as the imports that close them. Each
# is cut before the search, so any other cycle still fails; one that no longer exists
# fails too, so that its line is deleted here and the check is whole again.
KNOWN_CYCLE_IMPORTS: tuple[tuple[str, str], ...] = ()


def strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the groups of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def imports(module: str) -> Iterator[str]:
        return iter(sorted(graph.find_modules_directly_imported_by(module)))

    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, imports(root))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, imports(child)))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def cycle_path(graph: grimp.ImportGraph, group: list[str]) -> str:
    """One cycle through the group's first module, as ``a -> b -> ... -> a``."""
    start = group[0]
    inside = [m for m in sorted(graph.find_modules_directly_imported_by(start)) if m in group]
    chains = [graph.find_shortest_chain(importer=m, imported=start) for m in inside]
    shortest = min((c for c in chains if c), key=len)
    return " -> ".join([start, *shortest])


def test_the_project_modules_import_each_other_without_cycles() -> None:
    graph = grimp.build_graph("workbench", cache_dir=None)
    gone = [
        f"{a} -> {b}"
        for a, b in KNOWN_CYCLE_IMPORTS
        if not graph.direct_import_exists(importer=a, imported=b)
    ]
    assert not gone, f"no longer imported; delete from KNOWN_CYCLE_IMPORTS: {gone}"
    for importer, imported in KNOWN_CYCLE_IMPORTS:
        graph.remove_import(importer=importer, imported=imported)
    cycles = [cycle_path(graph, group) for group in strongly_connected(graph)]
    if cycles:
        pytest.fail("import cycles:\n" + "\n".join(cycles), pytrace=False)


def test_the_cycle_search_reports_a_cycle_with_its_path() -> None:
    graph = grimp.ImportGraph()
    for name in ("p", "p.a", "p.b", "p.c", "p.d"):
        graph.add_module(name)
    for importer, imported in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")):
        graph.add_import(importer=importer, imported=imported)
    groups = strongly_connected(graph)
    assert groups == [["p.a", "p.b", "p.c"]]
    assert cycle_path(graph, groups[0]) == "p.a -> p.b -> p.c -> p.a"


def test_every_module_imports_first_in_a_fresh_process() -> None:
    """A package ``__init__`` that imports its submodules makes cycles grimp's module
    graph does not show (importing ``a.b.c`` runs ``a/b/__init__.py`` first); importing
    each module with no other workbench module loaded finds them."""
    code = textwrap.dedent(
        """
        import importlib, pkgutil, sys
        import workbench
        names = sorted(m.name for m in pkgutil.walk_packages(workbench.__path__, "workbench."))
        for name in names[int(sys.argv[1])::2]:
            for loaded in [m for m in sys.modules if m.split(".")[0] == "workbench"]:
                del sys.modules[loaded]
            try:
                importlib.import_module(name)
            except Exception as exc:
                print(f"{name}: {type(exc).__name__}: {exc}")
        """
    )
    # two processes, each on every other module: the two cores halve the ~20 s it takes
    halves = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(half)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for half in (0, 1)
    ]
    outputs = [process.communicate(timeout=300) for process in halves]
    for process, (_, stderr) in zip(halves, outputs, strict=True):
        assert process.returncode == 0, stderr[-2000:]
    failed = "".join(stdout for stdout, _ in outputs)
    if failed.strip():
        pytest.fail("modules that fail to import first:\n" + failed, pytrace=False)
