"""How many threads a measured search times on: one on machines with few cores.

With ONNX Runtime's default (a thread per core) on a 2-core machine shared with other
work, timings of one model spread 8.7-32 ms (#22): every neighbour's burst takes a
core the session counted on. One thread leaves the others to the neighbours, and a
search ranks candidates by figures that repeat. On larger machines the default stays,
since one thread would under-use them and deployments rarely pin to one.
"""

from __future__ import annotations

import os

FEW_CORES = 4  # at or below this many usable cores, searches time on one thread


def usable_cores() -> int:
    """Cores this process may run on (its affinity where the OS tells, else all)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS, Windows
        return os.cpu_count() or 1


def search_threads(
    requested: int | None = None, cores: int | None = None
) -> tuple[int | None, str]:
    """(intra-op threads for a search's timings, the sentence saying why).

    ``requested``: what the user asked for (``--threads``), which always wins; else 1
    on machines with at most ``FEW_CORES`` cores, and the runtime's default (None) above.
    """
    cores = usable_cores() if cores is None else cores
    if requested is not None:
        plural = "s" if requested != 1 else ""
        return requested, f"timing on {requested} thread{plural}, as asked"
    if cores <= FEW_CORES:
        return 1, (
            f"timing on 1 thread: this machine has {cores} core{'s' if cores != 1 else ''}, "
            "where the default (a thread per core) swings with other programs' load; "
            "--threads N to change"
        )
    return None, f"timing on the runtime's default threads ({cores} cores)"
