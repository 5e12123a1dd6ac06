"""The reliability LP, kept warm across the loop: only the planning floors change.

One HiGHS model per commodity block (one for the whole instance when a budget couples
them), built once from the instance with

- every protected pair's floor replaced by its planning floor, as rows s + r >= P
  with r priced at a penalty BIG far above any cost of holding a unit (so r > 0 only
  where no plan can hold P: the buffer is out of reach, which the loop reads as a limit);
- consumption rationed no more than in the expected-demand plan (u <= baseline u);

and re-solved after each change of P by changing row and column bounds only, so HiGHS
restarts from the previous optimal basis (warm dual simplex). The solver configuration
is fixed — dual simplex, one thread, no time limit — so the same P gives the same bits
whatever the machine's thread count. Where r = 0 the solution is the optimum of the LP
with P as a hard lower bound on stock; where r > 0 it is the optimum of the hard LP at
the reachable floors min(P, s) (any plan holding those floors pays no more penalty).

How a re-solve starts (`method`; the loop uses "warm", benchmarks/bench_reliability.py
--compare-lp measures all three on the loop's own sequence of floors): "warm" keeps the
previous optimal basis, which stays dual feasible when only bounds move, so dual simplex
repairs the rows the raise broke; "cold" clears it and solves from scratch with presolve
(measured on the 100k-few tier: 4-160x slower per re-solve, about 120,000 iterations each,
while warm ones fall to a few dozen as the raises get small); "network" hands HiGHS the basis of the min-cost flow of
the current bounds (optimiser.model.network), which for this LP is not dual feasible on a
few dozen tree arcs, so primal simplex needs ~14,000 iterations (slower than warm).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from ..execution import thread_map
from ..instance import Instance
from ..model.backends import RawSolution, SolverOptions
from ..model.build import LP, build_lp, dispatch_and_rationing
from ..model.decompose import can_decompose, split_by_commodity
from ..model.status import Status, map_status

OPTIONS = SolverOptions(solver="highs", time_limit=None, threads=1, method="simplex")
METHODS = ("network", "warm", "cold")
TINY = 1e-9  # placeholder floor so every candidate (pair, day) has its row from the start


def big_penalty(inst: Instance) -> float:
    """A price per unit of unreached planning floor above the cost of any way to hold a unit."""
    T = inst.horizon
    price = float(np.max(inst.lane_price + inst.lane_cost, initial=0.0))
    hold = float(np.max(inst.holding_cost, initial=0.0))
    lane = float(np.max(inst.lane_cost, initial=0.0)) * max(1, len(inst.node_names))
    pen = float(np.max(inst.readiness_penalty, initial=0.0))
    return max(1e4, 100.0 * (price + lane + T * hold + pen))


@dataclass
class _Block:
    pairs: np.ndarray  # block pair -> full pair
    lanes: np.ndarray
    lp: LP
    highs: object
    rows: np.ndarray  # readiness row ids (in the LP)
    r_cols: np.ndarray  # the r variable of each readiness row
    row_pair: np.ndarray  # full pair of each readiness row
    row_day: np.ndarray
    s_cols: np.ndarray  # stock variables of the candidate pairs
    s_pair: np.ndarray  # their full pair
    s_day: np.ndarray
    s_ub: np.ndarray  # their upper bound (max_stock)
    sub: Instance | None = None  # the block's instance (planning floors as soft floors)
    keep: dict | None = None  # the network path's retained LEMON graph and scales
    sol: RawSolution | None = None
    seconds: float = 0.0
    iterations: int = 0
    network_seconds: float = 0.0
    how: str = ""


@dataclass
class LPResult:
    status: Status
    x: np.ndarray  # [L, T]
    u: np.ndarray  # [I, T]
    s: np.ndarray  # [I, T]
    unreached: np.ndarray  # [I, T] r: planning floor the LP could not hold
    dual: np.ndarray  # [I, T] marginal cost of one more unit of planning floor (0 off rows)
    seconds: float  # wall of this solve (blocks concurrently)
    iterations: int  # simplex iterations, all blocks


class ReliabilityLP:
    """The warm LP session of one reliability run. `solve(P)` -> LPResult."""

    def __init__(self, inst: Instance, candidates: np.ndarray, unmet_cap: np.ndarray,
                 workers: int = 1, start=None, method: str = "network"):
        """start: (x, s, u) of a plan (the expected-demand one) to start the first solve
        from; it satisfies every row (r takes up any deficit below the planning floor).
        method: "network" (each solve starts from the min-cost-flow basis of the current
        bounds, LEMON restarting from its last tree; blocks without a budget), "warm"
        (HiGHS dual simplex from the previous basis) or "cold" (HiGHS from scratch each
        time, presolve included; for comparison)."""
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
        self.method = method
        self.inst = inst
        self.big = big_penalty(inst)
        self.workers = max(1, int(workers))
        cand = np.asarray(candidates, bool)
        floor = np.where(cand[:, None], np.maximum(inst.floor, TINY), inst.floor)
        mod = dataclasses.replace(
            inst, floor=floor, readiness_hard=np.where(cand, False, inst.readiness_hard),
            readiness_penalty=np.where(cand, self.big, inst.readiness_penalty))
        if can_decompose(mod):
            parts = [(b.instance, b.pairs, b.lanes) for b in split_by_commodity(mod)]
        else:
            parts = [(mod, np.arange(inst.n_pairs), np.arange(inst.n_lanes))]
        t = time.perf_counter()
        self.blocks = [self._block(sub, pairs, lanes, unmet_cap[pairs], cand[pairs])
                       for sub, pairs, lanes in parts]
        self.build_seconds = time.perf_counter() - t
        self.solves: list[dict] = []
        self._start = start

    def _block(self, sub: Instance, pairs, lanes, cap, cand) -> _Block:
        from ..model.backends.highs import make_highs

        lp = build_lp(sub, unmet_cap=cap)
        h = make_highs(lp, OPTIONS)
        sl = lp.blocks["readiness"]
        rows = np.arange(sl.start, sl.stop, dtype=np.int32)
        flat = lp.block_meta["readiness"]["flat"]
        T = sub.horizon
        r_cols = (lp.vars.r_start + np.arange(len(flat))).astype(np.int32)
        sflat = (np.flatnonzero(cand)[:, None] * T + np.arange(T)[None, :]).ravel()
        s_cols = (lp.vars.s_start + sflat).astype(np.int32)
        return _Block(pairs=pairs, lanes=lanes, lp=lp, highs=h, rows=rows, r_cols=r_cols,
                      row_pair=pairs[flat // T], row_day=flat % T, s_cols=s_cols,
                      s_pair=pairs[sflat // T], s_day=sflat % T,
                      s_ub=lp.vars.ub[s_cols].copy(), sub=sub, keep={})

    def solve(self, planning_floor: np.ndarray, hard: np.ndarray | None = None) -> LPResult:
        """Solve with rows s + r >= planning_floor and, where given, s >= hard (a floor
        known to be reachable, e.g. a lower frontier target's: keeps the frontier nested)."""
        t = time.perf_counter()
        if hard is None:
            hard = np.zeros_like(planning_floor)
        start, self._start = self._start, None

        def one(b):
            self._solve_block(b, planning_floor, hard, start)

        thread_map(self.workers, "optimiser-reliability")(one, self.blocks)
        wall = time.perf_counter() - t
        inst = self.inst
        I, T = inst.n_pairs, inst.horizon
        x = np.zeros((inst.n_lanes, T))
        u = np.zeros((I, T))
        s = np.zeros((I, T))
        r = np.zeros((I, T))
        dual = np.zeros((I, T))
        statuses = []
        for b in self.blocks:
            sol = b.sol
            statuses.append(sol.status)
            if sol.values is None:
                continue
            v = b.lp.vars
            vals = sol.values
            x[b.lanes], u[b.pairs] = dispatch_and_rationing(b.lp, vals)
            s[b.pairs] = vals[v.s_start:v.u_start].reshape(len(b.pairs), T)
            r[b.row_pair, b.row_day] = np.maximum(vals[b.r_cols], 0.0)
            if sol.duals is not None:
                dual[b.row_pair, b.row_day] = np.abs(sol.duals[b.rows])
        status = Status.OPTIMAL if all(st == Status.OPTIMAL for st in statuses) else \
            next(st for st in statuses if st != Status.OPTIMAL)
        iters = sum(b.iterations for b in self.blocks)
        self.solves.append({"seconds": wall, "iterations": iters, "warm": len(self.solves) > 0,
                            "network_seconds": sum(b.network_seconds for b in self.blocks),
                            "how": sorted({b.how for b in self.blocks})})
        return LPResult(status, x, u, s, r, dual, wall, iters)

    def _solve_block(self, b: _Block, planning_floor: np.ndarray, hard: np.ndarray,
                     start=None) -> None:
        import highspy

        from .._fdcapture import stdout_to_stderr
        from ..model.backends.highs import read_solution

        lo = np.ascontiguousarray(planning_floor[b.row_pair, b.row_day], dtype=np.float64)
        n = len(b.rows)
        if n:
            # keep the LP object in step (the KKT check and shadow prices read it)
            b.lp.row_lo[b.rows] = lo
            b.lp.vars.ub[b.r_cols] = lo
            b.highs.changeRowsBounds(n, b.rows, lo, np.full(n, highspy.kHighsInf))
            b.highs.changeColsBounds(n, b.r_cols, np.zeros(n), lo)
        if len(b.s_cols):
            lb = np.minimum(np.ascontiguousarray(hard[b.s_pair, b.s_day], dtype=np.float64),
                            b.s_ub)
            b.lp.vars.lb[b.s_cols] = lb
            b.highs.changeColsBounds(len(b.s_cols), b.s_cols, lb, b.s_ub)
        b.how, b.network_seconds = self.method, 0.0
        if self.method == "cold":
            b.highs.clearSolver()
        elif self.method == "network" and b.sub.budget is None:
            start = None if self._network_start(b) else start
        if start is not None:
            hs = highspy.HighsSolution()
            hs.col_value = self._point(b, start, planning_floor)
            hs.value_valid = True
            b.highs.setSolution(hs)
            b.how = "point"
        t = time.perf_counter()
        with stdout_to_stderr():
            b.highs.run()
        b.seconds = time.perf_counter() - t
        h = b.highs
        ms = h.getModelStatus()
        name = ms.name if hasattr(ms, "name") else str(ms).split(".")[-1]
        info = h.getInfo()
        has = info.primal_solution_status == 2
        it = int(info.simplex_iteration_count)
        b.iterations = it
        sol = RawSolution(status=map_status("highs", name, has), backend_status=name,
                          seconds=b.seconds, info={"simplex_iterations": it})
        if has:
            read_solution(h, sol)
        b.sol = sol

    def _network_start(self, b: _Block) -> bool:
        """Hand HiGHS the basis of the min-cost flow of the block's current bounds (LEMON
        restarting from its previous tree); False when the network path has none."""
        from ..model.backends.highs import set_basis
        from ..model.network import network_start

        t = time.perf_counter()
        try:
            ns, _ = network_start(b.sub, b.lp, "lemon", keep=b.keep)
        except Exception:  # the network path is only a start: HiGHS goes on warm
            ns = None
        ok = ns is not None and ns.col_status is not None
        if ok:
            set_basis(b.highs, ns.col_status, ns.row_status)
            b.how = "network"
        b.network_seconds = time.perf_counter() - t
        return ok

    def _point(self, b: _Block, start, planning_floor) -> np.ndarray:
        """The block's variable vector of a plan (x, s, u), r filling any deficit."""
        x, s, u = start
        v = b.lp.vars
        out = np.zeros(v.n)
        out[:v.nx] = x[b.lanes][v.x_lane, v.x_day]
        sb = s[b.pairs]
        out[v.s_start:v.u_start] = sb.ravel()
        out[v.u_start:v.r_start] = np.minimum(u[b.pairs].ravel()[v.u_flat],
                                              v.ub[v.u_start:v.r_start])
        flat = b.lp.block_meta["readiness"]["flat"]
        deficit = planning_floor[b.row_pair, b.row_day] - sb.ravel()[flat]
        out[b.r_cols] = np.maximum(deficit, 0.0)
        return out

    def shadow_prices(self):
        """Shadow prices of the last solve (KKT-checked, as the plain solve reports them)."""
        from ..model.decompose import concat_tables
        from ..plan import SHADOW_SCHEMA
        from ..solve import _duals

        tables, infos = [], []
        for b in self.blocks:
            if b.sol is None or b.sol.status != Status.OPTIMAL:
                continue
            d, t = _duals(b.lp, b.sol, OPTIONS)
            tables.append(t)
            infos.append(d)
        table = concat_tables(tables, SHADOW_SCHEMA, "value")
        ok = all(i.get("duals", {}).get("kkt") and i["duals"]["kkt"]["ok"] for i in infos)
        return table, {"duals": {"source": "highs", "kkt_ok": bool(ok and infos)}}

    @property
    def size(self) -> dict:
        keys = ("variables", "constraints", "nonzeros")
        return {k: sum(b.lp.size[k] for b in self.blocks) for k in keys}
