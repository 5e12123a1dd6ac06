"""Plans: arrays in the core, Arrow tables at the edge; the one plan read/write path.

A Plan holds the decision arrays indexed like the Instance (x[L,T] dispatch by
lane and departure day, s/u/r[I,T]) and builds the tables declared in
optimiser/outputs.py: flows, stock, orders, shadow_prices, infeasibility, plus
summary.json. `read_plan` rebuilds the arrays from the files alone (Arrow IPC or
Parquet), so plans written by any tool can be checked, evaluated and reported on.

Names are matched to the instance through integer codes per column (Arrow
`index_in`), never by joining strings: any name, separators and NULs included,
finds exactly its own lane.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import InvalidPlanError, PlanNotUsableError
from .instance import Instance
from .io import as_numpy
from .outputs import (
    FLOWS,
    INFEASIBILITY,
    ORDERS,
    SHADOW_PRICES,
    STOCK,
    PlanSummary,
    read_output_table,
    start_date_of,
    with_dates,
    write_output_table,
)
from .status import HAS_PLAN, Status

# kept for importers; the declarations live in optimiser/outputs.py
FLOWS_SCHEMA = FLOWS.schema
STOCK_SCHEMA = STOCK.schema
ORDERS_SCHEMA = ORDERS.schema
SHADOW_SCHEMA = SHADOW_PRICES.schema

#: a floor is broken when stock < floor - BREAK_TOL * max(1, floor)
BREAK_TOL = 1e-6


@dataclass(eq=False)
class Plan:
    """A plan for an instance. Arrays: x [L, T] (0 where a lane cannot depart), s, u, r [I, T]."""

    instance: Instance
    status: Status
    x: np.ndarray
    s: np.ndarray
    u: np.ndarray
    r: np.ndarray
    summary: PlanSummary = field(default_factory=dict)  # type: ignore[assignment]
    shadow_prices: pa.Table | None = None
    infeasibility: pa.Table | None = None

    def __post_init__(self):
        self.status = Status(self.status)

    @property
    def objective(self) -> float | None:
        return self.summary.get("objective")

    @property
    def breakdown(self) -> dict:
        return self.summary.get("breakdown", {})

    @property
    def has_plan_tables(self) -> bool:
        """Flows, stock and orders describe a real plan (optimal or feasible), or one that
        failed the independent check (kept for diagnosis, labelled in the summary)."""
        return self.status in HAS_PLAN or "status_before_check" in self.summary

    # tables ------------------------------------------------------------
    @property
    def flows(self) -> pa.Table:
        return flows_table(self.instance, self.x)

    @property
    def stock(self) -> pa.Table:
        return stock_table(self.instance, self.s, self.u)

    @property
    def orders(self) -> pa.Table:
        return orders_table(self.instance, self.x)

    def tables(self, dates: bool = True) -> dict[str, pa.Table]:
        """The tables of the plan directory (with date columns when the instance has a
        start_date and `dates`)."""
        out = {}
        if self.has_plan_tables:
            out = {"flows": self.flows, "stock": self.stock, "orders": self.orders}
            if self.shadow_prices is not None:
                out["shadow_prices"] = self.shadow_prices
        if self.infeasibility is not None:
            out["infeasibility"] = self.infeasibility
        start = start_date_of(self.instance) if dates else None
        return {k: with_dates(t, start) for k, t in out.items()}

    def write(self, path: str | os.PathLike, force: bool = False, fmt: str = "arrow") -> Path:
        """Write the plan directory atomically (temp dir beside it, renamed into place).

        fmt: "arrow" (NAME.arrow, Arrow IPC) or "parquet" (NAME.parquet)."""
        from ._atomic import atomic_dir

        protect = (self.instance.path,) if self.instance.path else ()
        with atomic_dir(path, force=force, protect=protect) as tmp:
            write_plan_files(self, tmp, fmt=fmt)
        return Path(path)

    def _repr_html_(self) -> str:  # pragma: no cover - exercised in notebooks
        try:
            from .report import plan_html
            return plan_html(self)
        except Exception:
            import html
            return f"<pre>{html.escape(repr(self))}</pre>"

    def __repr__(self) -> str:
        obj = self.objective
        return (f"Plan({self.instance.name!r}, status={self.status.value!r}, "
                f"objective={obj if obj is None else f'{obj:,.2f}'})")


# building tables -------------------------------------------------------------
def _take(names: np.ndarray, idx: np.ndarray) -> pa.Array:
    """names[idx] as an Arrow string array (no fixed-width numpy strings)."""
    return pa.array(names, type=pa.string()).take(pa.array(np.asarray(idx, dtype=np.int64)))


def flows_table(inst: Instance, x: np.ndarray) -> pa.Table:
    lane, day = np.nonzero(x > 0)
    lead = inst.lane_lead[lane]
    return pa.table({
        "origin": _take(inst.lane_origin_name, lane),
        "destination": _take(inst.lane_dest_name, lane),
        "commodity": _take(inst.commodities, inst.lane_commodity[lane]),
        "mode": _take(inst.lane_mode, lane),
        "depart_day": pa.array(day.astype(np.int32)),
        "arrive_day": pa.array((day + lead).astype(np.int32)),
        "quantity": pa.array(x[lane, day]),
    }, schema=FLOWS_SCHEMA)


def orders_table(inst: Instance, x: np.ndarray) -> pa.Table:
    """What to buy, from whom, when: supplier lanes only, one row per (lane, day) with q > 0."""
    sup = inst.lane_from_supplier[:, None] & (x > 0)
    day, lane = np.nonzero(sup.T)  # by order day, then lane: the order in which to place them
    p = inst.lane_origin[lane]
    q = x[lane, day]
    price = inst.unit_price[p]
    return pa.table({
        "supplier": _take(inst.supplier_names, inst.sp_supplier[p]),
        "commodity": _take(inst.commodities, inst.lane_commodity[lane]),
        "destination": _take(inst.lane_dest_name, lane),
        "mode": _take(inst.lane_mode, lane),
        "order_day": pa.array(day.astype(np.int32)),
        "arrive_day": pa.array((day + inst.lane_lead[lane]).astype(np.int32)),
        "quantity": pa.array(q),
        "unit_price": pa.array(price.astype(np.float64)),
        "cost": pa.array(q * price),
        "transport_cost": pa.array(q * inst.lane_cost[lane]),
    }, schema=ORDERS_SCHEMA)


def stock_table(inst: Instance, s: np.ndarray, u: np.ndarray) -> pa.Table:
    I, T = s.shape
    i = np.repeat(np.arange(I), T)
    day = np.tile(np.arange(T, dtype=np.int32), I)
    floor = inst.floor.ravel()
    stock = s.ravel()
    return pa.table({
        "node": _take(inst.node_names, inst.nc_node[i]),
        "commodity": _take(inst.commodities, inst.nc_commodity[i]),
        "day": pa.array(day),
        "stock": pa.array(stock),
        "floor": pa.array(floor),
        "below_floor": pa.array(np.maximum(floor - stock, 0.0)),
        "demand": pa.array(inst.demand.ravel()),
        "unmet": pa.array(u.ravel()),
    }, schema=STOCK_SCHEMA)


def write_plan_files(plan: Plan, directory: Path, fmt: str = "arrow") -> None:
    """Write every table of `plan` and then summary.json (with timings.write) into `directory`."""
    t = time.perf_counter()
    for name, table in plan.tables().items():
        write_output_table(table, directory, name, fmt)
    summary = plan.summary
    summary["plan_tables"] = plan.has_plan_tables
    summary.setdefault("timings", {})["write"] = time.perf_counter() - t
    (directory / "summary.json").write_text(summary_text(summary), encoding="utf-8")


def summary_text(summary: dict) -> str:
    """summary.json's text under the project's one JSON policy (NaN and inf -> null)."""
    from ._json import dumps

    return dumps(summary)


from ._json import json_default as _json_default  # noqa: E402,F401  (kept for importers)


# totals ----------------------------------------------------------------------
def broken(inst: Instance, s: np.ndarray) -> np.ndarray:
    """[I, T] units below the floor where the floor is broken (stock < floor - tol), else 0."""
    floor = inst.floor
    below = np.maximum(floor - s, 0.0)
    return np.where(below > BREAK_TOL * np.maximum(1.0, floor), below, 0.0)


def plan_totals(inst: Instance, x: np.ndarray, s: np.ndarray, u: np.ndarray) -> dict:
    """summary.json `totals`: quantities per supplier and commodity, never summed across
    commodities except in the v1 totals `demand` and `unmet` (all pairs together)."""
    K = len(inst.commodities)
    sup = inst.lane_from_supplier
    ordered_pair = np.zeros(inst.n_supplier_pairs)
    np.add.at(ordered_pair, inst.lane_origin[sup], x[sup].sum(axis=1))
    ordered: dict[str, dict[str, float]] = {str(n): {} for n in inst.supplier_names}
    for p in range(inst.n_supplier_pairs):  # one entry per supplier-commodity row
        ordered[str(inst.supplier_names[inst.sp_supplier[p]])][
            str(inst.commodities[inst.sp_commodity[p]])] = float(ordered_pair[p])
    below = broken(inst, s)
    com_ordered = np.bincount(inst.sp_commodity, ordered_pair, minlength=K)
    ci = inst.nc_commodity
    com_demand = np.bincount(ci, inst.demand.sum(axis=1), minlength=K)
    com_unmet = np.bincount(ci, u.sum(axis=1), minlength=K)
    com_below = np.bincount(ci, below.sum(axis=1), minlength=K)
    com_days = np.zeros((K, inst.horizon), dtype=bool)
    np.logical_or.at(com_days, ci, below > 0)
    by_commodity = {str(inst.commodities[k]): {
        "ordered": float(com_ordered[k]), "demand": float(com_demand[k]),
        "unmet": float(com_unmet[k]), "below_floor_unit_days": float(com_below[k]),
        "days_below_floor": int(com_days[k].sum())} for k in range(K)}
    return {
        "ordered": ordered,
        "by_commodity": by_commodity,
        "procurement_spend": float(inst.unit_price @ ordered_pair),
        "demand": float(inst.demand.sum()),
        "unmet": float(u.sum()),
        "below_floor_unit_days": float(below.sum()),
        "days_below_floor": int((below > 0).any(axis=0).sum()),
    }


# reading -----------------------------------------------------------------
def _codes(values, names: np.ndarray) -> np.ndarray:
    """Index of each value in `names` (-1 where absent, null or missing): Arrow index_in."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if values.type != pa.string():
        values = values.cast(pa.string())
    return as_numpy(pc.index_in(values, value_set=pa.array(names, type=pa.string())),
                    fill=-1).astype(np.int64)


def _match_rows(keys: np.ndarray, query: np.ndarray, radix: list[int]) -> np.ndarray:
    """Row of `keys` [n, c] (unique rows) equal to each row of `query` [m, c]; -1 if none.

    Codes are combined into one int64 per row (mixed radix) and looked up by binary search;
    a radix too large for int64 falls back to comparing rows (np.unique on axis 0)."""
    if len(query) == 0:
        return np.zeros(0, dtype=np.int64)
    missing = (query < 0).any(axis=1)
    if int(np.prod([max(r, 1) for r in radix], dtype=object)) < 2 ** 62:
        def combine(a):
            out = np.zeros(len(a), dtype=np.int64)
            for j, r in enumerate(radix):
                out = out * max(r, 1) + np.maximum(a[:, j], 0)
            return out

        k, q = combine(keys), combine(query)
        order = np.argsort(k, kind="stable")
        pos = np.minimum(np.searchsorted(k[order], q), len(k) - 1)
        hit = k[order][pos] == q
        return np.where(hit & ~missing, order[pos], -1).astype(np.int64)
    both = np.concatenate([keys, query])
    _, inv = np.unique(both, axis=0, return_inverse=True)
    inv = inv.ravel()
    lookup = np.full(inv.max() + 1, -1, dtype=np.int64)
    lookup[inv[:len(keys)]] = np.arange(len(keys))
    return np.where(missing, -1, lookup[inv[len(keys):]])


def lane_ids(inst: Instance, flows: pa.Table, origin: str = "origin") -> np.ndarray:
    """Lane id of each row by (origin, destination, commodity, mode); -1 if none.

    Each name column becomes integer codes against the instance's names, and the code
    tuples are matched: no separators, no fixed-width strings. `origin` names the origin
    column ("supplier" for orders)."""
    places = np.concatenate([np.asarray(inst.supplier_names, dtype=object),
                             np.asarray(inst.node_names, dtype=object)])
    modes = np.asarray(pc.unique(pa.array(inst.lane_mode, type=pa.string())).to_pylist()
                       if inst.n_lanes else [], dtype=object)
    lane_key = np.column_stack([
        _codes(pa.array(inst.lane_origin_name, pa.string()), places),
        _codes(pa.array(inst.lane_dest_name, pa.string()), inst.node_names),
        np.asarray(inst.lane_commodity, dtype=np.int64),
        _codes(pa.array(inst.lane_mode, pa.string()), modes),
    ]) if inst.n_lanes else np.zeros((0, 4), dtype=np.int64)
    n = flows.num_rows
    mode = (pc.fill_null(flows.column("mode"), "") if "mode" in flows.column_names
            else pa.array([""] * n, pa.string()))
    query = np.column_stack([
        _codes(flows.column(origin), places),
        _codes(flows.column("destination"), inst.node_names),
        _codes(flows.column("commodity"), inst.commodities),
        _codes(mode, modes),
    ]) if n else np.zeros((0, 4), dtype=np.int64)
    if inst.n_lanes == 0:
        return np.full(n, -1, dtype=np.int64)
    return _match_rows(lane_key, query, [len(places), len(inst.node_names),
                                         len(inst.commodities), len(modes)])


def stock_ids(inst: Instance, stock: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """(pair id or -1, day or -1) of each stock row."""
    i = inst.node_pair_ids(stock.column("node"), stock.column("commodity"))
    d = as_numpy(stock.column("day"), fill=-1).astype(np.int64)
    return np.asarray(i, dtype=np.int64), d


def _row(table: pa.Table, r: int) -> dict:
    return table.slice(r, 1).to_pylist()[0]


def plan_arrays_from_tables(inst: Instance, flows: pa.Table, stock: pa.Table | None):
    """(x[L,T], s[I,T] or None, u[I,T]) from the plan's tables and the instance alone."""
    L, I, T = inst.n_lanes, inst.n_pairs, inst.horizon
    _need(flows, "flows", FLOWS.required)
    lane = lane_ids(inst, flows)
    if (lane < 0).any():
        r = int(np.flatnonzero(lane < 0)[0])
        raise InvalidPlanError(f"flows row {r}: no lane {_row(flows, r)} "
                               "in the instance; was the plan made for another instance?")
    day = as_numpy(flows.column("depart_day"), fill=-1).astype(np.int64)
    if ((day < 0) | (day >= T)).any():
        r = int(np.flatnonzero((day < 0) | (day >= T))[0])
        raise InvalidPlanError(f"flows row {r}: depart_day {day[r]} outside 0..{T - 1}")
    x = np.zeros((L, T))
    np.add.at(x, (lane, day), as_numpy(flows.column("quantity"), fill=0.0).astype(np.float64))
    u = np.zeros((I, T))
    s = None
    if stock is not None:
        _need(stock, "stock", ("node", "commodity", "day", "unmet"))
        i, d = stock_ids(inst, stock)
        bad = (i < 0) | (d < 0) | (d >= T)
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise InvalidPlanError(f"stock row {r}: no (node, commodity, day) "
                                   f"{_row(stock, r)} in the instance")
        u[i, d] = as_numpy(stock.column("unmet"), fill=0.0)
        if "stock" in stock.column_names:
            s = np.full((I, T), np.nan)
            s[i, d] = as_numpy(stock.column("stock"), fill=np.nan)
    return x, s, u


def _need(table: pa.Table, name: str, cols) -> None:
    missing = [c for c in cols if c not in table.column_names]
    if missing:
        raise InvalidPlanError(f"{name} table lacks column(s) {', '.join(missing)}")


def read_summary(path: str | os.PathLike) -> dict | None:
    """A plan directory's summary.json, or None when it has none."""
    f = Path(path) / "summary.json"
    if not f.is_file():
        return None
    try:
        doc = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:
        raise InvalidPlanError(f"cannot read {f}: {e}") from e
    if not isinstance(doc, dict):
        raise InvalidPlanError(f"{f} must hold a JSON object")
    return doc


def status_of(summary: dict | None) -> Status:
    """The status a summary declares; a plan without summary.json is taken to be feasible."""
    if not summary or summary.get("status") is None:
        return Status.FEASIBLE
    try:
        return Status(summary["status"])
    except ValueError:
        raise InvalidPlanError(f"summary.json status {summary['status']!r} is not one of "
                               + ", ".join(s.value for s in Status)) from None


def require_usable(plan, allow_nonoptimal: bool = False, what: str = "use") -> Status:
    """Refuse a plan whose status is not optimal or feasible (PlanNotUsableError, exit 2).

    `plan`: a Plan, a summary dict or a plan directory. Returns the status."""
    if isinstance(plan, Plan):
        summary, where = plan.summary, "the plan"
        status = plan.status
    elif isinstance(plan, dict):
        summary, where = plan, "the plan"
        status = status_of(summary)
    else:
        summary, where = read_summary(plan), f"plan {plan}"
        status = status_of(summary)
    if status in HAS_PLAN or allow_nonoptimal:
        return status
    msg = (summary or {}).get("message") or ""
    items = ((summary or {}).get("infeasibility") or {}).get("items")
    first = ""
    if isinstance(items, list) and items and isinstance(items[0], dict):
        it = items[0]
        first = f"; first to give way: {it.get('why') or it.get('requirement')}" + (
            f" — {it['fix']}" if it.get("fix") else "")
    raise PlanNotUsableError(
        f"{where} has status {status.value}, so there is no plan to {what}"
        + (f" ({msg})" if msg else "") + first
        + "; fix the instance and solve again, or allow non-optimal plans "
          "({allow_nonoptimal}) to proceed anyway", allow_nonoptimal=True)


def read_plan_tables(path: str | os.PathLike):
    """(flows, stock or None, summary or None, shadow_prices or None) of a plan directory,
    each table from NAME.arrow or NAME.parquet."""
    path = Path(path)
    if not path.is_dir():
        raise InvalidPlanError(f"{path} is not a directory; a plan is a directory holding "
                               "summary.json and flows.arrow or flows.parquet")
    summary = read_summary(path)
    flows = read_output_table(path, "flows")
    if flows is None:
        status = status_of(summary) if summary else None
        if status is not None and status not in HAS_PLAN:
            raise PlanNotUsableError(f"plan {path} has status {status.value} and holds no plan "
                                     "tables (flows, stock, orders)")
        raise InvalidPlanError(f"{path} has no flows.arrow or flows.parquet; "
                               "is it a plan directory?")
    return (flows, read_output_table(path, "stock"), summary,
            read_output_table(path, "shadow_prices"))


def read_plan(path: str | os.PathLike, instance: Instance) -> Plan:
    """Read a plan directory written by this or any other tool (Arrow IPC or Parquet)."""
    flows, stock, summary, shadow = read_plan_tables(path)
    summary = summary or {}
    status = status_of(summary)
    x, s, u = plan_arrays_from_tables(instance, flows, stock)
    if s is None or np.isnan(s).any():
        from .replay import stock_from_flows
        s = stock_from_flows(instance, x, u)
    floor = instance.floor
    r = np.where(instance.readiness_hard[:, None], 0.0, np.maximum(floor - s, 0.0))
    infeas = read_output_table(path, "infeasibility")
    return Plan(instance=instance, status=status, x=x, s=s, u=u, r=r,
                summary=summary, shadow_prices=shadow, infeasibility=infeas)


def as_plan(obj, instance: Instance) -> Plan:
    if isinstance(obj, Plan):
        return obj
    return read_plan(obj, instance)


__all__ = ["Plan", "flows_table", "stock_table", "orders_table", "plan_totals", "read_plan",
           "read_plan_tables", "read_summary", "require_usable", "status_of", "lane_ids",
           "write_plan_files", "INFEASIBILITY"]
