"""What a search leaves in its folder: ``pareto.json`` (every candidate with its figures
and whether it is on the front), ``report.md`` (the front, readable) and ``recipe.yaml``
(the chosen point's steps, which `workbench run recipe.yaml --out X` replays)."""

from __future__ import annotations

import json
from typing import Any

from workbench.core.io.atomic import atomic_write_text
from workbench.core.optimize.front import ORIGINAL, choose, cost, front_keys

PARETO_FILE = "pareto.json"


def conditions_of(search: Any) -> dict[str, Any]:
    """How every candidate of ``search`` was timed, as pareto.json records it."""
    config = search.config
    return {"runtime": "onnxruntime", "device": config.device, "threads": search.threads,
            "batches": list(config.batch), "rounds": config.rounds,
            "interleaved": True}  # fmt: skip


RECIPE_FILE = "recipe.yaml"
REPORT_FILE = "report.md"


def write_outputs(search: Any, state: str) -> None:
    """Rewrite the three files from the search so far (after every candidate)."""
    from workbench.core.config_schema import config_to_dict

    config = search.config
    records = search.records
    front = front_keys(records, config.objective) if records else []
    floor = records[0]["top1"] - config.max_drop / 100 if records else None
    chosen = choose(records, config.objective, floor) if records else None
    document = {
        "schema": 1,
        "source": search.source,
        "data": search.data_name,
        "state": state,  # running, done, budget, cancelled
        "elapsed_s": round(search.elapsed, 2),
        "config": config_to_dict(config),
        "conditions": {**conditions_of(search), "threads_note": search.threads_note},
        "floor_top1": floor,
        "chosen": chosen["key"] if chosen else None,
        "front": front,
        "candidates": [{**r, "on_front": r["key"] in front} for r in records],
        "skipped": search.skipped,
        "proxies": search.proxies,
        "sensitivity": search.sensitivity,
    }
    out = search.out
    atomic_write_text(out / PARETO_FILE, json.dumps(document, indent=2, default=str))
    atomic_write_text(out / REPORT_FILE, markdown(document))
    if chosen is not None:
        atomic_write_text(out / RECIPE_FILE, recipe_text(search, chosen))


def recipe_text(search: Any, chosen: dict[str, Any]) -> str:
    from workbench.core.recipe import Recipe, RecipeStep

    steps = [RecipeStep(s["pass"], dict(s["config"])) for s in chosen["steps"]]
    recipe = Recipe(steps, model=search.source, data=search.data_name, seed=search.config.seed)
    head = (f"# workbench optimize: {chosen['key']}, chosen for {search.config.objective} "
            f"within {search.config.max_drop:g} point(s) of the original\n")  # fmt: skip
    return head + recipe.to_yaml()


def markdown(document: dict[str, Any]) -> str:
    """The front first, then every candidate, then what was skipped and why."""
    config, conditions = document["config"], document["conditions"]
    objective = config["objective"]
    batches = [str(b) for b in conditions["batches"]]
    lines = [
        f"# Optimize: {document['source']} on {document['data']}",
        "",
        f"Objective: {objective}, at most {config['max_drop']:g} top-1 point(s) below the "
        f"original; state: {document['state']} after {document['elapsed_s']:.0f} s of a "
        f"{config['budget']} budget.",
        "",
        f"Latency: ONNX Runtime on {conditions['device']}, {conditions['threads_note']}, "
        f"batch {', '.join(batches)}; each candidate timed in {conditions['rounds']} "
        "rounds interleaved with the original (speed-ups are of the same rounds).",
        "",
    ]
    chosen = document["chosen"]
    lines += [f"Chosen: **{chosen}** (`recipe.yaml`; replay: `workbench run recipe.yaml --out DIR`)"
              if chosen else "Chosen: none yet within the accuracy floor.", ""]  # fmt: skip
    header = ["candidate", "top-1", "top-1 vs original (points)", *[f"ms b{b}" for b in batches],
              *[f"speed-up b{b}" for b in batches], "size", "MACs"]  # fmt: skip
    records = document["candidates"]
    front = [r for r in records if r["on_front"]]
    for title, rows in (("Pareto front", front), ("All candidates", records)):
        rows = sorted(rows, key=lambda r: cost(r, objective) or 0.0)
        lines += [f"## {title}", "", "| " + " | ".join(header) + " |",
                  "|" + "---|" * len(header)]  # fmt: skip
        lines += ["| " + " | ".join(_cells(r, batches, chosen)) + " |" for r in rows]
        lines.append("")
    if document["skipped"]:
        lines += ["## Not run", ""]
        lines += [f"- {s['key']}: {s['reason']}" for s in document["skipped"]]
        lines.append("")
    return "\n".join(lines)


def _cells(record: dict[str, Any], batches: list[str], chosen: str | None) -> list[str]:
    name = record["key"] + (" (chosen)" if record["key"] == chosen else "")
    latency = record.get("latency_ms") or {}
    speedup = record.get("speedup") or {}
    top1 = record.get("top1")
    drop = record.get("drop_points")
    return [
        name,
        "—" if top1 is None else f"{100 * top1:.2f} %",
        "—" if record["key"] == ORIGINAL or drop is None else f"{-drop:+.2f}",
        *[f"{latency[b]:.3f}" if b in latency else "—" for b in batches],
        *[f"{speedup[b]:.2f}x" if b in speedup else "—" for b in batches],
        f"{record['size_bytes'] / 1024:.1f} KiB",
        "—" if record.get("macs") is None else f"{record['macs'] / 1e6:.2f} M",
    ]
