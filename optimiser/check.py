"""The independent checker: verifies a plan against its instance.

It reads only the plan's tables (flows, stock, summary), parsed by the one plan
reader (optimiser/plan.py, vectorised: names to integer codes), and the validated
instance data; it shares no code with the model builder or the solver path: every
constraint of the LP (docs/MODEL.md) is re-evaluated here from scratch, and the
objective is recomputed. Violations are measured relative to max(1, |limit|).

    optimiser.check_plan(inst, plan)          # a Plan, a plan directory, or tables
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from .errors import InvalidPlanError
from .instance import Instance
from .io import as_numpy
from .outputs import FLOWS

TOLERANCE = 1e-6  # relative to max(1, |limit|); objective relative to max(1, |objective|)


@dataclass
class Violation:
    kind: str
    amount: float  # largest violation found, relative
    where: str
    count: int = 0  # how many places exceed the tolerance


@dataclass
class CheckReport:
    ok: bool
    tolerance: float
    violations: dict[str, Violation] = field(default_factory=dict)  # kind -> worst
    objective: float | None = None  # recomputed
    reported_objective: float | None = None
    breakdown: dict[str, float] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # structural problems

    def worst(self) -> str:
        bad = [v for v in self.violations.values() if v.count]
        msgs = list(self.errors) + [f"{v.kind}: {v.amount:.3g} at {v.where} ({v.count} places)"
                                    for v in sorted(bad, key=lambda v: -v.amount)]
        return "; ".join(msgs) if msgs else "no violation"

    def conclude(self, reported_objective) -> None:
        """The recomputed objective (the breakdown's sum) against the reported one (None:
        none reported), and the verdict: no structural error and every violation within
        the tolerance."""
        tol = self.tolerance
        self.objective = float(sum(self.breakdown.values()))
        if reported_objective is not None:
            self.reported_objective = float(reported_objective)
            diff = abs(self.objective - self.reported_objective) / max(1.0, abs(self.objective))
            self.violations["objective"] = Violation(
                "objective", diff, f"reported {self.reported_objective!r} vs recomputed "
                f"{self.objective!r}" if diff > tol else "-", int(diff > tol))
        self.ok = not self.errors and all(v.amount <= tol for v in self.violations.values())

    def as_dict(self) -> dict:
        return {"ok": self.ok, "tolerance": self.tolerance, "objective": self.objective,
                "reported_objective": self.reported_objective, "breakdown": self.breakdown,
                "errors": self.errors,
                "violations": {k: {"max": v.amount, "where": v.where, "count": v.count}
                               for k, v in self.violations.items()}}


def _sum_at(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """out[k] = the sum of values where index == k (np.add.at's sums, in the same order)."""
    return np.bincount(index, weights=values, minlength=n).astype(np.float64, copy=False)


def _worst(report: CheckReport, kind: str, excess: np.ndarray, scale: np.ndarray,
           where) -> None:
    """Record the largest relative excess of one kind (excess <= 0 means satisfied)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.asarray(excess, dtype=np.float64) / np.maximum(1.0, np.abs(scale))
    nan = np.isnan(rel)  # inf - inf: no limit
    if nan.any():
        rel = np.where(nan, 0.0, rel)
    # (-inf, no limit either, needs no replacing: it is never the worst place above 0
    # nor counted, and where everything is <= 0 the amount is 0 all the same)
    if rel.size == 0:
        report.violations[kind] = Violation(kind, 0.0, "-", 0)
        return
    k = int(np.argmax(rel))
    amount = max(float(rel.flat[k]), 0.0)
    count = int((rel > report.tolerance).sum())
    report.violations[kind] = Violation(kind, amount, where(k) if amount > 0 else "-", count)


def check_plan(inst: Instance, flows, stock: pa.Table | None = None,
               summary: dict | None = None, tolerance: float = TOLERANCE,
               allow_nonoptimal: bool = False) -> CheckReport:
    """Verify a plan: `flows` is a Plan, a plan directory, or the flows table (with `stock`
    and `summary`). A Plan or directory whose status is not optimal or feasible is refused
    (PlanNotUsableError) unless allow_nonoptimal."""
    from .plan import Plan, require_usable

    if isinstance(flows, Plan):
        require_usable(flows, allow_nonoptimal, what="check")
        flows, stock, summary = flows.flows, flows.stock, flows.summary
    elif isinstance(flows, (str, os.PathLike)):
        return check_plan_dir(inst, flows, tolerance, allow_nonoptimal)
    return _check(inst, flows, stock, summary, tolerance)


def _check(inst: Instance, flows: pa.Table, stock: pa.Table | None, summary: dict | None,
           tolerance: float) -> CheckReport:
    from .plan import lane_ids, stock_ids

    rep = CheckReport(ok=True, tolerance=tolerance)
    T, L, I = inst.horizon, inst.n_lanes, inst.n_pairs
    # --- flows -> dispatch per (lane, day), every row checked
    for c in FLOWS.required + ("arrive_day",):
        if c not in flows.column_names:
            raise InvalidPlanError(f"flows table lacks column {c!r}")
    lane = lane_ids(inst, flows)
    dep = as_numpy(flows.column("depart_day"), fill=-1).astype(np.int64)
    arr = as_numpy(flows.column("arrive_day"), fill=-1).astype(np.int64)
    qty = as_numpy(flows.column("quantity"), fill=np.nan).astype(np.float64)
    if (lane < 0).any():
        rep.errors.append(f"flows row {int(np.argmax(lane < 0))}: no such lane in the instance")
    lead = np.where(lane >= 0, inst.lane_lead[np.maximum(lane, 0)], 0)
    bad_day = (lane >= 0) & ((dep < 0) | (dep + lead > T - 1) | (arr != dep + lead))
    if bad_day.any():
        r = int(np.argmax(bad_day))
        rep.errors.append(f"flows row {r}: depart_day {dep[r]} / arrive_day {arr[r]} do not "
                          f"fit lead time {lead[r]} within days 0..{T - 1}")
    if not np.isfinite(qty).all():
        rep.errors.append(f"flows row {int(np.argmax(~np.isfinite(qty)))}: quantity not finite")
    ok_rows = (lane >= 0) & ~bad_day & np.isfinite(qty)
    # sums by bincount: the same additions in the same order as np.add.at, much faster
    x = _sum_at(lane[ok_rows] * T + dep[ok_rows], qty[ok_rows], L * T).reshape(L, T)
    _worst(rep, "flow_nonnegative", -x, np.zeros_like(x),
           lambda k: f"lane {inst.lane_label(k // T)} day {k % T}")
    # --- lane capacity (bound on x)
    _worst(rep, "lane_capacity", x - inst.lane_capacity[:, None],
           np.broadcast_to(inst.lane_capacity[:, None], x.shape),
           lambda k: f"lane {inst.lane_label(k // T)} day {k % T}")
    # --- supplier capacity, contracts, budget
    sup = np.flatnonzero(inst.lane_from_supplier)
    out_p = _sum_at((inst.lane_origin[sup][:, None] * T + np.arange(T)).ravel(),
                    x[sup].ravel(), inst.n_supplier_pairs * T).reshape(-1, T)
    _worst(rep, "supplier_capacity", out_p - inst.capacity, inst.capacity,
           lambda k: f"supplier {inst.supplier_label(k // T)} day {k % T}")
    total_p = out_p.sum(axis=1)
    _worst(rep, "contract_max", total_p - inst.contract_max, inst.contract_max,
           lambda k: f"supplier {inst.supplier_label(k)}")
    _worst(rep, "contract_min", inst.contract_min - total_p, inst.contract_min,
           lambda k: f"supplier {inst.supplier_label(k)}")
    spend = float(inst.unit_price @ total_p)
    if inst.budget is not None:
        _worst(rep, "budget", np.array([spend - inst.budget]), np.array([inst.budget]),
               lambda k: "budget")
    # --- stock table
    if stock is None:
        raise InvalidPlanError("the plan has no stock table (stock.arrow or stock.parquet)")
    for c in ("node", "commodity", "day", "stock", "unmet"):
        if c not in stock.column_names:
            raise InvalidPlanError(f"stock table lacks column {c!r}")
    i, d = stock_ids(inst, stock)
    good = (i >= 0) & (d >= 0) & (d < T)
    if not good.all():
        rep.errors.append(f"stock row {int(np.argmax(~good))}: unknown node/commodity/day")
    s = np.full((I, T), np.nan)
    u = np.zeros((I, T))
    s[i[good], d[good]] = as_numpy(stock.column("stock"), fill=np.nan)[good]
    u[i[good], d[good]] = as_numpy(stock.column("unmet"), fill=np.nan)[good]
    seen = np.bincount(i[good] * T + d[good], minlength=I * T).reshape(I, T)
    if (seen != 1).any():
        j = int(np.argmax(seen != 1))
        rep.errors.append(f"stock: {inst.pair_label(j // T)} day {j % T} appears "
                          f"{int(seen.flat[j])} times (must be once)")
    if np.isnan(s).any() or np.isnan(u).any():
        rep.errors.append("stock: a stock or unmet value is null/NaN")
        s, u = np.nan_to_num(s), np.nan_to_num(u)
    if "demand" in stock.column_names:
        dem = np.zeros((I, T))
        dem[i[good], d[good]] = as_numpy(stock.column("demand"), fill=np.nan)[good]
        _worst(rep, "demand_column", np.abs(dem - inst.demand), inst.demand,
               lambda k: f"{inst.pair_label(k // T)} day {k % T}")
    if "floor" in stock.column_names:
        fl = np.zeros((I, T))
        fl[i[good], d[good]] = as_numpy(stock.column("floor"), fill=np.nan)[good]
        _worst(rep, "floor_column", np.abs(fl - inst.floor), inst.floor,
               lambda k: f"{inst.pair_label(k // T)} day {k % T}")
    where_it = lambda k: f"{inst.pair_label(k // T)} day {k % T}"  # noqa: E731
    _worst(rep, "unmet_range", np.maximum(-u, u - inst.demand), inst.demand, where_it)
    # --- balance, recomputed day by day from the flows alone
    li, ld = np.nonzero(x)
    arrive = ld + inst.lane_lead[li]
    inflow = _sum_at(inst.lane_dest[li] * T + arrive, x[li, ld], I * T).reshape(I, T)
    node_lane = ~inst.lane_from_supplier[li]
    outflow = _sum_at(inst.lane_origin[li[node_lane]] * T + ld[node_lane],
                      x[li[node_lane], ld[node_lane]], I * T).reshape(I, T)
    prev = np.concatenate([inst.initial_stock[:, None], s[:, :-1]], axis=1)
    expected = prev + inflow + inst.pipeline - outflow - (inst.demand - u)
    _worst(rep, "balance", np.abs(s - expected), np.maximum(np.abs(expected), prev), where_it)
    _worst(rep, "stock_nonnegative", -s, np.zeros_like(s), where_it)
    _worst(rep, "max_stock", s - inst.max_stock[:, None],
           np.broadcast_to(inst.max_stock[:, None], s.shape), where_it)
    hard = inst.readiness_hard[:, None] & np.ones((1, T), bool)
    _worst(rep, "hard_floor", np.where(hard, inst.floor - s, 0.0), inst.floor, where_it)
    # --- objective, recomputed
    shipped = x.sum(axis=1)
    price = np.zeros(L)
    price[sup] = inst.unit_price[inst.lane_origin[sup]]
    r = np.where(hard, 0.0, np.maximum(inst.floor - s, 0.0))
    rep.breakdown = {
        "procurement": float(price @ shipped),
        "transport": float(inst.lane_cost @ shipped),
        "holding": float((inst.holding_cost[:, None] * s).sum()),
        "shortfall_penalty": float((inst.shortfall_penalty[:, None] * u).sum()),
        "readiness_penalty": float((inst.readiness_penalty[:, None] * r).sum()),
    }
    rep.conclude(summary.get("objective") if summary else None)
    return rep


def check_plan_dir(inst: Instance, plan_dir: str | os.PathLike,
                   tolerance: float = TOLERANCE, allow_nonoptimal: bool = False) -> CheckReport:
    """Check a plan directory written by this or any other tool (Arrow IPC or Parquet).

    A plan whose summary.json status is not optimal or feasible is refused
    (PlanNotUsableError, exit 2) unless allow_nonoptimal."""
    from .plan import read_plan_tables, require_usable  # file reading only: no model building

    require_usable(plan_dir, allow_nonoptimal, what="check")
    flows, stock, summary, _ = read_plan_tables(plan_dir)
    return _check(inst, flows, stock, summary, tolerance)
