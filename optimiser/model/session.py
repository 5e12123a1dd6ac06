"""Warm re-solve sessions: one model kept between solves of related LPs.

    from optimiser.model.session import Session

    s = Session(instance, deterministic=True)
    plan = s.solve()                                  # cold: the network (and HiGHS if needed)
    s.update(demand=inst.demand * 1.05)               # any Instance array of the same shape
    s.update(floor=planning_floor, readiness_hard=protected)   # floors made hard
    s.set_unmet_max(cap)                              # u[i,t] <= cap[i,t]   ([pairs, days])
    s.set_stock_min(lb)                               # s[i,t] >= lb[i,t]    ([pairs, days])
    plan = s.solve()                                  # warm: from the kept tree / basis

Without a budget (model/session_network.py) the session keeps one retained network
per commodity block: a re-solve restarts LEMON's network simplex from its last
spanning tree (rebuilding the graph when many arcs' flows exceed their new
capacities, where that measured slower), takes the KKT-verified network answer on
integral data (model/certificate.py: no HiGHS) and otherwise finishes with the
block's kept HiGHS model from the network's basis; blocks whose data did not change
keep their last result. With a budget it keeps one HiGHS model of the whole LP,
built with a fixed structure (`build_lp(full=True)`: an unmet variable for every
(pair, day), a soft-floor row and shortfall variable for every (pair, day), a
contract row for every supplier pair; zero bounds where unused), so every change is
a change of bounds, right-hand sides or costs pushed into it; a re-solve runs
HiGHS's dual simplex from its last basis with a small iteration budget
(WARM_ITERATIONS, or WARM_FRACTION of the rows), then from the budget-free
network's basis if that is not enough. docs/MODEL.md has the details.

Changes that keep the structure (`update`): demand, floor, readiness_hard,
initial_stock, pipeline, capacity, max_stock, contract_min, contract_max,
lane_capacity, unit_price, lane_cost, holding_cost, shortfall_penalty,
readiness_penalty, budget (a number, while the session was created with a budget).
A change of anything else (the horizon, the lanes, the pairs, a budget appearing or
disappearing) rebuilds the model: still correct, just cold.

Every solve returns a `Plan` built, checked and summarised exactly like
`optimiser.solve` does (same arrays, same objective to rounding; with degenerate
optima an equally optimal plan may differ in its flows). Without a budget the
independent check runs per commodity block and an unchanged block keeps its report
(session_network.check_blocks). On the network path the certificate takes the final
spanning tree's own potentials (any optimal dual passes its KKT check; LEMON's
canonical ones cost a Dijkstra per block), so at a degenerate optimum a session's duals
may differ from `optimiser.solve`'s, each KKT-verified; and the plan's shadow-price
table (a `SessionPlan`) is built from those verified duals when first read, not at
every re-solve.

deterministic=True: serial dual simplex (HiGHS `parallel=off`, `simplex_strategy=1`),
`random_seed=0`, no time limit; the network stage is deterministic by construction. The
same sequence of changes gives bit-identical plans on every run. (HiGHS's thread count
is process-wide and fixed once its scheduler starts, so it is not changed here.)
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from ..instance import Instance, as_instance
from ..plan import Plan
from .backends import SolverOptions
from .build import LP, build_lp, dispatch_and_rationing
from .status import Status

#: a warm re-solve first gives HiGHS's dual simplex this many iterations (or this fraction
#: of the rows, if more) from its last basis, then takes the network's basis instead
WARM_ITERATIONS = 500
WARM_FRACTION = 0.01


def warm_iteration_budget(lp: LP, fraction: float | None = None) -> int:
    """The simplex iterations a warm re-solve gives HiGHS from its last basis before it
    takes the network's basis instead: WARM_ITERATIONS, or `fraction` of the rows if more
    (default WARM_FRACTION: the joint model with a budget)."""
    return max(WARM_ITERATIONS, int((WARM_FRACTION if fraction is None else fraction)
                                    * lp.csr.shape[0]))


def run_within_budget(h, lp: LP, options, fraction: float | None = None):
    """HiGHS model h run from its last basis within warm_iteration_budget(lp, fraction)
    simplex iterations (the limit lifted again afterwards); its RawSolution, whose
    backend_status is kIterationLimit when the budget ran out."""
    from .backends import highs

    h.setOptionValue("simplex_iteration_limit", warm_iteration_budget(lp, fraction))
    try:
        return highs.run(h, lp, options, warm=True)
    finally:
        h.setOptionValue("simplex_iteration_limit", 2**31 - 1)


#: Instance fields update() accepts (arrays keep their shapes; budget a number)
MUTABLE = ("demand", "floor", "readiness_hard", "initial_stock", "pipeline", "capacity",
           "max_stock", "contract_min", "contract_max", "lane_capacity", "unit_price",
           "lane_cost", "holding_cost", "shortfall_penalty", "readiness_penalty", "budget")


class Session:
    """A solver session: solve, change, re-solve warm. See the module docstring."""

    def __init__(self, instance: Instance | str, *, deterministic: bool = False,
                 threads: int | None = None, time_limit: float | None = None,
                 check: bool = True, warm: bool = True):
        self.instance = as_instance(instance)
        self.deterministic = deterministic
        self.check = check
        self.warm = warm
        if deterministic:
            # serial dual simplex, no time limit: HiGHS's thread count is process-wide (its
            # scheduler cannot change once started), so determinism is asked of the
            # algorithm (parallel off, simplex_strategy 1, fixed seed), not of `threads`
            threads, time_limit = None, None
        self.options = SolverOptions(solver="highs", time_limit=time_limit, threads=threads)
        self.unmet_max: np.ndarray | None = None
        self.stock_min: np.ndarray | None = None
        self._h = None  # the HiGHS model
        self._lp: LP | None = None
        self._dirty = True
        self._net: dict = {}  # the retained LEMON graph (network.solve_lemon keep=)
        self._states: list = []  # per commodity block, without a budget (session_network)
        self.stats: dict = {}  # of the last solve: warm, iterations, seconds, how
        self.solves = 0

    # changes -------------------------------------------------------------
    def update(self, **changes) -> None:
        """Replace Instance arrays (same shapes) or the budget; see MUTABLE."""
        bad = sorted(set(changes) - set(MUTABLE))
        if bad:
            raise ValueError(f"Session.update cannot change {', '.join(bad)}; "
                             f"it changes {', '.join(MUTABLE)} (build a new Session otherwise)")
        new = {}
        for k, val in changes.items():
            old = getattr(self.instance, k)
            if k == "budget":
                if (old is None) != (val is None):
                    self._h = None  # a budget row appears or disappears: rebuild
                new[k] = None if val is None else float(val)
                continue
            arr = np.asarray(val, dtype=old.dtype)
            if arr.shape != old.shape:
                raise ValueError(f"{k}: shape {arr.shape}, expected {old.shape}")
            new[k] = arr
        self.instance = dataclasses.replace(self.instance, **new)
        self._dirty = True
        if {"readiness_hard", "floor", "readiness_penalty", "holding_cost"} & set(new):
            # floors and their costs move many stock arcs at once: measured, dual simplex
            # from the last basis rarely finishes within its budget; go to the network
            self._skip_highs_warm = True

    def set_unmet_max(self, ub: np.ndarray | None) -> None:
        """Upper bounds on unmet consumption per (pair, day) (below demand); None: none."""
        self.unmet_max = None if ub is None else self._pair_day(ub, "unmet_max")
        self._dirty = True

    def set_stock_min(self, lb: np.ndarray | None) -> None:
        """Hard lower bounds on end-of-day stock per (pair, day), on top of hard floors."""
        self.stock_min = None if lb is None else self._pair_day(lb, "stock_min")
        self._dirty = True

    def _pair_day(self, a, name) -> np.ndarray:
        a = np.asarray(a, dtype=np.float64)
        shape = (self.instance.n_pairs, self.instance.horizon)
        if a.shape != shape:
            raise ValueError(f"{name}: shape {a.shape}, expected {shape}")
        return a

    # the model -----------------------------------------------------------
    def _build(self) -> LP:
        lp = build_lp(self.instance, full=True)
        v = lp.vars
        if self.unmet_max is not None:
            v.ub[v.u_start:v.r_start] = np.minimum(v.ub[v.u_start:v.r_start],
                                                   np.maximum(self.unmet_max.ravel(), 0.0))
        if self.stock_min is not None:
            v.lb[v.s_start:v.u_start] = np.maximum(v.lb[v.s_start:v.u_start],
                                                   self.stock_min.ravel())
        return lp

    def solve(self, cold: bool = False):
        """Solve the current LP and return a Plan (status, arrays, summary, checked)."""
        if self.instance.budget is None:
            return self._solve_network(cold)
        return self._solve_joint(cold)

    def _solve_network(self, cold: bool):
        """No budget: commodity blocks, each with its retained network (session_network)."""
        from .session_network import merge_results, solve_blocks

        t0 = time.perf_counter()
        self._h = None  # a budget appearing later builds the joint model afresh
        blocks, results, stats = solve_blocks(self, cold)
        res = merge_results(self.instance, blocks, results)
        self.solves += 1
        hows = sorted({b["how"] for b in stats["blocks"]})
        self.stats = {"warm": stats["warm"], "how": "; ".join(hows),
                      "seconds": time.perf_counter() - t0,
                      "simplex_iterations": sum(int(b.get("simplex_iterations") or 0)
                                                for b in stats["blocks"]),
                      "network_warm": any(bool(b.get("network_warm")) for b in stats["blocks"]),
                      "blocks": stats["blocks"]}
        plan = self._plan_from(res, check=False)
        if self.check and res.status in (Status.OPTIMAL, Status.FEASIBLE):
            from ..solve import check_and_mark
            from .session_network import check_blocks

            t = time.perf_counter()
            check_and_mark(self.instance, plan, check_blocks(self, blocks, plan))
            self.stats["check_seconds"] = time.perf_counter() - t
        return plan

    def _solve_joint(self, cold: bool):
        """A budget: one HiGHS model of the joint LP, re-solved from its last basis."""
        from .backends import highs

        t0 = time.perf_counter()
        lp = self._build()
        same = self._h is not None and self._same_structure(lp)
        warm = self.warm and not cold and same
        if not warm:
            self._h = highs.make_highs(lp, self.options)
            if self.deterministic:
                for k, val in (("parallel", "off"), ("simplex_strategy", 1), ("random_seed", 0)):
                    self._h.setOptionValue(k, val)
            self._net = {}
        else:
            self._push_changes(lp)
        sol, info, how = None, {}, ""
        skip = getattr(self, "_skip_highs_warm", False) and lp.instance.budget is None
        self._skip_highs_warm = False
        if warm and not skip:
            # first HiGHS's dual simplex from its last basis, with a small iteration budget:
            # after right-hand-side and bound changes (demand, stock, capacity) it needs few
            sol = run_within_budget(self._h, lp, self.options)
            how = "warm (HiGHS from its last basis)"
            if sol.backend_status == "kIterationLimit":
                info["warm_highs_iterations"] = sol.info.get("simplex_iterations")
                sol = None
        if sol is None:
            start = None
            if lp.instance.budget is None:
                # the network simplex gives an optimal basis directly
                from .network import network_start

                try:
                    start, net_info = network_start(lp.instance, lp, keep=self._net)
                    info.update(net_info)
                except Exception as e:  # the network is only a start
                    info["network"] = f"failed: {type(e).__name__}: {e}"
            if start is not None and start.col_status is not None:
                highs.set_basis(self._h, start.col_status, start.row_status)
            elif start is not None:
                import highspy

                hs = highspy.HighsSolution()
                hs.col_value = start.point
                hs.value_valid = True
                self._h.setSolution(hs)
            sol = highs.run(self._h, lp, self.options, warm=warm or start is not None)
            how = ("warm" if warm else "cold") + (
                " (network basis)" if start is not None else " (HiGHS from its last basis)"
                if warm else "")
        self._lp, self._dirty = lp, False
        self.solves += 1
        self.stats = {"warm": warm, "how": how, "seconds": time.perf_counter() - t0,
                      "simplex_iterations": sol.info.get("simplex_iterations"), **info}
        return self._plan(lp, sol)

    def _plan_from(self, res, check: bool = True):
        from ..solve import _plan_from_arrays, check_and_mark

        inst = self.instance
        plan = _plan_from_arrays(inst, res)
        summary = plan.summary
        summary["solver"] = {**self.options.as_dict(), "backend": "highs",
                             "how": f"session: {self.stats['how']}",
                             "backend_status": res.backend_status, **res.info,
                             "session": dict(self.stats)}
        summary["size"] = res.size
        if res.duals:
            summary.update(res.duals)
        if getattr(res, "_thunk", None) is not None:
            # the shadow-price table is built when first read (session_network)
            plan = _lazy_plan(plan, res)
        elif res.shadow is not None:
            plan.shadow_prices = res.shadow
        if check and self.check and res.status in (Status.OPTIMAL, Status.FEASIBLE):
            check_and_mark(inst, plan)
        summary["timings"] = {"total": self.stats["seconds"]}
        return plan

    def _same_structure(self, lp: LP) -> bool:
        from .session_network import _same_structure

        return _same_structure(self._lp, lp)

    def _push_changes(self, lp: LP) -> None:
        from .session_network import push_changes

        push_changes(self._h, self._lp, lp)

    def _plan(self, lp: LP, sol):
        from ..solve import BlockResult, _duals

        x, u = dispatch_and_rationing(lp, sol.values)
        res = BlockResult(status=sol.status, backend_status=sol.backend_status, x=x, u=u,
                          solver_objective=sol.objective, size=lp.size, timings={},
                          info=dict(sol.info))
        if sol.status == Status.OPTIMAL:
            res.duals, res.shadow = _duals(lp, sol, self.options)
        return self._plan_from(res)


class SessionPlan(Plan):
    """A Session's plan: the same Plan, its shadow-price table (from KKT-verified duals)
    assembled on first read rather than at every re-solve."""

    _source = None

    @property
    def shadow_prices(self):
        if self._source is not None:
            self.__dict__["_shadow"], self._source = self._source.shadow, None
        return self.__dict__.get("_shadow")

    @shadow_prices.setter
    def shadow_prices(self, table):
        self.__dict__["_shadow"], self._source = table, None

    def __getstate__(self):
        self.shadow_prices  # noqa: B018 (built before pickling)
        return self.__dict__


def _lazy_plan(plan: Plan, res) -> SessionPlan:
    """`plan` as a SessionPlan whose shadow_prices is res.shadow, built when first read."""
    out = SessionPlan(**{f.name: getattr(plan, f.name) for f in dataclasses.fields(Plan)})
    out._source = res
    return out
