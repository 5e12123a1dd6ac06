"""The engine's statuses, which of them carry a plan, and their exit codes; the one place
solver statuses map to them (docs/OUTPUTS.md lists them)."""

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


#: statuses whose plan tables describe a plan that may be checked, evaluated and carried out
HAS_PLAN = frozenset({Status.OPTIMAL, Status.FEASIBLE})

#: exit codes of the command line
EXIT_OK = 0
EXIT_INTERNAL = 1  # internal error
EXIT_USAGE = 2  # usage error, invalid instance, or a plan refused as not optimal/feasible
EXIT_INFEASIBLE = 3  # infeasible, or a plan that fails check
EXIT_NO_SOLUTION = 4  # no solution within the limit

#: exit code per status
EXIT_CODE = {Status.OPTIMAL: EXIT_OK, Status.FEASIBLE: EXIT_OK, Status.INFEASIBLE: EXIT_INFEASIBLE,
             Status.NO_SOLUTION: EXIT_NO_SOLUTION, Status.ERROR: EXIT_INTERNAL}


def exit_code(status: Status | str, check_failed: bool = False) -> int:
    """The exit code of a solve: a plan that failed the independent check is exit 3."""
    status = Status(status)
    if status == Status.ERROR and check_failed:
        return EXIT_INFEASIBLE
    return EXIT_CODE[status]
