"""Solver backends: one module each, with a lazy import and capability flags.

Each backend module defines NAME, DESCRIPTION, REPORTS_DUALS, available() and
solve(lp, options) -> RawSolution.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import numpy as np

from ...errors import UsageError
from ..status import Status

#: --solver name -> module
BACKENDS = {"highs": "highs", "glop": "glop", "pdlp": "pdlp", "highs-ortools": "highs_ortools"}
DEFAULT_SOLVER = "highs"


@dataclass(frozen=True)
class SolverOptions:
    solver: str = DEFAULT_SOLVER
    time_limit: float | None = None  # seconds
    threads: int | None = None
    tolerance: float | None = None  # primal/dual feasibility (simplex) or eps_optimal (PDLP)
    verbose: bool = False  # solver log to stderr
    method: str = "auto"  # HiGHS: simplex | ipm | auto (see highs.IPM_ABOVE)
    network_solver: str = "lemon"  # the min-cost-flow stage: lemon (pylmcf) | ortools

    def as_dict(self) -> dict:
        return {"name": self.solver, "method": self.method, "time_limit": self.time_limit,
                "threads": self.threads, "tolerance": self.tolerance}


@dataclass
class RawSolution:
    status: Status
    backend_status: str
    values: np.ndarray | None = None  # primal values per variable
    duals: np.ndarray | None = None  # per row, convention c = A^T y + d (y >= 0 on active >= rows)
    reduced_costs: np.ndarray | None = None
    objective: float | None = None  # as reported by the solver
    seconds: float = 0.0
    info: dict = field(default_factory=dict)
    kkt: object = None  # a KKTReport when the duals were already checked (network certificate)


def get_backend(name: str):
    if name not in BACKENDS:
        raise UsageError(f"unknown solver {name!r}; choose one of {', '.join(BACKENDS)}")
    mod = importlib.import_module(f".{BACKENDS[name]}", __name__)
    if not mod.available():
        raise UsageError(f"solver {name!r} is not available here: {mod.INSTALL_HINT}")
    return mod
