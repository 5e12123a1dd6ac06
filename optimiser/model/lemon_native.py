"""LEMON's network simplex with arc mixing off, for fresh solves (lemon_native.cpp).

pylmcf constructs LEMON's `NetworkSimplex` with arc mixing on: block search then prices
the arcs in a strided mix of their order. On this project's networks (365-day chains per
pair, arcs sorted by tail so each chain's arcs are consecutive) pricing them in their own
order measured 16-20% faster, for the same pivot count and the same optimum (the 1M tier's
slower block 18.2-18.9 s against 22.3 s; a 100k-tier block 0.26 s against 0.34 s:
docs/BENCHMARKS.md). pylmcf has no switch for it, so `make setup` (scripts/build-lemon.sh)
compiles lemon_native.cpp, a ~90-line C entry point, against the LEMON headers that the
installed pylmcf package ships, into `<venv>/lib/optimiser/liboptimiser_lemon.so`; it is
called through ctypes (which releases the interpreter lock during the call).

Without that library (pylmcf installed without `make setup`, no C++ compiler) every solve
takes pylmcf, as before: same optimum, 16-20% slower on the largest networks. `available()`
says which; `optimiser solve --json` reports it as `network_engine`. A Session keeps
pylmcf's graphs (its warm restarts need them), so only fresh solves use this.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from pathlib import Path

import numpy as np

#: where scripts/build-lemon.sh puts the library (OPTIMISER_LEMON_LIB overrides; set it
#: to an empty string to use pylmcf only)
LIBRARY = Path(sys.prefix) / "lib" / "optimiser" / "liboptimiser_lemon.so"
OPTIMAL, INFEASIBLE, UNBOUNDED, BAD_INPUT = 0, 1, 2, 3
ENGINES = {True: "LEMON network simplex, arc mixing off (optimiser's build of pylmcf's headers)",
           False: "LEMON network simplex (pylmcf)"}


def library_path() -> Path | None:
    env = os.environ.get("OPTIMISER_LEMON_LIB")
    if env is not None:
        return Path(env) if env else None
    return LIBRARY


@functools.cache
def _load(path: str | None):
    if path is None or not Path(path).is_file():
        return None
    try:
        lib = ctypes.CDLL(path)
        fn = lib.optimiser_lemon_solve
    except (OSError, AttributeError):
        return None
    p = ctypes.POINTER(ctypes.c_int64)
    fn.argtypes = [ctypes.c_int64, ctypes.c_int64, p, p, p, p, p, ctypes.c_int, ctypes.c_int,
                   ctypes.c_int, p, p]
    fn.restype = ctypes.c_int
    return fn


def _solver():
    path = library_path()
    return _load(None if path is None else str(path))


def available() -> bool:
    """Whether the compiled library is there (else fresh solves take pylmcf)."""
    return _solver() is not None


def engine() -> str:
    return ENGINES[available()]


#: LEMON's pivot rules, as lemon_native.cpp numbers them
PIVOTS = ("block_search", "altering_list", "candidate_list", "best_eligible", "first_eligible")


def solve(n_nodes: int, tails: np.ndarray, heads: np.ndarray, caps: np.ndarray,
          costs: np.ndarray, supply: np.ndarray, arc_mixing: bool = False,
          canonical: bool = False, pivot: str = "block_search") -> tuple[np.ndarray, np.ndarray]:
    """(flow per arc, potentials per node) of the min-cost flow; arcs sorted by (tail, head),
    costs >= 0, supplies summing to <= 0 (GEQ, as pylmcf). LEMON's own potentials unless
    one carries its artificial cost or `canonical` (then pylmcf's canonical ones). Raises
    RuntimeError("INFEASIBLE") as pylmcf does; ValueError on bad input; RuntimeError if
    the library is not available."""
    fn = _solver()
    if fn is None:
        raise RuntimeError("the compiled LEMON library is not available (make setup builds it)")
    arrays = [np.ascontiguousarray(a, dtype=np.int64) for a in (tails, heads, caps, costs)]
    s = np.ascontiguousarray(supply, dtype=np.int64)
    m = len(arrays[0])
    if any(len(a) != m for a in arrays) or len(s) != n_nodes:
        raise ValueError("arc arrays of different lengths, or supplies not one per node")
    flow = np.empty(m, dtype=np.int64)
    pot = np.empty(n_nodes, dtype=np.int64)
    p = ctypes.POINTER(ctypes.c_int64)
    ptr = [a.ctypes.data_as(p) for a in (*arrays, s, flow, pot)]
    status = fn(n_nodes, m, *ptr[:5], int(arc_mixing), int(canonical), PIVOTS.index(pivot),
                *ptr[5:])
    if status == OPTIMAL:
        return flow, pot
    if status == INFEASIBLE:
        raise RuntimeError("INFEASIBLE")
    if status == UNBOUNDED:
        raise RuntimeError("UNBOUNDED")
    raise ValueError("LEMON refused the network (nodes out of range, arcs not sorted by "
                     "(tail, head), a negative capacity or cost, a cost of 2^62 or more, "
                     "or an internal error)")
