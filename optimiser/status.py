"""The engine's statuses, which of them carry a plan, and their exit codes, once.

docs/OUTPUTS.md lists them; optimiser/model/status.py maps each solver's statuses here.
Status is a StrEnum, so comparing with the plain strings ("optimal") keeps working.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # a limit stopped the solver with a solution in hand
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"  # no solution within the limit
    ERROR = "error"


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
