"""LEMON's network simplex with arc mixing off: fresh solves and kept graphs (lemon_native.cpp).

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
says which; `optimiser solve --json` reports it as `network_engine`.

`KeptGraph` is the same library's graph held between solves (a Session's, the reliability
loop's): LEMON's `NetworkSimplex` restarted from its last spanning tree exactly as
pylmcf's `Graph` restarts it (`warmRun`, dual-ratio repair, LEMON's own warm/cold
counters), with arc mixing off, and its solves release the interpreter lock too, so the
commodity blocks of a re-solve restart side by side in threads. It has the methods of
`pylmcf.Graph` that model/network.py uses, so either serves as a session's graph.
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
    """The library with its entry points' signatures, or None (absent, or built before
    one of them existed: `make setup` rebuilds it)."""
    if path is None or not Path(path).is_file():
        return None
    p, i, v = ctypes.POINTER(ctypes.c_int64), ctypes.c_int, ctypes.c_void_p
    try:
        lib = ctypes.CDLL(path)
        sig = {"optimiser_lemon_solve": ([ctypes.c_int64, ctypes.c_int64, p, p, p, p, p, i, i, i,
                                          p, p], i),
               "optimiser_lemon_graph_new": ([ctypes.c_int64, ctypes.c_int64, p, p, i, i,
                                              ctypes.c_double], v),
               "optimiser_lemon_graph_solve": ([v, p, p, p, i, i, p, p, p], i),
               "optimiser_lemon_graph_canonical": ([v, p], i),
               "optimiser_lemon_graph_free": ([v], None)}
        for name, (args, res) in sig.items():
            fn = getattr(lib, name)
            fn.argtypes, fn.restype = args, res
    except (OSError, AttributeError):
        return None
    return lib


def _library():
    path = library_path()
    return _load(None if path is None else str(path))


def available() -> bool:
    """Whether the compiled library is there (else every solve takes pylmcf)."""
    return _library() is not None


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
    lib = _library()
    if lib is None:
        raise RuntimeError("the compiled LEMON library is not available (make setup builds it)")
    fn = lib.optimiser_lemon_solve
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
    _raise(status)


def _raise(status: int):
    if status == INFEASIBLE:
        raise RuntimeError("INFEASIBLE")
    if status == UNBOUNDED:
        raise RuntimeError("UNBOUNDED")
    raise ValueError("LEMON refused the network (nodes out of range, arcs not sorted by "
                     "(tail, head), a negative capacity or cost, a cost of 2^62 or more, "
                     "or an internal error)")


#: LEMON's warm-restart repairs, as lemon_native.cpp numbers them
REPAIRS = ("repair_only", "dual", "primal", "dual_ratio", "dual_greedy")


def _ptr(a: np.ndarray):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_int64))


class KeptGraph:
    """LEMON's network simplex kept between solves, arc mixing off (see the module
    docstring). The subset of `pylmcf.Graph`'s interface that model/network.py uses:
    set the supplies, capacities and costs (arcs sorted by (tail, head), fixed at
    construction), `solve()` (from the last tree when there is one; RuntimeError
    "INFEASIBLE" as pylmcf), then `result()` (flows), `raw_potentials()` (LEMON's tree
    potentials), `potentials()` (pylmcf's canonical ones) and LEMON's warm-start,
    cold-start and policy-cold counters."""

    def __init__(self, n_nodes: int, tails: np.ndarray, heads: np.ndarray,
                 repair: str = "dual_ratio", budget: float = 0.0, arc_mixing: bool = False):
        lib = _library()
        if lib is None:
            raise RuntimeError("the compiled LEMON library is not available (make setup "
                               "builds it)")
        t = np.ascontiguousarray(tails, dtype=np.int64)
        h = np.ascontiguousarray(heads, dtype=np.int64)
        if len(t) != len(h):
            raise ValueError("tails and heads of different lengths")
        self._lib, self.n_nodes, self.n_arcs = lib, int(n_nodes), len(t)
        self._handle = None
        if self.n_nodes == 0 and self.n_arcs == 0:  # as pylmcf: optimal at cost 0
            self._empty = True
        else:
            self._empty = False
            self._handle = lib.optimiser_lemon_graph_new(self.n_nodes, self.n_arcs, _ptr(t),
                                                         _ptr(h), int(arc_mixing),
                                                         REPAIRS.index(repair), float(budget))
            if not self._handle:
                raise ValueError("LEMON refused the graph (nodes out of range, or arcs not "
                                 "sorted by (tail, head))")
        self._supply = np.zeros(self.n_nodes, dtype=np.int64)
        self._caps = np.zeros(self.n_arcs, dtype=np.int64)
        self._costs: np.ndarray | None = None  # new costs to push at the next solve
        self._flow = np.zeros(self.n_arcs, dtype=np.int64)
        self._pot = np.zeros(self.n_nodes, dtype=np.int64)
        self._counters = np.zeros(4, dtype=np.int64)
        self._solved = False

    def __del__(self):
        if getattr(self, "_handle", None):
            self._lib.optimiser_lemon_graph_free(self._handle)
            self._handle = None

    def _set(self, values, n: int, what: str) -> np.ndarray:
        a = np.ascontiguousarray(values, dtype=np.int64)
        if a.shape != (n,):
            raise ValueError(f"{what}: {n} values expected, got shape {a.shape}")
        self._solved = False
        return a.copy()

    def set_node_supply(self, supply) -> None:
        self._supply = self._set(supply, self.n_nodes, "supplies")

    def set_edge_capacities(self, caps) -> None:
        self._caps = self._set(caps, self.n_arcs, "capacities")

    def set_edge_costs(self, costs) -> None:
        self._costs = self._set(costs, self.n_arcs, "costs")

    def solve(self) -> None:
        if self._empty:
            self._solved = True
            return
        costs = None if self._costs is None else _ptr(self._costs)
        status = self._lib.optimiser_lemon_graph_solve(
            self._handle, _ptr(self._caps), costs, _ptr(self._supply), 0, 0,
            _ptr(self._flow), _ptr(self._pot), _ptr(self._counters))
        self._solved = status == OPTIMAL
        if status != OPTIMAL:
            _raise(status)
        self._costs = None

    def _need_solved(self):
        if not self._solved:
            raise RuntimeError("solve() must succeed before reading the solution")

    def result(self) -> np.ndarray:
        self._need_solved()
        return self._flow.copy()

    def raw_potentials(self) -> np.ndarray:
        self._need_solved()
        return self._pot.copy()

    def potentials(self) -> np.ndarray:
        self._need_solved()
        out = np.zeros(self.n_nodes, dtype=np.int64)
        if not self._empty and self._lib.optimiser_lemon_graph_canonical(
                self._handle, _ptr(out)) != OPTIMAL:
            raise RuntimeError("LEMON: no canonical potentials (internal error)")
        return out

    def warm_start_count(self) -> int:
        return int(self._counters[0])

    def cold_start_count(self) -> int:
        return int(self._counters[1])

    def policy_cold_count(self) -> int:
        return int(self._counters[2])
