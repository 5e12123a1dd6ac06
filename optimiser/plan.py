"""Plans (SPEC section 4): arrays in the core, Arrow tables at the edge.

A Plan holds the decision arrays indexed like the Instance (x[L,T] dispatch by
lane and departure day, s/u/r[I,T]) and the same content as the Arrow tables
written to a plan directory: flows.arrow, stock.arrow, shadow_prices.arrow,
summary.json. `read_plan` rebuilds the arrays from the files alone, so plans
written by any tool can be checked, evaluated and reported on.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import InvalidPlanError
from .instance import Instance
from .io import as_numpy, read_raw, write_table

FLOWS_SCHEMA = pa.schema([
    ("origin", pa.string()), ("destination", pa.string()), ("commodity", pa.string()),
    ("mode", pa.string()), ("depart_day", pa.int32()), ("arrive_day", pa.int32()),
    ("quantity", pa.float64()),
])
STOCK_SCHEMA = pa.schema([
    ("node", pa.string()), ("commodity", pa.string()), ("day", pa.int32()),
    ("stock", pa.float64()), ("floor", pa.float64()), ("below_floor", pa.float64()),
    ("demand", pa.float64()), ("unmet", pa.float64()),
])
SHADOW_SCHEMA = pa.schema([
    ("constraint", pa.string()), ("name", pa.string()), ("supplier", pa.string()),
    ("node", pa.string()), ("origin", pa.string()), ("destination", pa.string()),
    ("commodity", pa.string()), ("mode", pa.string()), ("day", pa.int32()),
    ("limit", pa.float64()), ("used", pa.float64()), ("value", pa.float64()),
])

STATUSES = ("optimal", "feasible", "infeasible", "no_solution", "error")


@dataclass(eq=False)
class Plan:
    """A plan for an instance. Arrays: x [L, T] (0 where a lane cannot depart), s, u, r [I, T]."""

    instance: Instance
    status: str
    x: np.ndarray
    s: np.ndarray
    u: np.ndarray
    r: np.ndarray
    summary: dict = field(default_factory=dict)
    shadow_prices: pa.Table | None = None
    infeasibility: pa.Table | None = None

    @property
    def objective(self) -> float | None:
        return self.summary.get("objective")

    @property
    def breakdown(self) -> dict:
        return self.summary.get("breakdown", {})

    # tables ------------------------------------------------------------
    @property
    def flows(self) -> pa.Table:
        return flows_table(self.instance, self.x)

    @property
    def stock(self) -> pa.Table:
        return stock_table(self.instance, self.s, self.u)

    def tables(self) -> dict[str, pa.Table]:
        out = {"flows": self.flows, "stock": self.stock}
        if self.shadow_prices is not None:
            out["shadow_prices"] = self.shadow_prices
        if self.infeasibility is not None:
            out["infeasibility"] = self.infeasibility
        return out

    def write(self, path: str | os.PathLike, force: bool = False) -> Path:
        """Write the plan directory atomically (temp dir beside it, renamed into place)."""
        from ._atomic import atomic_dir

        protect = (self.instance.path,) if self.instance.path else ()
        with atomic_dir(path, force=force, protect=protect) as tmp:
            write_plan_files(self, tmp)
        return Path(path)

    def _repr_html_(self) -> str:  # pragma: no cover - exercised in notebooks
        try:
            from .report import plan_html
            return plan_html(self)
        except Exception:
            return f"<pre>{self!r}</pre>"

    def __repr__(self) -> str:
        obj = self.objective
        return (f"Plan({self.instance.name!r}, status={self.status!r}, "
                f"objective={obj if obj is None else f'{obj:,.2f}'})")


def flows_table(inst: Instance, x: np.ndarray) -> pa.Table:
    lane, day = np.nonzero(x > 0)
    lead = inst.lane_lead[lane]
    return pa.table({
        "origin": pa.array(inst.lane_origin_name[lane], type=pa.string()),
        "destination": pa.array(inst.lane_dest_name[lane], type=pa.string()),
        "commodity": pa.array(inst.commodities[inst.lane_commodity[lane]], type=pa.string()),
        "mode": pa.array(inst.lane_mode[lane], type=pa.string()),
        "depart_day": pa.array(day.astype(np.int32)),
        "arrive_day": pa.array((day + lead).astype(np.int32)),
        "quantity": pa.array(x[lane, day]),
    }, schema=FLOWS_SCHEMA)


def stock_table(inst: Instance, s: np.ndarray, u: np.ndarray) -> pa.Table:
    I, T = s.shape
    i = np.repeat(np.arange(I), T)
    day = np.tile(np.arange(T, dtype=np.int32), I)
    floor = inst.floor.ravel()
    stock = s.ravel()
    return pa.table({
        "node": pa.array(inst.node_names[inst.nc_node[i]], type=pa.string()),
        "commodity": pa.array(inst.commodities[inst.nc_commodity[i]], type=pa.string()),
        "day": pa.array(day),
        "stock": pa.array(stock),
        "floor": pa.array(floor),
        "below_floor": pa.array(np.maximum(floor - stock, 0.0)),
        "demand": pa.array(inst.demand.ravel()),
        "unmet": pa.array(u.ravel()),
    }, schema=STOCK_SCHEMA)


def write_plan_files(plan: Plan, directory: Path) -> None:
    for name, table in plan.tables().items():
        write_table(table, directory / f"{name}.arrow")
    (directory / "summary.json").write_text(json.dumps(plan.summary, indent=2, default=_json_default)
                                            + "\n", encoding="utf-8")


from ._json import json_default as _json_default  # noqa: E402  (kept for importers)


# reading -----------------------------------------------------------------
def _need(table: pa.Table, fname: str, cols: tuple[str, ...]) -> None:
    missing = [c for c in cols if c not in table.column_names]
    if missing:
        raise InvalidPlanError(f"{fname} lacks column(s) {', '.join(missing)}")


def _lane_ids(inst: Instance, flows: pa.Table) -> np.ndarray:
    """Lane id of each flows row by its key (origin, destination, commodity, mode); -1 if none."""
    keys = pa.array(_lane_keys(inst.lane_origin_name, inst.lane_dest_name,
                               inst.commodities[inst.lane_commodity], inst.lane_mode))
    mode = flows.column("mode") if "mode" in flows.column_names else pa.array([""] * flows.num_rows)
    fk = _lane_keys(as_numpy(flows.column("origin"), fill=""),
                    as_numpy(flows.column("destination"), fill=""),
                    as_numpy(flows.column("commodity"), fill=""), as_numpy(mode, fill=""))
    return as_numpy(pc.index_in(pa.array(fk), value_set=keys), fill=-1).astype(np.int64)


def _lane_keys(o, d, k, m) -> np.ndarray:
    sep = "\x1f"
    return np.char.add(np.char.add(np.char.add(np.char.add(np.char.add(
        np.char.add(o.astype(str), sep), d.astype(str)), sep), k.astype(str)), sep), m.astype(str))


def plan_arrays_from_tables(inst: Instance, flows: pa.Table, stock: pa.Table | None):
    """(x[L,T], s[I,T] or None, u[I,T]) from the plan's tables and the instance alone."""
    L, I, T = inst.n_lanes, inst.n_pairs, inst.horizon
    _need(flows, "flows.arrow", ("origin", "destination", "commodity", "depart_day", "quantity"))
    lane = _lane_ids(inst, flows)
    if (lane < 0).any():
        r = int(np.flatnonzero(lane < 0)[0])
        raise InvalidPlanError(f"flows.arrow row {r}: no lane {flows.slice(r, 1).to_pylist()[0]} "
                               "in the instance; was the plan made for another instance?")
    day = as_numpy(flows.column("depart_day"), fill=-1).astype(np.int64)
    if ((day < 0) | (day >= T)).any():
        r = int(np.flatnonzero((day < 0) | (day >= T))[0])
        raise InvalidPlanError(f"flows.arrow row {r}: depart_day {day[r]} outside 0..{T - 1}")
    x = np.zeros((L, T))
    np.add.at(x, (lane, day), as_numpy(flows.column("quantity"), fill=0.0).astype(np.float64))
    u = np.zeros((I, T))
    s = None
    if stock is not None:
        _need(stock, "stock.arrow", ("node", "commodity", "day", "unmet"))
        i = inst.node_pair_ids(stock.column("node"), stock.column("commodity"))
        d = as_numpy(stock.column("day"), fill=-1).astype(np.int64)
        bad = (i < 0) | (d < 0) | (d >= T)
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise InvalidPlanError(f"stock.arrow row {r}: no (node, commodity, day) "
                                   f"{stock.slice(r, 1).to_pylist()[0]} in the instance")
        u[i, d] = as_numpy(stock.column("unmet"), fill=0.0)
        if "stock" in stock.column_names:
            s = np.full((I, T), np.nan)
            s[i, d] = as_numpy(stock.column("stock"), fill=np.nan)
    return x, s, u


def read_plan_tables(path: str | os.PathLike):
    """(flows, stock or None, summary or None, shadow_prices or None) of a plan directory."""
    path = Path(path)
    if not (path / "flows.arrow").is_file():
        raise InvalidPlanError(f"{path} has no flows.arrow; is it a plan directory?")

    def table(name):
        return read_raw(path / name) if (path / name).is_file() else None

    try:
        summary = (json.loads((path / "summary.json").read_text(encoding="utf-8"))
                   if (path / "summary.json").is_file() else None)
        return (read_raw(path / "flows.arrow"), table("stock.arrow"), summary,
                table("shadow_prices.arrow"))
    except (pa.ArrowException, OSError, ValueError) as e:
        raise InvalidPlanError(f"cannot read plan {path}: {e}") from e


def read_plan(path: str | os.PathLike, instance: Instance) -> Plan:
    """Read a plan directory written by this or any other tool."""
    flows, stock, summary, shadow = read_plan_tables(path)
    summary = summary or {}
    x, s, u = plan_arrays_from_tables(instance, flows, stock)
    if s is None or np.isnan(s).any():
        from .replay import stock_from_flows
        s = stock_from_flows(instance, x, u)
    floor = instance.floor
    r = np.where(instance.readiness_hard[:, None], 0.0, np.maximum(floor - s, 0.0))
    return Plan(instance=instance, status=summary.get("status", "unknown"), x=x, s=s, u=u, r=r,
                summary=summary, shadow_prices=shadow)


def as_plan(obj, instance: Instance) -> Plan:
    if isinstance(obj, Plan):
        return obj
    return read_plan(obj, instance)
