"""Solving an instance: build the LP, solve it, verify the plan, explain what limits it.

    plan = optimiser.solve("instances/seed-155mm", solver="highs", time_limit=60)
"""

from __future__ import annotations

import time

import numpy as np
import pyarrow as pa

from .costs import breakdown
from .instance import Instance, as_instance
from .model.backends import DEFAULT_SOLVER, RawSolution, SolverOptions, get_backend
from .model.build import LP, build_lp
from .model.duals import kkt_check, shadow_prices
from .model.status import Status
from .plan import Plan
from .replay import stock_from_flows

ZERO = 1e-9  # solver noise below this (relative to 1) is written as exact zero


def solve(instance: Instance | str, *, solver: str = DEFAULT_SOLVER,
          time_limit: float | None = None, threads: int | None = None,
          tolerance: float | None = None, verbose: bool = False, check: bool = True,
          explain: bool = True) -> Plan:
    """Solve the LP of SPEC section 3 and return a Plan (with status; only malfunctions raise)."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    inst = as_instance(instance)
    timings["load"] = inst.load_seconds
    options = SolverOptions(solver=solver, time_limit=time_limit, threads=threads,
                            tolerance=tolerance, verbose=verbose)
    backend = get_backend(solver)
    t = time.perf_counter()
    lp = build_lp(inst)
    timings["build"] = time.perf_counter() - t
    sol = backend.solve(lp, options)
    timings["solve"] = sol.seconds
    t = time.perf_counter()
    plan = _plan_from_solution(inst, lp, sol)
    timings["extract"] = time.perf_counter() - t
    summary = plan.summary
    summary["solver"] = {**options.as_dict(), "backend": backend.DESCRIPTION,
                         "backend_status": sol.backend_status, **sol.info}
    summary["size"] = lp.size

    if sol.status == Status.INFEASIBLE and explain:
        from .model.infeasible import explain_infeasibility

        t = time.perf_counter()
        plan.infeasibility, summary["infeasibility"] = explain_infeasibility(lp, options)
        timings["explain"] = time.perf_counter() - t
    if sol.values is not None:
        t = time.perf_counter()
        _attach_duals(lp, sol, plan, options)
        timings["duals"] = time.perf_counter() - t
        if check:
            from .check import check_plan

            t = time.perf_counter()
            report = check_plan(inst, plan.flows, plan.stock, summary)
            timings["check"] = time.perf_counter() - t
            summary["check"] = report.as_dict()
            if not report.ok:
                summary["status_before_check"] = plan.status
                plan.status = summary["status"] = Status.ERROR.value
                summary["message"] = "the plan failed the independent check: " + report.worst()
    timings["total"] = time.perf_counter() - t0
    summary["timings"] = timings
    return plan


def _plan_from_solution(inst: Instance, lp: LP, sol: RawSolution) -> Plan:
    I, T, L = inst.n_pairs, inst.horizon, inst.n_lanes
    x = np.zeros((L, T))
    u = np.zeros((I, T))
    status = sol.status
    if sol.values is not None:
        val = sol.values
        v = lp.vars
        xv = val[:v.nx]
        xv = np.where(xv > ZERO * np.maximum(1.0, np.abs(xv)), xv, 0.0)
        x[v.x_lane, v.x_day] = np.minimum(xv, v.ub[:v.nx])
        u.ravel()[v.u_flat] = np.clip(val[v.u_start:v.r_start], 0.0, inst.demand.ravel()[v.u_flat])
        u[u < ZERO] = 0.0
    # stock follows from flows and unmet exactly (so a replay of the written plan reproduces it)
    x, u = _repair_negative_stock(inst, x, u)
    s = stock_from_flows(inst, x, u)
    r = np.where(inst.readiness_hard[:, None], 0.0, np.maximum(inst.floor - s, 0.0))
    parts = breakdown(inst, x, s, u, r)
    summary = {
        "format": "optimiser-plan", "version": 1, "instance": inst.name,
        "status": status.value,
        "objective": float(sum(parts.values())) if sol.values is not None else None,
        "solver_objective": sol.objective,
        "breakdown": parts,
        "totals": _totals(inst, x, s, u),
    }
    if status in (Status.NO_SOLUTION, Status.ERROR, Status.INFEASIBLE):
        summary["message"] = {
            Status.NO_SOLUTION: "no solution was found within the time limit; raise --time-limit",
            Status.ERROR: f"the solver ended with {sol.backend_status}",
            Status.INFEASIBLE: "the hard requirements cannot all hold; see infeasibility",
        }[status]
    return Plan(instance=inst, status=status.value, x=x, s=s, u=u, r=r, summary=summary)


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
        rest = deficit - add
        cut = np.minimum(rest, outflow[:, t])
        if cut.any() and len(node_lanes):
            keep = np.where(outflow[:, t] > 0, 1.0 - cut / np.where(outflow[:, t] > 0, outflow[:, t], 1.0), 1.0)
            f = keep[origin]
            old = x[node_lanes, t].copy()
            x[node_lanes, t] = old * f
            arrive = t + inst.lane_lead[node_lanes]
            ok = arrive < T
            np.add.at(inflow, (inst.lane_dest[node_lanes[ok]], arrive[ok]),
                      (x[node_lanes, t] - old)[ok])
            outflow[:, t] -= cut
            stock += cut
    return x, u


def _totals(inst: Instance, x, s, u) -> dict:
    sup = inst.lane_from_supplier
    ordered_pair = np.zeros(inst.n_supplier_pairs)
    np.add.at(ordered_pair, inst.lane_origin[sup], x[sup].sum(axis=1))
    ordered = np.zeros(len(inst.supplier_names))
    np.add.at(ordered, inst.sp_supplier, ordered_pair)
    below = np.maximum(inst.floor - s, 0.0)
    below[below < 1e-9] = 0.0
    return {
        "ordered": {str(n): float(q) for n, q in zip(inst.supplier_names, ordered)},
        "procurement_spend": float(inst.unit_price @ ordered_pair),
        "demand": float(inst.demand.sum()),
        "unmet": float(u.sum()),
        "below_floor_unit_days": float(below.sum()),
        "days_below_floor": int((below > 0).any(axis=0).sum()),
    }


def _attach_duals(lp: LP, sol: RawSolution, plan: Plan, options: SolverOptions) -> None:
    """Shadow prices only from duals that pass the KKT check; re-derive them otherwise."""
    summary = plan.summary
    if plan.status != Status.OPTIMAL.value:
        return
    y, source = sol.duals, options.solver
    primal_tol = 1e-3 if options.solver == "pdlp" else None
    report = kkt_check(lp, sol.values, y, primal_tol=primal_tol) if y is not None else None
    if report is None or not report.ok:
        # e.g. HiGHS through OR-Tools returns row activities as duals (SPEC section 6)
        summary["duals_rejected"] = (report.as_dict() if report else
                                     {"reason": f"{options.solver} reported no duals"})
        for alt in ("highs", "glop"):
            if alt == options.solver:
                continue
            try:
                alt_sol = get_backend(alt).solve(lp, SolverOptions(
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
        else:
            summary["duals"] = {"source": None, "kkt": None}
            plan.shadow_prices = pa.Table.from_pylist([], schema=_shadow_schema())
            return
    summary["duals"] = {"source": source, "kkt": report.as_dict()}
    plan.shadow_prices = shadow_prices(lp, sol.values, y)
    summary["binding"] = _binding_summary(plan.shadow_prices)


def _shadow_schema():
    from .plan import SHADOW_SCHEMA

    return SHADOW_SCHEMA


def _binding_summary(t: pa.Table) -> dict:
    if t.num_rows == 0:
        return {"count": 0, "by_constraint": {}, "top": []}
    kinds = t.column("constraint").to_pylist()
    by: dict[str, int] = {}
    for k in kinds:
        by[k] = by.get(k, 0) + 1
    top = [{"constraint": r["constraint"], "name": r["name"], "value": r["value"]}
           for r in t.slice(0, 10).to_pylist()]
    return {"count": t.num_rows, "by_constraint": by, "top": top}
