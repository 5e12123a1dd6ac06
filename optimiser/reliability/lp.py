"""The reliability LP, kept warm across the loop: only the planning floors change.

One model per commodity block (one for the whole instance when a budget couples them),
built once from the instance with

- every protected pair's floor replaced by its planning floor, as rows s + r >= P
  with r priced at a penalty BIG far above any cost of holding a unit (so r > 0 only
  where no plan can hold P: the buffer is out of reach, which the loop reads as a limit);
- consumption rationed no more than in the expected-demand plan (u <= baseline u);

and re-solved after each change of P by changing row and column bounds only, so the
solver restarts from its previous optimal basis (LEMON's spanning tree, or HiGHS's basis).
The solver configuration is fixed — LEMON, and HiGHS dual simplex with one thread, no
time limit, no wall-time tripwire — so the same P gives the same bits whatever the
machine's thread count. Where r = 0 the solution is the optimum of the LP
with P as a hard lower bound on stock; where r > 0 it is the optimum of the hard LP at
the reachable floors min(P, s) (any plan holding those floors pays no more penalty).

How a solve runs (`method`; the loop uses "network", benchmarks/bench_reliability.py
--compare-lp measures all three on the loop's own sequence of floors):

* "network" (blocks without a budget; reliability/netlp.py): the planning floors, hard
  bounds and rationing caps are snapped to the block's grid (floors up, caps down), LEMON's
  network simplex solves the block from its last spanning tree, and when the flow and the
  potentials' duals pass the KKT check (exact integer scaling) they are the block's answer:
  no HiGHS iteration. Only when the certificate fails (or the network cannot be solved)
  does HiGHS run, from the network's basis (or its own last one). `LPResult.planning_floor`
  is the snapped floor the LP held.
* "warm": HiGHS keeps the previous optimal basis, which stays dual feasible when only
  bounds move, so dual simplex repairs the rows the raise broke (measured on the 100k-few
  tier: 28,891 iterations for the first solve, 26,502 and 7,211 for the first re-solves);
* "cold": clears it and solves from scratch with presolve (4-160x slower per re-solve).

A budget couples the blocks (one LP, not a network): it stays on HiGHS warm whatever the
method.

HiGHS solves every reliability model with its costs scaled by a power of two that brings
the largest (the penalty BIG) to at most COST_NORM (`objective_scale`; exact, a power of
two: objective and duals are scaled back to the LP's own units).
Unscaled, BIG ~1e6 against a binding budget made the 100k-few-b tier's warm re-solve
cycle to model status kUnknown. If a warm HiGHS run still ends other than optimal, the
same LP is solved again cold (presolve, no basis): told to `log` and counted in the
solve's entry (`solves[i]["cold_fallbacks"]`).
"""

from __future__ import annotations

import dataclasses
import math
import time
import weakref
from dataclasses import dataclass

import numpy as np

from ..execution import thread_map
from ..instance import Instance
from ..model.backends import RawSolution, SolverOptions
from ..model.build import LP, build_lp, dispatch_and_rationing
from ..model.decompose import can_decompose, split_by_commodity
from ..model.status import Status, map_status

OPTIONS = SolverOptions(solver="highs", time_limit=None, threads=1, method="simplex")
#: HiGHS solves the reliability LP with its costs scaled by a power of two that brings the
#: largest (the penalty BIG, ~1e6 on the budget tiers) to at most this (objective_scale)
COST_NORM = 1024.0
#: the first HiGHS solve of a joint block (a budget): "point" (from the expected plan's
#: point, crossover) or "prime" (cold at the floors that plan holds, then warm at P)
FIRST_JOINT = "prime"
METHODS = ("network", "warm", "cold")
TINY = 1e-9  # placeholder floor so every candidate (pair, day) has its row from the start


def objective_scale(cost: np.ndarray) -> int:
    """The exponent k (HiGHS gets the costs times 2^k, k <= 0) that brings the largest
    |cost| to at most COST_NORM.

    Why: HiGHS's tolerances are absolute (1e-7). With BIG ~1e6 and a binding budget, the
    budget row's dual is ~BIG / unit price, so reduced costs are sums of terms ~1e6 whose
    rounding error reaches the dual tolerance: measured on the 100k-few-b tier, a warm
    dual simplex re-solve reached the scaled optimum (9,446 iterations), found it primal
    infeasible unscaled, and cycled in its clean-up for 68k more iterations to model
    status kUnknown (the loop's "LP ended error"); a cold solve of that LP was still
    primal infeasible after 64k iterations. Scaled (2^-11 by this rule; 2^-10 tried too)
    the same re-solve ends optimal in ~10,000 iterations, objectives equal to 1e-11.
    The smallest cost (0.1 holding) scaled stays ~500x the dual tolerance (reduced costs
    are then optimal to ~2e-4 per unit in the LP's units, far inside the checker's 1e-6
    relative objective tolerance)."""
    m = float(np.max(np.abs(cost), initial=0.0))
    return -int(math.ceil(math.log2(m / COST_NORM))) if m > COST_NORM else 0


def _make_highs(lp: LP):
    """The HiGHS model of `lp`, its costs times 2^objective_scale (a power of two: exact,
    undone on the objective and duals read back, `_unscale`). Done here rather than with
    HiGHS's own `user_objective_scale` option, which older highspy releases lack."""
    from ..model.backends.highs import make_highs

    h = make_highs(lp, OPTIONS)
    k = objective_scale(lp.vars.cost)
    if k:
        n = lp.vars.n
        h.changeColsCost(n, np.arange(n, dtype=np.int32), np.ldexp(lp.vars.cost, k))
    return h


def _unscale(k: int, sol: RawSolution) -> None:
    """The objective and duals of a solve of `_make_highs`' model (costs times 2^k) in
    the LP's units."""
    if not k:
        return
    if sol.objective is not None:
        sol.objective = float(np.ldexp(sol.objective, -k))
    if sol.duals is not None:
        sol.duals = np.ldexp(sol.duals, -k)
    if sol.reduced_costs is not None:
        sol.reduced_costs = np.ldexp(sol.reduced_costs, -k)


def big_penalty(inst: Instance) -> float:
    """A price per unit of unreached planning floor above the cost of any way to hold a unit
    (a whole number, so that it scales exactly with the other costs on the network path)."""
    T = inst.horizon
    price = float(np.max(inst.lane_price + inst.lane_cost, initial=0.0))
    hold = float(np.max(inst.holding_cost, initial=0.0))
    lane = float(np.max(inst.lane_cost, initial=0.0)) * max(1, len(inst.node_names))
    pen = float(np.max(inst.readiness_penalty, initial=0.0))
    return float(math.ceil(max(1e4, 100.0 * (price + lane + T * hold + pen))))


@dataclass
class _Block:
    pairs: np.ndarray  # block pair -> full pair
    lanes: np.ndarray
    lp: LP
    highs: object  # its HiGHS model (built when first needed on the network path)
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
    grid: int | None = None  # the network path's quantity scale Q (data snapped to 1/Q);
    # None until the first solve chooses it, 0 for none (HiGHS)
    sol: RawSolution | None = None
    seconds: float = 0.0
    iterations: int = 0
    network_seconds: float = 0.0
    how: str = ""
    highs_ran: bool = False  # the HiGHS model holds a basis of its own
    worker: object = None  # the LemonWorker holding its LEMON graph (netlp), if any
    lemon_cpu: float = 0.0  # CPU seconds of its last LEMON solve (wherever it ran)
    last: tuple | None = None  # the (snapped) floors and hard bounds of its last solve
    fallbacks: int = 0  # cold HiGHS re-solves after a failed warm one (this solve)
    primed: tuple | None = None  # (iterations, seconds, how) of the priming solve


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
    #: [I, T] the planning floor the LP used: the one asked for, snapped up to the block's
    #: grid on the network path (never lower; unchanged off the readiness rows)
    planning_floor: np.ndarray | None = None


class ReliabilityLP:
    """The warm LP session of one reliability run. `solve(P)` -> LPResult."""

    def __init__(self, inst: Instance, candidates: np.ndarray, unmet_cap: np.ndarray,
                 workers: int = 1, start=None, method: str = "network", log=None):
        """start: (x, s, u) of a plan (the expected-demand one) to start the first HiGHS
        solve from; it satisfies every row (r takes up any deficit below the planning floor).
        method: "network" (LEMON from its last tree, the KKT network certificate, HiGHS
        only where it fails; blocks without a budget), "warm" (HiGHS dual simplex from the
        previous basis) or "cold" (HiGHS from scratch each time, presolve included).
        log: told when a warm HiGHS run failed and the LP was solved again cold (the
        solve's entry in `solves` counts it: cold_fallbacks)."""
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
        self.method = method
        self.log = log  # a callable(str) told of any cold re-solve after a failed warm one
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
        self._workers: list = []  # LemonWorkers (netlp), closed with the session
        self._finalizer = weakref.finalize(self, _close_workers, self._workers)

    def close(self) -> None:
        """End the LEMON worker processes (also done when the session is collected)."""
        self._finalizer()

    def _block(self, sub: Instance, pairs, lanes, cap, cand) -> _Block:
        lp = build_lp(sub, unmet_cap=cap)
        sl = lp.blocks["readiness"]
        rows = np.arange(sl.start, sl.stop, dtype=np.int32)
        flat = lp.block_meta["readiness"]["flat"]
        T = sub.horizon
        r_cols = (lp.vars.r_start + np.arange(len(flat))).astype(np.int32)
        sflat = (np.flatnonzero(cand)[:, None] * T + np.arange(T)[None, :]).ravel()
        s_cols = (lp.vars.s_start + sflat).astype(np.int32)
        b = _Block(pairs=pairs, lanes=lanes, lp=lp, highs=None, rows=rows, r_cols=r_cols,
                   row_pair=pairs[flat // T], row_day=flat % T, s_cols=s_cols,
                   s_pair=pairs[sflat // T], s_day=sflat % T,
                   s_ub=lp.vars.ub[s_cols].copy(), sub=sub, keep={})
        if self.method != "network" or sub.budget is not None:
            b.highs = _make_highs(lp)  # (the network path builds it when needed)
            b.grid = 0  # no grid: HiGHS
        return b

    def _grid(self, b: _Block, lo: np.ndarray, lb: np.ndarray) -> None:
        """At the block's first solve: its grid (netlp.grid_scale) with the floors and hard
        bounds of that solve snapped onto it, and the rationing caps snapped down onto it
        for good; 0 when no grid is exact (then the block stays on HiGHS)."""
        from .netlp import grid_scale, snap_down

        v = b.lp.vars
        u = slice(v.u_start, v.r_start)
        cap = v.ub[u].copy()
        demand = b.sub.demand.ravel()[v.u_flat]
        # never more rationing than the baseline beyond 1e-7 x max(1, demand) (a tenth of
        # the tolerance on "unmet"): HiGHS noise on the baseline's u is no reason to give
        # up a whole grid step
        tol = 1e-7 * np.maximum(1.0, demand)

        def put(q):
            self._set_bounds(b, *self._snapped(b, lo, lb, q))
            v.ub[u] = np.minimum(snap_down(cap, q, tol), demand)

        grid = grid_scale(b.sub, b.lp, put)
        if grid is None:
            v.ub[u] = cap
            b.grid = 0
            return
        b.grid = grid[0]
        b.keep["scale"] = grid

    @staticmethod
    def _snapped(b: _Block, lo: np.ndarray, lb: np.ndarray, q: int):
        from .netlp import snap_up

        return snap_up(lo, q), np.minimum(snap_up(lb, q), b.s_ub)

    def solve(self, planning_floor: np.ndarray, hard: np.ndarray | None = None) -> LPResult:
        """Solve with rows s + r >= planning_floor and, where given, s >= hard (a floor
        known to be reachable, e.g. a lower frontier target's: keeps the frontier nested).
        On the network path both are snapped up to the block's grid first
        (LPResult.planning_floor is the floor used)."""
        t = time.perf_counter()
        if hard is None:
            hard = np.zeros_like(planning_floor)
        start, self._start = self._start, None
        used = np.array(planning_floor, dtype=np.float64, copy=True)

        def one(b):
            self._solve_block(b, planning_floor, hard, start, used)

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
                            "lemon_cpu_seconds": sum(b.lemon_cpu for b in self.blocks),
                            "how": sorted({b.how for b in self.blocks}),
                            "cold_fallbacks": sum(b.fallbacks for b in self.blocks)})
        return LPResult(status, x, u, s, r, dual, wall, iters, used)

    def _solve_block(self, b: _Block, planning_floor: np.ndarray, hard: np.ndarray,
                     start, used: np.ndarray) -> None:
        lo = np.ascontiguousarray(planning_floor[b.row_pair, b.row_day], dtype=np.float64)
        lb = np.minimum(np.ascontiguousarray(hard[b.s_pair, b.s_day], dtype=np.float64),
                        b.s_ub)
        b.how, b.network_seconds, b.iterations, b.lemon_cpu = self.method, 0.0, 0, 0.0
        b.fallbacks = 0
        if b.grid is None:
            self._grid(b, lo, lb)
            from .netlp import LemonWorker, worker_pays

            if b.grid and worker_pays(b.lp.vars.n, self.workers > 1 and len(self.blocks) > 1):
                try:
                    b.worker = LemonWorker()
                except Exception:  # e.g. inside a daemonic process: LEMON in process
                    b.worker = None
                else:
                    self._workers.append(b.worker)
        if b.grid:
            from .netlp import solve_exact

            snapped, snapped_lb = self._snapped(b, lo, lb, b.grid)
            used[b.row_pair, b.row_day] = snapped
            if (b.sol is not None and b.sol.status == Status.OPTIMAL and b.last is not None
                    and np.array_equal(b.last[0], snapped)
                    and np.array_equal(b.last[1], snapped_lb)):
                b.how = "unchanged (last solution kept)"  # e.g. a block the raise missed
                return
            b.last = (snapped, snapped_lb)
            self._set_bounds(b, snapped, snapped_lb)
            t = time.perf_counter()
            sol, ns, info = solve_exact(b.sub, b.lp, b.keep, b.worker)
            b.network_seconds = b.seconds = time.perf_counter() - t
            b.lemon_cpu = float(info.get("network_cpu_seconds", 0.0))
            if sol is not None:
                b.sol, b.how = sol, "network certificate"
                return
            if ns is None:  # no network answer (e.g. the snapped hard bounds): as given
                self._set_bounds(b, snapped, lb)
            self._run_highs(b, ns, None if b.highs_ran else start, planning_floor)
            return
        if (start is not None and not b.highs_ran and self.method == "network"
                and b.sub.budget is None):
            # no exact grid (data with more decimals than the network takes): prime from
            # the expected plan's point at the floors that plan holds (it is optimal
            # there: HiGHS only crosses over to a basis), then warm at P. From the point
            # at P, the first solve of the decimal 100k tier took 140,760 iterations
            # (25.6 s); primed, 9,000 + 27,000 (9.3 s)
            self._prime(b, lo, lb, start)
            start = None  # the re-solve below starts from the primed basis
        if (FIRST_JOINT == "prime" and start is not None and not b.highs_ran
                and self.method != "cold" and b.sub.budget is not None):
            self._prime(b, lo, lb)
            start = None  # the re-solve below starts from the primed basis
        self._set_bounds(b, lo, lb)
        if self.method == "cold":
            b.highs.clearSolver()
        self._run_highs(b, None, start, planning_floor)
        if b.primed is not None:
            it, sec, how = b.primed
            b.iterations += it
            b.seconds += sec
            b.how = f"HiGHS {how} ({it} iterations), then warm"
            b.primed = None

    def _prime(self, b: _Block, lo: np.ndarray, lb: np.ndarray, start=None) -> None:
        """The first HiGHS solve of a joint block (a budget), or of a block without an
        exact grid: solved at the floors the expected-demand plan holds (min(P, hard
        bound): that plan is feasible there with r = 0, so the LP is as easy as the
        expected-demand LP) -- cold, or from that plan's point `start` (x, s, u) --,
        leaving its optimal basis for the warm dual simplex re-solve at P."""
        n = b.sub.n_pairs * b.sub.horizon
        held, cand = np.zeros(n), np.zeros(n, bool)
        local = b.s_cols - b.lp.vars.s_start  # the candidates' (pair, day)s in the block
        held[local], cand[local] = lb, True
        flat = b.lp.block_meta["readiness"]["flat"]
        at = np.where(cand[flat], np.minimum(lo, held[flat]), lo)
        self._set_bounds(b, at, lb)
        t = time.perf_counter()
        P0 = None
        if start is not None:
            P0 = np.zeros((self.inst.n_pairs, self.inst.horizon))
            P0[b.row_pair, b.row_day] = at
        self._run_highs(b, None, start, P0)
        b.primed = (b.iterations, time.perf_counter() - t,
                    "from the expected plan's point at the floors it holds"
                    if start is not None else "cold at the expected plan's floors")

    def _set_bounds(self, b: _Block, lo: np.ndarray, lb: np.ndarray) -> None:
        """Readiness rows s + r >= lo (r <= lo) and stock s >= lb, in the LP object (the
        network, the KKT check and the shadow prices read it)."""
        b.lp.row_lo[b.rows] = lo
        b.lp.vars.ub[b.r_cols] = lo
        b.lp.vars.lb[b.s_cols] = lb

    def _run_highs(self, b: _Block, ns, start, planning_floor) -> None:
        """HiGHS on the block's model at the LP object's bounds: from the network's basis
        when there is one, else from `start` (a plan's point) or its own last basis."""
        import highspy

        from ..model.backends.highs import set_basis

        t = time.perf_counter()
        lp = b.lp
        if b.highs is None:
            b.highs = _make_highs(lp)
        else:
            n = len(b.rows)
            if n:
                lo = lp.row_lo[b.rows]
                b.highs.changeRowsBounds(n, b.rows, lo, np.full(n, highspy.kHighsInf))
                b.highs.changeColsBounds(n, b.r_cols, np.zeros(n), lo)
            if len(b.s_cols):
                b.highs.changeColsBounds(len(b.s_cols), b.s_cols, lp.vars.lb[b.s_cols], b.s_ub)
        if ns is not None and ns.col_status is not None:
            set_basis(b.highs, ns.col_status, ns.row_status)
            b.how = "HiGHS from the network's basis"
        elif start is not None:
            hs = highspy.HighsSolution()
            hs.col_value = self._point(b, start, planning_floor)
            hs.value_valid = True
            b.highs.setSolution(hs)
            b.how = "point" if self.method != "network" else "HiGHS from the plan's point"
        elif self.method == "network":
            b.how = "HiGHS from its last basis" if b.highs_ran else "HiGHS"
        warm = b.highs_ran or ns is not None or start is not None
        sol = self._highs_run(b, t)
        if sol.status != Status.OPTIMAL and warm:
            # safety net: HiGHS failed from a warm start (the scaled costs are the cure,
            # objective_scale); solve the same LP again from scratch, presolve included
            first = sol.backend_status
            b.highs.clearSolver()
            it = b.iterations
            sol = self._highs_run(b, t)
            b.iterations += it
            b.fallbacks += 1
            b.how = f"{b.how}; cold re-solve after {first}"
            if self.log is not None:
                self.log(f"reliability LP: HiGHS ended {first} from a warm start; solved "
                         f"again cold: {sol.backend_status} ({b.iterations} simplex "
                         f"iterations in all)")
        b.sol = sol

    def _highs_run(self, b: _Block, t: float) -> RawSolution:
        from .._fdcapture import stdout_to_stderr
        from ..model.backends.highs import read_solution

        with stdout_to_stderr():
            b.highs.run()
        b.highs_ran = True
        b.seconds = b.network_seconds + time.perf_counter() - t
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
            _unscale(objective_scale(b.lp.vars.cost), sol)
        return sol

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
        deficit = b.lp.row_lo[b.rows] - sb.ravel()[flat]
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
        sources = sorted({str(i.get("duals", {}).get("source")) for i in infos})
        return table, {"duals": {"source": "+".join(sources) or "highs",
                                 "kkt_ok": bool(ok and infos)}}

    @property
    def size(self) -> dict:
        keys = ("variables", "constraints", "nonzeros")
        return {k: sum(b.lp.size[k] for b in self.blocks) for k in keys}


def _close_workers(workers: list) -> None:
    while workers:
        workers.pop().close()
