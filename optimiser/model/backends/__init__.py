"""Solver backends: one module each, with a lazy import and capability flags.

A backend is anything with the attributes of `Backend` (a module here, or any object
registered with `register_backend`). Code that has to know what a backend can do reads
its capability flags, never its name: solve.py starts a solver from the network's basis
only when it ACCEPTS_BASIS, takes duals only from one that GIVES_DUALS, and checks them
with a looser primal tolerance when it is not EXACT_VERTEX; the duals a backend could
not give are re-derived, and infeasibility is explained, with the first available
backend that gives duals at an exact vertex (`backends_with`).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from ...errors import UsageError
from ..status import Status

#: solver name (the `solver=` argument) -> its module, or a registered Backend object;
#: in order of preference where a flag chooses among them (backends_with)
BACKENDS: dict[str, object] = {"highs": "highs", "glop": "glop", "pdlp": "pdlp",
                               "highs-ortools": "highs_ortools"}
DEFAULT_SOLVER = "highs"


@functools.cache
def installed(module: str) -> bool:
    """Whether `module` can be imported, found without importing it (the import costs tens
    of milliseconds, and a solve the network certificate answers never needs it); asked
    once per process (a search of sys.path costs ~4 ms, and a Session asks per solve)."""
    from importlib.util import find_spec

    return find_spec(module) is not None


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


@runtime_checkable
class Backend(Protocol):
    """What a solver backend declares, once, and what it does.

    Every backend honours SolverOptions.time_limit and .tolerance, and those that can
    use threads honour .threads (GLOP is single-threaded; its DESCRIPTION says so); the
    flags below are what the engine decides on. A new decision that depends on the
    backend gets a flag here, never a test of the backend's name."""

    NAME: str  # the `solver=` name
    DESCRIPTION: str  # one line, written to summary.json (solver.backend)
    INSTALL_HINT: str  # what to install when available() is false
    #: row duals worth a KKT check come back (False: none are taken from it; re-derived)
    GIVES_DUALS: bool
    #: an exact vertex (simplex, or interior point with crossover); False: optimal to a
    #: tolerance (first-order), its duals checked with a looser primal tolerance
    EXACT_VERTEX: bool
    #: solve(lp, options, start=point, basis=(col_status, row_status)) starts from a
    #: primal point or a basis (HighsBasisStatus codes): the network warm start
    ACCEPTS_BASIS: bool

    def available(self) -> bool: ...

    def solve(self, lp, options: SolverOptions) -> RawSolution: ...


def register_backend(backend: Backend) -> None:
    """Make `backend` solvable by name (solve(..., solver=backend.NAME))."""
    if not isinstance(backend, Backend):
        raise TypeError(f"{backend!r} lacks what a Backend declares: "
                        f"{', '.join(sorted(_members()))}")
    BACKENDS[backend.NAME] = backend


def _members() -> set[str]:
    return {n for n in Backend.__annotations__} | {"available", "solve"}


def _load(name: str):
    entry = BACKENDS[name]
    return importlib.import_module(f".{entry}", __name__) if isinstance(entry, str) else entry


def get_backend(name: str) -> Backend:
    if name not in BACKENDS:
        raise UsageError(f"unknown solver {name!r}; choose one of {', '.join(BACKENDS)}")
    backend = _load(name)
    if not backend.available():
        raise UsageError(f"solver {name!r} is not available here: {backend.INSTALL_HINT}")
    return backend


def backends_with(exclude: str | None = None, **flags: bool) -> Iterator[Backend]:
    """The available registered backends whose flags have the given values, in registry
    order, e.g. backends_with(GIVES_DUALS=True, EXACT_VERTEX=True)."""
    for name in list(BACKENDS):
        if name == exclude:
            continue
        backend = _load(name)
        if all(getattr(backend, k) == v for k, v in flags.items()) and backend.available():
            yield backend
