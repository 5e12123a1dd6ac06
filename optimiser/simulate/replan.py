"""One replan: the LP of the remaining horizon (or window) built from what is known on
day t, solved with a fixed deterministic configuration, relaxed when infeasible.

The replan's instance is the original one sliced to days t..E-1 (E = min(T, t + W)) and
adjusted (docs/SIMULATE.md): realised stock as initial stock, expected in-transit
shipments added to the pipeline, surge-multiplied demand and zero supplier capacity for
what remains of a surge or outage under way, contracts and budget reduced by what
suppliers already dispatched, the planning floors, and with a short window the end-of-
window stock target. Lanes whose lead time does not fit in the window get no variables
(the LP's own rule for lanes that cannot deliver inside its horizon).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..instance import Instance
from ..model.backends import SolverOptions, get_backend
from ..model.build import LP, build_lp, dispatch_and_rationing
from ..model.status import Status

# the fixed, deterministic configuration of every replan: one thread, dual simplex, no
# time limit, no presolve-dependent randomness beyond HiGHS's own fixed seed
OPTIONS = SolverOptions(solver="highs", threads=1, method="simplex")


@dataclass
class ReplanResult:
    x: np.ndarray  # [L, E - t]
    u: np.ndarray  # [I, E - t]
    status: str
    relaxed: bool
    seconds: float


def window_instance(inst: Instance, t: int, E: int, known, j: int, floors: np.ndarray,
                    params, end_target: np.ndarray | None) -> Instance:
    """The replan instance of scenario j (row j of `known`) over days t..E-1."""
    T = inst.horizon
    Tw = E - t
    cap = inst.capacity[:, t:E].copy()
    out_left = known.outage_left[j]
    for s in np.flatnonzero(out_left > 0):
        cap[inst.sp_supplier == s, :min(int(out_left[s]), Tw)] = 0.0
    dem = inst.demand[:, t:E].copy()
    if params.surges:
        sl = known.surge_left[j]
        for nd in np.flatnonzero(sl > 0):
            dem[inst.nc_node == nd, :min(int(sl[nd]), Tw)] *= params.surge_multiplier
    pipe = inst.pipeline[:, t:E] + known.expected[j][:, t:E]
    used = known.dispatched[j]
    cmax = np.maximum(inst.contract_max - used, 0.0)
    cmin = np.maximum(inst.contract_min - used, 0.0) if E == T else \
        np.zeros_like(inst.contract_min)
    budget = None if inst.budget is None else \
        max(0.0, float(inst.budget) - float(np.dot(inst.unit_price, used)))
    fl = floors[:, t:E].copy()
    if end_target is not None and E < T:
        soft = ~inst.readiness_hard
        fl[soft, -1] = np.maximum(fl[soft, -1], end_target[soft])
    return dataclasses.replace(
        inst, horizon=Tw, capacity=cap, demand=dem, pipeline=pipe, floor=fl,
        initial_stock=np.maximum(known.stock[j], 0.0), contract_min=cmin, contract_max=cmax,
        budget=budget)


def solve_window(winst: Instance, start: str = "network", bases=None) -> ReplanResult:
    """Solve a replan LP; without a budget it splits into one LP per commodity (the
    commodities share no constraint then), each solved the same way.

    start: "network" (LEMON, its tree as HiGHS's basis), "cold" (HiGHS dual simplex from
    scratch; for benchmarks), or "reference" (HiGHS from `bases`, the optimal bases of the
    same day's reference LP, one per block -- see reference_bases; the network start when
    a basis does not fit)."""
    from ..model.decompose import can_decompose, split_by_commodity

    t0 = time.perf_counter()
    if not can_decompose(winst):
        r = _solve_one(winst, start, None if not bases else bases[0])
        r.seconds = time.perf_counter() - t0
        return r
    x = np.zeros((winst.n_lanes, winst.horizon))
    u = np.zeros((winst.n_pairs, winst.horizon))
    statuses, relaxed = [], False
    for k, b in enumerate(split_by_commodity(winst)):
        r = _solve_one(b.instance, start, None if not bases else bases[k])
        x[b.lanes] = r.x
        u[b.pairs] = r.u
        statuses.append(r.status)
        relaxed = relaxed or r.relaxed
    worst = next((s for s in ("error", "no_solution", "infeasible", "feasible") if s in statuses),
                 "optimal")
    return ReplanResult(x=x, u=u, status=worst, relaxed=relaxed,
                        seconds=time.perf_counter() - t0)


def reference_bases(winst: Instance) -> list:
    """The optimal HiGHS basis of each block of a reference replan LP (the day-0 plan's own
    state on that day, no noise): a start for every scenario's replan of the same day,
    whose LPs have the same columns and rows and differ in bounds and right-hand sides.
    A pure function of the day-0 plan and the day, so the same in every chunk, process and
    worker. None for a block whose reference has no optimal basis."""
    from ..model.backends.highs import get_basis
    from ..model.decompose import can_decompose, split_by_commodity

    blocks = [b.instance for b in split_by_commodity(winst)] if can_decompose(winst) \
        else [winst]
    out = []
    for b in blocks:
        lp = build_lp(b)
        sol = _network_started(b, lp)
        ok = sol is not None and sol.status == Status.OPTIMAL
        out.append((lp.A.shape, *get_basis(_thread_highs())) if ok else None)
    return out


def _solve_one(winst: Instance, start: str = "network", basis=None) -> ReplanResult:
    """One block: the network start (LEMON's network simplex on the block's time-expanded
    network, its spanning tree handed to HiGHS as a basis, HiGHS confirming the exact
    vertex -- docs/MODEL.md), else a cold dual simplex; the elastic LP when infeasible."""
    t0 = time.perf_counter()
    lp = build_lp(winst)
    sol = None
    if start == "reference" and basis is not None and basis[0] == lp.A.shape:
        sol = _basis_started(lp, basis[1], basis[2])
    if sol is None and start != "cold" and winst.budget is None:
        sol = _network_started(winst, lp)
    if sol is None:
        sol = get_backend(OPTIONS.solver).solve(lp, OPTIONS)
    relaxed = False
    if sol.status == Status.INFEASIBLE:
        el = relaxed_lp(lp)
        sol = get_backend(OPTIONS.solver).solve(el.lp, OPTIONS)
        relaxed = True
        values = None if sol.values is None else sol.values[:el.n0]
    else:
        values = sol.values
    x, u = dispatch_and_rationing(lp, values)
    return ReplanResult(x=x, u=u, status=sol.status.value, relaxed=relaxed,
                        seconds=time.perf_counter() - t0)


def _network_started(winst: Instance, lp: LP):
    """HiGHS from the network's spanning-tree basis (no iteration when the tree is optimal;
    a few primal simplex ones when rounded data made it nearly so); None when the network
    path does not apply (infeasible network, no basis), then the caller solves cold."""
    from ..model.network import network_start

    try:
        start, _ = network_start(winst, lp)
    except Exception:  # the network path is only a start: the cold LP decides
        return None
    if start is None or start.col_status is None:
        return None
    from ..model.backends.highs import run, set_basis

    h = _thread_highs()
    if not _pass_model(h, lp):
        return None
    set_basis(h, start.col_status, start.row_status)
    sol = run(h, lp, OPTIONS, warm=True)
    if sol.status not in (Status.OPTIMAL, Status.INFEASIBLE):
        return None  # never seen; the cold path has the last word
    return sol


def _basis_started(lp: LP, col_status, row_status):
    """HiGHS simplex from a given basis (a reference replan's): a few iterations when the
    scenario's LP is near the reference. None unless optimal (the caller falls back)."""
    from ..model.backends.highs import run, set_basis

    h = _thread_highs()
    if not _pass_model(h, lp):
        return None
    set_basis(h, col_status, row_status)
    sol = run(h, lp, OPTIONS, warm=True)
    return sol if sol.status == Status.OPTIMAL else None


_LOCAL = threading.local()


def _thread_highs():
    """One HiGHS object per thread, reused by every replan of that thread: the constructor
    (and its banner, discarded once) and the option setting are paid once. passModel
    replaces the model and forgets the previous basis and solution, and every replan sets
    its own basis, so reuse changes no result."""
    h = getattr(_LOCAL, "highs", None)
    if h is None:
        from ..model.backends.highs import make_highs

        empty = LP(instance=None, vars=_EmptyVars(), A=sp.csr_matrix((0, 0)),
                   row_lo=np.zeros(0), row_hi=np.zeros(0), blocks={}, block_meta={})
        h = _LOCAL.highs = make_highs(empty, OPTIONS)
    return h


class _EmptyVars:
    cost = lb = ub = np.zeros(0)


def _pass_model(h, lp: LP) -> bool:
    """passModel straight from the arrays (no HighsLp copied field by field, no stdout
    redirection: output_flag is off, so HiGHS writes nothing)."""
    import highspy

    m, n = lp.A.shape
    A = lp.A
    st = h.passModel(int(n), int(m), int(A.nnz), int(highspy.MatrixFormat.kRowwise),
                int(highspy.ObjSense.kMinimize), 0.0,
                np.ascontiguousarray(lp.vars.cost, np.float64),
                np.ascontiguousarray(lp.vars.lb, np.float64),
                np.ascontiguousarray(lp.vars.ub, np.float64),
                np.ascontiguousarray(lp.row_lo, np.float64),
                np.ascontiguousarray(lp.row_hi, np.float64),
                np.ascontiguousarray(A.indptr, np.int32), np.ascontiguousarray(A.indices, np.int32),
                np.ascontiguousarray(A.data, np.float64), np.zeros(n, np.int32))
    return st == highspy.HighsStatus.kOk


def relaxed_lp(lp: LP):
    """The replan LP with every hard requirement that realised stock can make impossible
    (hard floors, storage limits, contract minimums; not the budget) allowed to give way
    at a price above every other cost coefficient (10 x the largest, at least 1e7), the
    costs of the LP kept: model/infeasible.elastic_lp, the engine's one relaxation."""
    from ..model.infeasible import elastic_lp

    big = max(1e7, 10.0 * float(np.max(np.abs(lp.vars.cost), initial=0.0)))
    return elastic_lp(lp, budget=False, price=big)
