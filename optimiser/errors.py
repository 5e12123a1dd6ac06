"""Exceptions. Outcomes (infeasible, limit reached) are results with a status;
only malfunctions and bad input raise. Everything derives from OptimiserError."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


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


_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def api_spelling(name: str, value: Any = None) -> str:
    """How the API spells an option in a message: its keyword argument (`threads=5`,
    `fmt='csv'`, `force=True`; `window=` without a value)."""
    return f"{name}=" if value is None else f"{name}={show_value(value)}"


def show_value(value: Any) -> str:
    """A value as a message shows it: strings quoted, anything else as printed."""
    return repr(value) if isinstance(value, str) else str(value)


class UsageError(OptimiserError):
    """Bad arguments or parameters (exit status 2).

    A message names an option by a placeholder, its value given by keyword, so that each
    caller reads it in its own words:

        raise UsageError("{threads}: choose 1..4", threads=5)

    str(e) names the API's keyword argument (`threads=5: choose 1..4`); the command line
    prints the same error with its flag (`--threads 5: choose 1..4`, cli/common.py
    `error_text`). A value of None names the option alone (`threads=` / `--threads`);
    True names a switch (`force=True` / `--force`). Only placeholders given by keyword
    are replaced; a message without any is printed as written (`UsageError("text")`).
    """

    def __init__(self, message: str = "", /, **options: Any):
        super().__init__(message)
        self.template = message
        self.options = options

    def render(self, spell: Callable[[str, Any], str] = api_spelling) -> str:
        """The message with each option spelled by spell(name, value)."""
        if not self.options:
            return self.template
        return _PLACEHOLDER.sub(lambda m: spell(m.group(1), self.options[m.group(1)])
                                if m.group(1) in self.options else m.group(0), self.template)

    def __str__(self) -> str:
        return self.render(api_spelling)


class PlanNotUsableError(UsageError):
    """A plan whose status is not optimal or feasible was given where a plan is needed
    (exit status 2); allow non-optimal plans explicitly to proceed."""


class OutputExistsError(UsageError):
    """An output directory exists and replacing it (`force`) was not asked for."""


class SolverError(OptimiserError):
    """A solver backend malfunctioned (not: the LP is infeasible)."""
