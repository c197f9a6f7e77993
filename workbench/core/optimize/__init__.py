"""`workbench optimize`: a measured search over pruning, recovery and quantization that
returns the Pareto front (issue 22).

``config`` declares the settings (CLI flags are generated from ``OptimizeConfig``),
``space`` the candidates (each a chain of registered passes, i.e. a recipe),
``runner`` runs and measures them against the original within a wall-clock budget and
emits one event per finished candidate, ``front`` finds the Pareto front and the chosen
point, ``report`` writes ``pareto.json``, ``report.md`` and ``recipe.yaml``.
"""

from workbench.core.optimize.config import OptimizeConfig, parse_budget
from workbench.core.optimize.runner import (
    CandidateFinished,
    CandidateSkipped,
    SearchResult,
    SearchStarted,
    optimize,
)

__all__ = [
    "CandidateFinished",
    "CandidateSkipped",
    "OptimizeConfig",
    "SearchResult",
    "SearchStarted",
    "optimize",
    "parse_budget",
]
