"""Exceptions. Outcomes (infeasible, limit reached) are results with a status;
only malfunctions and bad input raise. Everything derives from OptimiserError."""

from __future__ import annotations

from dataclasses import dataclass


class OptimiserError(Exception):
    """Root of every exception the engine raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an instance: where it is and how to fix it."""

    table: str  # e.g. "suppliers.arrow" or "instance.json"
    row: int | None  # 0-based row number in that table, None for whole-table problems
    column: str | None
    message: str  # what is wrong and what to do

    def as_dict(self) -> dict:
        return {"table": self.table, "row": self.row, "column": self.column,
                "message": self.message}

    def __str__(self) -> str:
        where = self.table
        if self.row is not None:
            where += f" row {self.row}"
        if self.column is not None:
            where += f", column {self.column!r}"
        return f"{where}: {self.message}"


class InvalidInstanceError(OptimiserError):
    """The instance breaks the format (docs/FORMAT.md). Carries every problem found."""

    def __init__(self, problems: list[Problem], path: str | None = None):
        self.problems = list(problems)
        self.path = path
        head = f"invalid instance {path}" if path else "invalid instance"
        lines = [f"{head}: {len(self.problems)} problem(s)"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class InvalidPlanError(OptimiserError):
    """A plan directory is missing files or columns, or does not fit its instance."""


class UsageError(OptimiserError):
    """Bad arguments or parameters (exit status 2)."""


class PlanNotUsableError(UsageError):
    """A plan whose status is not optimal or feasible was given where a plan is needed
    (exit status 2); allow non-optimal plans explicitly to proceed."""


class OutputExistsError(UsageError):
    """An output directory exists and --force was not given."""


class SolverError(OptimiserError):
    """A solver backend malfunctioned (not: the LP is infeasible)."""
