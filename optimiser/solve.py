"""Solving an instance: build the LP, solve it, verify the plan, explain what limits it.

    plan = optimiser.solve("instances/seed-155mm", solver="highs", time_limit=60)

Without a budget the LP is block-diagonal by commodity (model/decompose.py); the
blocks are solved concurrently (threads: the solvers release the GIL) or through
any Executor.map-like callable, e.g. one backed by a Dask client, and the plan is
assembled from them. Either way the plan is checked as a whole by the independent
checker before it is called optimal.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from .costs import breakdown
from .execution import MapFn, local_map
from .instance import Instance, as_instance
from .model.backends import DEFAULT_SOLVER, SolverOptions, backends_with, get_backend
from .model.build import LP, build_lp, dispatch_and_rationing
from .model.decompose import can_decompose, concat_tables, split_by_commodity
from .model.duals import kkt_check, shadow_prices
from .outputs import SHADOW_PRICES, start_date_of
from .plan import Plan, plan_totals
from .replay import stock_from_flows
from .stages import stage
from .status import HAS_PLAN, Status

SHADOW_SCHEMA = SHADOW_PRICES.schema



@dataclass
class BlockResult:
    """What solving one LP (the joint one or a commodity block) gives, in its own indices."""

    status: Status
    backend_status: str
    x: np.ndarray  # [L_b, T]
    u: np.ndarray  # [I_b, T]
    solver_objective: float | None
    size: dict
    timings: dict
    info: dict = field(default_factory=dict)
    duals: dict = field(default_factory=dict)
    shadow: pa.Table | None = None
    infeasibility: pa.Table | None = None
    infeasibility_info: dict | None = None


def solve(instance: Instance | str, *, solver: str = DEFAULT_SOLVER,
          time_limit: float | None = None, threads: int | None = None,
          tolerance: float | None = None, verbose: bool = False, check: bool = True,
          explain: bool = True, decompose: str = "auto", map: MapFn | None = None,
          method: str = "auto", reliability: float | None = None, **reliability_options) -> Plan:
    """Solve the LP of docs/MODEL.md and return a Plan (with status; only malfunctions raise).

    decompose: "auto" splits by commodity when no budget couples them, "never" solves the
    joint LP. map: how the blocks are solved (default: a thread pool of `threads` or all
    cores); pass e.g. a Dask-backed map to run them on a cluster.
    reliability=R (with scope, service, confidence, train, certify, frontier, seed, params):
    plan for reliability instead (optimiser.reliability.solve_reliable).
    """
    from .errors import UsageError

    if reliability is not None or reliability_options:  # planning for reliability
        from .reliability import solve_reliable  # (docs/RELIABILITY.md); options by name

        return solve_reliable(instance, reliability=reliability, map=map, check=check,
                              **reliability_options)
    if decompose not in ("auto", "never"):
        raise UsageError(f"decompose must be 'auto' or 'never', not {decompose!r}")
    if method not in ("auto", "network", "simplex", "ipm"):
        raise UsageError(f"method must be auto, network, simplex or ipm, not {method!r}")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    inst = as_instance(instance)
    timings["load"] = inst.load_seconds
    options = SolverOptions(solver=solver, time_limit=time_limit, threads=threads,
                            tolerance=tolerance, verbose=verbose, method=method)
    backend = get_backend(solver)
    res, how = None, ""
    if (decompose == "auto" and inst.budget is not None and method in ("auto", "network")
            and not _budget_surely_binds(inst)):
        res, how = _solve_if_budget_slack(inst, options, map, threads, timings)
    if res is None and decompose == "auto" and can_decompose(inst):
        blocks = split_by_commodity(inst)
        stage(f"solving {len(blocks)} commodity block(s): network simplex, then HiGHS "
              f"({sum(b.instance.n_lanes for b in blocks):,} lanes x {inst.horizon} days)")
        t = time.perf_counter()
        res = _merge(inst, blocks, _map_blocks(blocks, options, explain, map, threads))
        timings["blocks_wall"] = time.perf_counter() - t  # build..duals of all blocks, concurrently
        how = f"decomposed by commodity ({len(blocks)} blocks)"
    elif res is None:
        stage(f"solving the joint LP with {solver} ({inst.n_lanes:,} lanes x {inst.horizon} days)")
        res = solve_block(inst, options, explain)
        how = "joint LP"
    for k in ("build", "network", "solve", "duals", "explain"):
        if k in res.timings:
            timings[k] = res.timings[k]
    t = time.perf_counter()
    plan = _plan_from_arrays(inst, res)
    timings["extract"] = time.perf_counter() - t
    summary = plan.summary
    summary["solver"] = {**options.as_dict(), "backend": backend.DESCRIPTION, "how": how,
                         "backend_status": res.backend_status, **res.info}
    summary["size"] = res.size
    if res.infeasibility is not None:
        from .model.infeasible import group_items

        plan.infeasibility, items = group_items(inst, res.infeasibility)
        summary["infeasibility"] = {**(res.infeasibility_info or {}), "items": items}
        if items:
            summary["message"] = ("the hard requirements cannot all hold; first to give way: "
                                  f"{items[0]['why']} — {items[0]['fix']}")
    if res.duals:
        summary.update(res.duals)
    if res.shadow is not None:
        plan.shadow_prices = res.shadow
        summary["binding"] = _binding_summary(res.shadow)
    if check and res.status in (Status.OPTIMAL, Status.FEASIBLE):
        stage("checking the plan independently")
        t = time.perf_counter()
        check_and_mark(inst, plan)
        timings["check"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    summary["timings"] = timings
    return plan


def check_and_mark(inst: Instance, plan: Plan, report=None) -> None:
    """Run the independent checker on `plan` and record it in its summary (`check`); a plan
    that fails is marked `error` (its solver status kept as `status_before_check`). Every
    path that makes a plan (solve, Session, reliability) goes through here; `report`: the
    checker's report of this plan made already (a Session checks block by block)."""
    from .check import check_plan

    if report is None:
        report = check_plan(inst, plan)
    plan.summary["check"] = report.as_dict()
    if not report.ok:
        plan.summary["status_before_check"] = plan.status
        plan.status = Status.ERROR
        plan.summary["status"] = Status.ERROR.value
        plan.summary["message"] = "the plan failed the independent check: " + report.worst()


def _budget_surely_binds(inst: Instance) -> bool:
    """A cheap test to skip the budget-free attempt: the budget cannot even pay, at each
    commodity's cheapest price, for what the plan would want to buy — consumption plus the
    last day's floors, less initial stock and pipeline. (It only chooses the path; a wrong
    guess costs time, never the answer.)"""
    K = len(inst.commodities)
    need = np.zeros(K)  # per pair: stock held elsewhere mostly cannot be moved for free
    np.add.at(need, inst.nc_commodity, np.maximum(
        inst.demand.sum(axis=1) + inst.floor[:, -1] - inst.initial_stock
        - inst.pipeline.sum(axis=1), 0.0))
    cheapest = np.full(K, np.inf)
    np.minimum.at(cheapest, inst.sp_commodity, inst.unit_price)
    cost = np.where(np.isfinite(cheapest), cheapest, 0.0) * np.maximum(need, 0.0)
    return float(cost.sum()) > float(inst.budget)


def _solve_if_budget_slack(inst, options, map_fn, threads, timings):
    """The budget-free relaxation is fast (commodity blocks, network warm start). If its spend
    fits the budget it is optimal for the budgeted LP too (a feasible optimum of a relaxation),
    so the joint LP is needed only when the budget binds. Returns (result or None, how)."""
    relaxed = dataclasses.replace(inst, budget=None)
    t = time.perf_counter()
    if can_decompose(relaxed):
        blocks = split_by_commodity(relaxed)
        res = _merge(relaxed, blocks, _map_blocks(blocks, options, False, map_fn, threads))
        how = f", decomposed by commodity ({len(blocks)} blocks)"
    else:
        res, how = solve_block(relaxed, options, explain=False), ""
    spend = float(inst.lane_price @ res.x.sum(axis=1))
    if res.status == Status.OPTIMAL and spend <= inst.budget + 1e-9 * max(1.0, inst.budget):
        from .model.build import lp_size

        res.size = lp_size(inst)  # the budgeted LP's size, though its budget row was slack
        return res, (f"budget not binding (spend {spend:,.2f} <= {inst.budget:,.2f}): "
                     f"solved without it{how}")
    timings["budget_relaxation"] = time.perf_counter() - t
    return None, ""


# one LP -------------------------------------------------------------------
def solve_block(inst: Instance, options: SolverOptions, explain: bool = True) -> BlockResult:
    """Build and solve one LP; duals checked, shadow prices and infeasibility explained.

    Pure and picklable in and out, so blocks can run in threads or on remote workers.
    """
    timings = {}
    t = time.perf_counter()
    lp = build_lp(inst)
    timings["build"] = time.perf_counter() - t
    backend = get_backend(options.solver)
    start, net_info = None, {}
    if backend.ACCEPTS_BASIS and options.method in ("auto", "network") and inst.budget is None:
        from .model.network import network_start

        t = time.perf_counter()
        try:
            start, net_info = network_start(inst, lp, options.network_solver)
        except Exception as e:  # the network path is only a warm start: fall back to the LP
            net_info = {"network": f"failed: {type(e).__name__}: {e}"}
        timings["network"] = time.perf_counter() - t
    if start is not None and options.time_limit is not None \
            and timings["network"] >= options.time_limit:
        # the network stage used up the limit: its point, unconfirmed, is the answer
        from .model.backends import RawSolution

        sol = _keep_network_point(lp, RawSolution(status=Status.NO_SOLUTION,
                                                  backend_status="kTimeLimit"), start)
        sol.seconds = timings["network"]
    elif start is not None and start.duals is not None:
        # the network's point and its potentials' duals pass KKT: the LP is solved
        sol = _certified_solution(lp, start)
        sol.seconds = timings["network"]
    elif start is not None:
        if options.time_limit is not None:  # the limit covers both stages
            options = dataclasses.replace(
                options, time_limit=max(options.time_limit - timings["network"], 1e-3))
        basis = (start.col_status, start.row_status) if start.col_status is not None else None
        sol = backend.solve(lp, options, start=None if basis else start.point, basis=basis)
        sol.seconds += timings["network"]
        if sol.values is None and sol.status == Status.NO_SOLUTION:
            # stopped at the time limit: the network's point is feasible, keep it
            sol = _keep_network_point(lp, sol, start)
    else:
        sol = backend.solve(lp, options)
    sol.info.update(net_info)
    timings["solve"] = sol.seconds
    x, u = dispatch_and_rationing(lp, sol.values)
    res = BlockResult(status=sol.status, backend_status=sol.backend_status, x=x, u=u,
                      solver_objective=sol.objective, size=lp.size, timings=timings,
                      info=dict(sol.info))
    if sol.status == Status.OPTIMAL:
        t = time.perf_counter()
        res.duals, res.shadow = _duals(lp, sol, options, backend)
        timings["duals"] = time.perf_counter() - t
    if sol.status == Status.INFEASIBLE and explain:
        from .model.infeasible import explain_infeasibility

        t = time.perf_counter()
        res.infeasibility, res.infeasibility_info = explain_infeasibility(lp, options)
        timings["explain"] = time.perf_counter() - t
    return res


def _certified_solution(lp: LP, start):
    """The LP's optimum from the network alone: its point and KKT-verified duals."""
    from .model.backends import RawSolution

    v = start.point
    return RawSolution(status=Status.OPTIMAL, backend_status="kOptimal", values=v,
                       duals=start.duals, objective=float(lp.vars.cost @ v),
                       info={"simplex_iterations": 0, "ipm_iterations": 0,
                             "highs_method": "network certificate (KKT-verified, no HiGHS)"},
                       kkt=start.kkt)


def _keep_network_point(lp: LP, sol, start):
    """HiGHS stopped before confirming the network's answer: the network's point is
    feasible (exactly so with exact scaling), so the block is `feasible`, not empty."""
    from .model.backends import RawSolution

    v = start.point
    act = lp.csr @ v
    scale = 1.0 + np.abs(np.where(np.isfinite(lp.row_hi), lp.row_hi,
                                  np.where(np.isfinite(lp.row_lo), lp.row_lo, 0.0)))
    ok = (np.all(act >= lp.row_lo - 1e-7 * scale) and np.all(act <= lp.row_hi + 1e-7 * scale)
          and np.all(v >= lp.vars.lb - 1e-9) and np.all(v <= lp.vars.ub + 1e-9))
    if not ok:
        return sol
    return RawSolution(status=Status.FEASIBLE, backend_status=sol.backend_status + "+network point",
                       values=v, objective=float(lp.vars.cost @ v), seconds=sol.seconds,
                       info=sol.info)


def _duals(lp: LP, sol, options: SolverOptions, backend=None) -> tuple[dict, pa.Table]:
    """Shadow prices only from duals that pass the KKT check; re-derived otherwise (by the
    backend's capability flags, model/backends/__init__.py; default: options.solver's)."""
    out: dict = {}
    backend = get_backend(options.solver) if backend is None else backend
    primal_tol = None if backend.EXACT_VERTEX else 1e-3
    y, source = sol.duals, options.solver
    report = sol.kkt  # the network certificate's, already checked
    if report is not None:
        source = "network"
    elif not backend.GIVES_DUALS:
        y = None
    elif y is not None:
        report = kkt_check(lp, sol.values, y, primal_tol=primal_tol)
    if report is None or not report.ok:
        # e.g. HiGHS through OR-Tools returns row activities as duals (docs/MODEL.md)
        out["duals_rejected"] = (report.as_dict() if report else
                                 {"reason": f"{options.solver} reported no duals" if
                                  backend.GIVES_DUALS else f"{options.solver} gives no duals"})
        y = None
        for alt_backend in backends_with(options.solver, GIVES_DUALS=True, EXACT_VERTEX=True):
            alt = alt_backend.NAME
            try:
                alt_sol = alt_backend.solve(lp, SolverOptions(
                    solver=alt, time_limit=options.time_limit, threads=options.threads))
            except Exception:
                continue
            if alt_sol.duals is not None and alt_sol.status == Status.OPTIMAL:
                # any optimal dual is complementary to any optimal primal point of the same LP,
                # so the alternative's duals are checked against our own solution
                rep = kkt_check(lp, sol.values, alt_sol.duals, primal_tol=primal_tol)
                if rep.ok:
                    y, source, report = alt_sol.duals, alt, rep
                    break
        if y is None:
            out["duals"] = {"source": None, "kkt": None}
            return out, SHADOW_SCHEMA.empty_table()
    out["duals"] = {"source": source, "kkt": report.as_dict()}
    return out, shadow_prices(lp, sol.values, y)


# blocks -------------------------------------------------------------------
def _map_blocks(blocks, options, explain, map_fn, threads) -> list[BlockResult]:
    """Every block through `map_fn` (optimiser/execution.py; default: `threads` threads,
    or every core)."""
    def run(block):
        return solve_block(block.instance, options, explain)

    return list((map_fn or local_map(threads, "optimiser-block"))(run, blocks))


_PRIORITY = [Status.ERROR, Status.INFEASIBLE, Status.NO_SOLUTION, Status.FEASIBLE, Status.OPTIMAL]


def _merge(inst: Instance, blocks, results: list[BlockResult]) -> BlockResult:
    T = inst.horizon
    x = np.zeros((inst.n_lanes, T))
    u = np.zeros((inst.n_pairs, T))
    for b, r in zip(blocks, results):
        x[b.lanes] = r.x
        u[b.pairs] = r.u
    status = min((r.status for r in results), key=_PRIORITY.index)
    size = {k: sum(r.size[k] for r in results) for k in results[0].size}
    timings = {k: max(r.timings.get(k, 0.0) for r in results) for k in
               ("build", "network", "solve", "duals", "explain")
               if any(k in r.timings for r in results)}
    timings["solve_sum"] = sum(r.timings.get("solve", 0.0) for r in results)
    objs = [r.solver_objective for r in results]
    res = BlockResult(status=status, backend_status=",".join(sorted({r.backend_status for r in results})),
                      x=x, u=u, solver_objective=None if None in objs else float(sum(objs)),
                      size=size, timings=timings,
                      info={"blocks": [{"commodity": str(inst.commodities[b.commodity]),
                                        "status": r.status.value, **r.size,
                                        "solve_seconds": r.timings.get("solve"),
                                        **{k: v for k, v in r.info.items()
                                           if k.startswith(("network", "exact", "highs",
                                                            "simplex", "quantity", "cost"))}}
                                       for b, r in zip(blocks, results)]})
    if all(r.duals for r in results):
        sources = {r.duals["duals"]["source"] for r in results}
        kkts = [r.duals["duals"]["kkt"] for r in results]
        res.duals = {"duals": {"source": None if None in sources else ",".join(sorted(sources)),
                               "kkt": None if None in kkts else {
                                   "ok": all(k["ok"] for k in kkts),
                                   **{m: max(k[m] for k in kkts) for m in
                                      ("primal_residual", "dual_sign", "complementarity", "gap")}}}}
        rejected = [r.duals["duals_rejected"] for r in results if "duals_rejected" in r.duals]
        if rejected:
            res.duals["duals_rejected"] = rejected[0]
        res.shadow = concat_tables([r.shadow for r in results], SHADOW_SCHEMA, "value")
    if any(r.infeasibility is not None for r in results):
        from .model.infeasible import INFEASIBILITY_SCHEMA

        res.infeasibility = concat_tables([r.infeasibility for r in results],
                                          INFEASIBILITY_SCHEMA, None)
        infos = [r.infeasibility_info for r in results if r.infeasibility_info]
        by: dict[str, float] = {}
        for i in infos:
            for k, v in i.get("by_requirement", {}).items():
                by[k] = by.get(k, 0.0) + v
        res.infeasibility_info = {"explained": all(i.get("explained") for i in infos),
                                  "total_violation": float(sum(by.values())),
                                  "by_requirement": by}
    return res


# plan ---------------------------------------------------------------------
def _plan_from_arrays(inst: Instance, res: BlockResult) -> Plan:
    x, u = res.x, res.u
    has = res.status in HAS_PLAN
    # stock follows from flows and unmet exactly (so a replay of the written plan reproduces it)
    s = stock_from_flows(inst, x, u)
    if has and s.min(initial=0.0) < -_no_deficit(s):  # else the repair would change nothing
        x, u = _repair_negative_stock(inst, x, u)
        s = stock_from_flows(inst, x, u)
    r = np.where(inst.readiness_hard[:, None], 0.0, np.maximum(inst.floor - s, 0.0))
    parts = breakdown(inst, x, s, u, r)
    status = res.status
    start = start_date_of(inst)
    # without a plan there are no costs or totals to report: nulls, never figures of a
    # point that breaks the model (an infeasible solve's stock may be negative)
    summary = {
        "format": "optimiser-plan", "version": 1, "instance": inst.name,
        "start_date": None if start is None else start.isoformat(),
        "status": status.value,
        "objective": float(sum(parts.values())) if has else None,
        "solver_objective": res.solver_objective if has else None,
        "breakdown": parts if has else dict.fromkeys(parts),
        "totals": plan_totals(inst, x, s, u) if has else None,
    }
    if status in (Status.NO_SOLUTION, Status.ERROR, Status.INFEASIBLE):
        summary["message"] = {
            Status.NO_SOLUTION: "no solution was found within the time limit; raise the limit",
            Status.ERROR: f"the solver ended with {res.backend_status}",
            Status.INFEASIBLE: "the hard requirements cannot all hold; see infeasibility",
        }[status]
    return Plan(instance=inst, status=status, x=x, s=s, u=u, r=r, summary=summary)


def _no_deficit(s: np.ndarray) -> float:
    """A stock no lower than minus this on every day: _repair_negative_stock (which acts on
    deficits above 1e-7, its own day-by-day sums) would change nothing, so its loop is
    skipped. Half its threshold while rounding between the two sums stays far below that
    (magnitudes under 1e5: below 1e-8 even over 365 days); else only stock >= 0 skips."""
    return 5e-8 if np.abs(s).max(initial=0.0) < 1e5 else 0.0


def _repair_negative_stock(inst: Instance, x: np.ndarray, u: np.ndarray):
    """Make an approximate point (PDLP's above all) physically consistent.

    Recomputed from the flows, stock can fall below zero by more than the checker's
    tolerance. Day by day, such a deficit is first booked as unmet consumption (up to that
    day's demand), then taken off the node's own dispatches of the day (scaled down, which
    also lowers the later arrivals they feed). Deficits within tolerance are left alone:
    booking 1e-9 units as unmet at a 1e6 penalty would move the objective more than the
    noise itself. Day loop, vectorised over pairs; returns (x, u), copies only if changed.
    """
    from .replay import arrivals_and_departures

    inflow, outflow = arrivals_and_departures(inst, x)
    stock = inst.initial_stock.copy()
    node_lanes = np.flatnonzero(~inst.lane_from_supplier)
    origin = inst.lane_origin[node_lanes]
    T = inst.horizon
    changed = False
    for t in range(T):
        stock = stock + inflow[:, t] + inst.pipeline[:, t] - outflow[:, t] - inst.demand[:, t] + u[:, t]
        deficit = np.maximum(-stock, 0.0)
        deficit[deficit <= 1e-7] = 0.0  # the checker allows 1e-6 below zero
        if not deficit.any():
            continue
        if not changed:
            x, u, changed = x.copy(), u.copy(), True
        add = np.minimum(deficit, inst.demand[:, t] - u[:, t])
        u[:, t] += add
        stock += add
        cut = np.minimum(deficit - add, outflow[:, t])
        if cut.any() and len(node_lanes):
            out_t = outflow[:, t]
            keep = np.where(out_t > 0, 1.0 - cut / np.where(out_t > 0, out_t, 1.0), 1.0)
            old = x[node_lanes, t].copy()
            x[node_lanes, t] = old * keep[origin]
            arrive = t + inst.lane_lead[node_lanes]
            ok = arrive < T
            np.add.at(inflow, (inst.lane_dest[node_lanes[ok]], arrive[ok]),
                      (x[node_lanes, t] - old)[ok])
            outflow[:, t] -= cut
            stock += cut
    return x, u


def _binding_summary(t: pa.Table) -> dict:
    if t.num_rows == 0:
        return {"count": 0, "by_constraint": {}, "top": []}
    import pyarrow.compute as pc

    # counted by Arrow (first-seen order, as a dict filled row by row), not row by row in
    # Python: ~10^5 rows on the 1M tier
    counts = pc.value_counts(t.column("constraint")).to_pylist()
    by = {c["values"]: c["counts"] for c in counts}
    top = [{"constraint": r["constraint"], "name": r["name"], "value": r["value"]}
           for r in t.slice(0, 10).to_pylist()]
    return {"count": t.num_rows, "by_constraint": by, "top": top}
