"""The one place solver statuses map to the engine's statuses (optimiser/status.py)."""

from __future__ import annotations

from ..status import (  # noqa: F401  (re-exported: the statuses and exit codes live there)
    EXIT_CODE,
    EXIT_INFEASIBLE,
    EXIT_INTERNAL,
    EXIT_NO_SOLUTION,
    EXIT_OK,
    EXIT_USAGE,
    HAS_PLAN,
    Status,
    exit_code,
)

#: (backend family, solver status name) -> Status, for statuses reached at termination.
#: "limit" statuses become FEASIBLE or NO_SOLUTION depending on whether a primal point exists.
STATUS_MAP: dict[tuple[str, str], Status | str] = {
    # OR-Tools model builder (GLOP, PDLP, HiGHS through OR-Tools)
    ("ortools", "OPTIMAL"): Status.OPTIMAL,
    ("ortools", "FEASIBLE"): Status.FEASIBLE,
    ("ortools", "INFEASIBLE"): Status.INFEASIBLE,
    ("ortools", "UNBOUNDED"): Status.ERROR,  # impossible: costs >= 0 and variables >= 0
    ("ortools", "NOT_SOLVED"): "limit",
    ("ortools", "CANCELLED_BY_USER"): "limit",
    ("ortools", "ABNORMAL"): Status.ERROR,
    ("ortools", "UNKNOWN_STATUS"): "limit",
    ("ortools", "MODEL_INVALID"): Status.ERROR,
    ("ortools", "INVALID_SOLVER_PARAMETERS"): Status.ERROR,
    ("ortools", "SOLVER_TYPE_UNAVAILABLE"): Status.ERROR,
    ("ortools", "INCOMPATIBLE_OPTIONS"): Status.ERROR,
    # highspy
    ("highs", "kOptimal"): Status.OPTIMAL,
    ("highs", "kInfeasible"): Status.INFEASIBLE,
    ("highs", "kUnboundedOrInfeasible"): Status.INFEASIBLE,  # objective is bounded below by 0
    ("highs", "kUnbounded"): Status.ERROR,
    ("highs", "kTimeLimit"): "limit",
    ("highs", "kIterationLimit"): "limit",
    ("highs", "kInterrupt"): "limit",
    ("highs", "kHighsInterrupt"): "limit",
    ("highs", "kSolutionLimit"): "limit",
    ("highs", "kObjectiveBound"): "limit",
    ("highs", "kObjectiveTarget"): "limit",
    ("highs", "kModelEmpty"): Status.OPTIMAL,
}


def map_status(family: str, name: str, has_solution: bool) -> Status:
    s = STATUS_MAP.get((family, name), Status.ERROR)
    if s == "limit":
        return Status.FEASIBLE if has_solution else Status.NO_SOLUTION
    return Status(s)
