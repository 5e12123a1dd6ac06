"""The engine's statuses (SPEC section 3) and the one place solver statuses map to them."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # a limit stopped the solver with a solution in hand
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"  # no solution within the limit
    ERROR = "error"


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


#: CLI exit code per status (SPEC section 7)
EXIT_CODE = {Status.OPTIMAL: 0, Status.FEASIBLE: 0, Status.INFEASIBLE: 3,
             Status.NO_SOLUTION: 4, Status.ERROR: 1}
