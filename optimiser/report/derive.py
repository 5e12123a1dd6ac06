"""What the report computes from the tables: orders, shipments, per-commodity
headline figures, binding limits and infeasibility grouped into day ranges.

Quantities are kept per commodity throughout (different commodities are
different units and are never added); money may be summed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..instance import Instance
from .data import Columns, PlanData

EPS = 1e-9


# ---------------------------------------------------------------- dates


def start_date(inst: Instance) -> dt.date | None:
    """Calendar date of day 0, when the instance declares one."""
    value = getattr(inst, "start_date", None)
    if value is None and inst.path:
        try:
            value = json.loads((Path(inst.path) / "instance.json").read_text(encoding="utf-8")).get("start_date")
        except (OSError, ValueError, AttributeError):
            value = None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def day_text(day: int, start: dt.date | None) -> str:
    """"day 3" or "day 3 (2026-12-04)"."""
    if day < 0:
        return ""
    return f"{day}" if start is None else f"{day} ({(start + dt.timedelta(days=int(day))).isoformat()})"


def days_text(first: int, last: int, start: dt.date | None) -> str:
    """A day range for a table cell: "3", "3–29" or with dates "3–29 (2026-12-04 – 2026-12-30)"."""
    if first < 0:
        return ""
    if first == last:
        return day_text(first, start)
    if start is None:
        return f"{first}–{last}"
    a, b = (start + dt.timedelta(days=int(d)) for d in (first, last))
    return f"{first}–{last} ({a.isoformat()} – {b.isoformat()})"


# ---------------------------------------------------------------- orders


def _lane_index(inst: Instance) -> dict[tuple[str, str, str, str], int]:
    keys = zip(inst.lane_origin_name.tolist(), inst.lane_dest_name.tolist(),
               inst.commodities[inst.lane_commodity].tolist(), inst.lane_mode.tolist())
    return {k: j for j, k in enumerate(keys)}


def orders(plan: PlanData, inst: Instance) -> Columns:
    """The order schedule: the plan's orders table, or derived from its supplier flows.

    Columns: supplier, commodity, destination, mode, order_day, arrive_day,
    quantity, unit_price, cost, transport_cost (one row per supplier lane and
    dispatch day).
    """
    if plan.orders is not None:
        return plan.orders
    f = plan.flows
    suppliers = set(inst.supplier_names.tolist())
    if f is None:
        f = {k: np.empty(0, dtype=object if k in ("origin", "destination", "commodity", "mode") else float)
             for k in ("origin", "destination", "commodity", "mode", "depart_day", "arrive_day", "quantity")}
    buy = np.fromiter((o in suppliers for o in f["origin"]), dtype=bool, count=len(f["origin"]))
    lanes = _lane_index(inst)
    lane = np.fromiter((lanes.get(k, -1) for k in zip(f["origin"][buy], f["destination"][buy],
                                                       f["commodity"][buy], f["mode"][buy])),
                       dtype=np.int64, count=int(buy.sum()))
    known = lane >= 0
    price = np.where(known, inst.lane_price[np.maximum(lane, 0)], np.nan)
    lane_cost = np.where(known, inst.lane_cost[np.maximum(lane, 0)], np.nan)
    q = f["quantity"][buy]
    return {
        "supplier": f["origin"][buy], "commodity": f["commodity"][buy], "destination": f["destination"][buy],
        "mode": f["mode"][buy], "order_day": np.asarray(f["depart_day"][buy], dtype=np.int64),
        "arrive_day": np.asarray(f["arrive_day"][buy], dtype=np.int64), "quantity": q,
        "unit_price": price, "cost": q * price, "transport_cost": q * lane_cost,
    }


def shipments(plan: PlanData, inst: Instance) -> Columns:
    """Flows between nodes (origin a node): origin, destination, commodity, mode, days, quantity."""
    f = plan.flows
    if f is None:
        return {k: np.empty(0) for k in ("origin", "destination", "commodity", "mode", "depart_day",
                                         "arrive_day", "quantity")}
    suppliers = set(inst.supplier_names.tolist())
    move = np.fromiter((o not in suppliers for o in f["origin"]), dtype=bool, count=len(f["origin"]))
    return {k: v[move] for k, v in f.items()}


@dataclass(frozen=True)
class Run:
    """Consecutive days of one key with the same daily quantity."""

    key: tuple[Any, ...]
    first: int
    last: int
    lead: int  # arrive_day - first (for the arrival range)
    per_day: float
    total: float
    money: float  # summed cost over the run (NaN when unknown)
    transport: float


def runs(key_cols: Iterable[np.ndarray], day: np.ndarray, arrive: np.ndarray, quantity: np.ndarray,
         money: np.ndarray | None = None, transport: np.ndarray | None = None) -> list[Run]:
    """Group rows by key into runs of consecutive days with the same quantity (rel. 1e-9)."""
    keys = list(zip(*[c.tolist() for c in key_cols]))
    n = len(keys)
    money = np.full(n, np.nan) if money is None else money
    transport = np.full(n, np.nan) if transport is None else transport
    order = sorted(range(n), key=lambda r: (keys[r], int(day[r])))
    out: list[Run] = []
    cur: dict[str, Any] | None = None
    for r in order:
        q, d = float(quantity[r]), int(day[r])
        same = (cur is not None and cur["key"] == keys[r] and d == cur["last"] + 1
                and abs(q - cur["q"]) <= EPS * max(1.0, abs(q)) and int(arrive[r]) - d == cur["lead"])
        if same:
            cur["last"] = d
            cur["total"] += q
            cur["money"] += float(money[r])
            cur["transport"] += float(transport[r])
        else:
            if cur is not None:
                out.append(_run(cur))
            cur = {"key": keys[r], "first": d, "last": d, "lead": int(arrive[r]) - d, "q": q, "total": q,
                   "money": float(money[r]), "transport": float(transport[r])}
    if cur is not None:
        out.append(_run(cur))
    return out


def _run(c: dict[str, Any]) -> Run:
    return Run(c["key"], c["first"], c["last"], c["lead"], c["q"], c["total"], c["money"], c["transport"])


# ---------------------------------------------------------------- headline


@dataclass(frozen=True)
class CommodityLine:
    commodity: str
    demand: float
    unmet: float
    below_floor_unit_days: float
    days_below_floor: int
    has_floor: bool
    bought: list[tuple[str, float]]  # (supplier, quantity), most first; only suppliers that ordered
    spend: float  # procurement cost of this commodity

    @property
    def fill_rate(self) -> float:
        return 1.0 - self.unmet / self.demand if self.demand > 0 else float("nan")


def headline(stock: Columns | None, order_cols: Columns, inst: Instance) -> list[CommodityLine]:
    """Per commodity (instance order): demand, unmet, fill rate, readiness, what was bought from whom."""
    out = []
    for k in inst.commodities.tolist():
        demand = unmet = below = 0.0
        days_below, has_floor = 0, False
        if stock is not None:
            m = stock["commodity"] == k
            demand, unmet = float(stock["demand"][m].sum()), float(stock["unmet"][m].sum())
            floor = stock["floor"][m]
            has_floor = bool((floor > 0).any())
            breach = stock["below_floor"][m] > 1e-6 * np.maximum(1.0, floor)
            below = float(stock["below_floor"][m][breach].sum())
            days_below = len(np.unique(stock["day"][m][breach]))
        om = order_cols["commodity"] == k
        by: dict[str, float] = {}
        for s, q in zip(order_cols["supplier"][om].tolist(), order_cols["quantity"][om].tolist()):
            by[s] = by.get(s, 0.0) + q
        bought = sorted(((s, q) for s, q in by.items() if q > EPS), key=lambda sq: (-sq[1], sq[0]))
        out.append(CommodityLine(k, demand, unmet, below, days_below, has_floor, bought,
                                 float(np.nansum(order_cols["cost"][om]))))
    return out


# ---------------------------------------------------------------- binding limits


@dataclass(frozen=True)
class Binding:
    """One limit that binds, with the days it binds on grouped into ranges."""

    constraint: str
    what: str  # supplier / lane / pair, plain text (not escaped)
    ranges: tuple[tuple[int, int], ...]  # (first, last) day ranges; empty: not per day
    limit_lo: float
    limit_hi: float
    value_lo: float
    value_hi: float

    @property
    def days(self) -> int:
        return sum(b - a + 1 for a, b in self.ranges)

    @property
    def first(self) -> int:
        return self.ranges[0][0] if self.ranges else -1


def day_ranges(days: Iterable[int]) -> tuple[tuple[int, int], ...]:
    """Sorted distinct days as (first, last) ranges of consecutive days."""
    out: list[list[int]] = []
    for day in sorted(set(days)):
        if out and day == out[-1][1] + 1:
            out[-1][1] = day
        else:
            out.append([day, day])
    return tuple((a, b) for a, b in out)


def ranges_text(ranges: Iterable[tuple[int, int]], start: dt.date | None, limit: int = 4) -> str:
    """"0–3, 5, 12–18" (the first ``limit`` ranges, then how many more)."""
    ranges = list(ranges)
    text = ", ".join(days_text(a, b, start) for a, b in ranges[:limit])
    if len(ranges) > limit:
        text += f" and {len(ranges) - limit} more ranges"
    return text


def _what(c: Columns, i: int) -> str:
    from .text import safe

    k = c["constraint"][i]
    if k in ("supplier_capacity", "contract_max", "contract_min") and c["supplier"][i]:
        return f"{safe(c['supplier'][i])} · {safe(c['commodity'][i])}"
    if k == "lane_capacity" and c["origin"][i]:
        mode = f" ({safe(c['mode'][i])})" if c["mode"][i] else ""
        return f"{safe(c['origin'][i])} → {safe(c['destination'][i])} · {safe(c['commodity'][i])}{mode}"
    if c["node"][i]:
        return f"{safe(c['node'][i])} · {safe(c['commodity'][i])}"
    return safe(c["name"][i]) or k


def binding_groups(shadow: Columns | None) -> list[Binding]:
    """Binding limits, one row per limit with its days grouped into ranges, largest shadow price first.

    A row binds when its shadow price is not zero or its limit is fully used.
    """
    if shadow is None or not len(shadow["constraint"]):
        return []
    c = shadow
    limit, used, value = c["limit"], c["used"], c["value"]
    tight = np.isfinite(limit) & np.isfinite(used) & (np.abs(used - limit) <= 1e-6 * np.maximum(1.0, np.abs(limit)))
    keep = np.flatnonzero((np.abs(value) > 1e-12) | tight)
    cols = ("constraint", "supplier", "node", "origin", "destination", "commodity", "mode")
    groups: dict[tuple[str, ...], list[int]] = {}
    for r in keep.tolist():
        key = tuple(c[k][r] for k in cols)
        if not any(key[1:]):
            key += (c["name"][r],)  # e.g. the budget: named only
        groups.setdefault(key, []).append(r)
    out = []
    for rows in groups.values():
        ix = np.asarray(rows)
        days = [int(x) for x in c["day"][ix] if x >= 0]
        lim = limit[ix][np.isfinite(limit[ix])]
        out.append(Binding(
            c["constraint"][ix[0]], _what(c, int(ix[0])), day_ranges(days),
            float(lim.min()) if len(lim) else np.nan, float(lim.max()) if len(lim) else np.nan,
            float(value[ix].min()), float(value[ix].max()),
        ))
    out.sort(key=lambda b: (-abs(b.value_hi), b.constraint, b.what, b.first))
    return out


# ---------------------------------------------------------------- infeasibility


@dataclass(frozen=True)
class Requirement:
    """A hard requirement that must give way (days first..last; -1 when not per day)."""

    requirement: str
    node: str
    supplier: str
    commodity: str
    first: int
    last: int
    violation: float
    required: float
    why: str = ""  # the engine's explanation, if it gives one
    fix: str = ""  # the engine's fix, if it gives one


def _text_of(x: Mapping[str, Any], *keys: str) -> str:
    parts: list[str] = []
    for k in keys:
        v = x.get(k)
        if isinstance(v, str) and v:
            parts.append(v)
        elif isinstance(v, list):
            parts += [s for s in v if isinstance(s, str) and s]
    return "; ".join(parts)


def infeasibility_items(summary: Mapping[str, Any], table: Columns | None) -> list[Requirement]:
    """What must give way, largest first: summary.json ``infeasibility.items`` when present,
    else the infeasibility table grouped into day ranges per requirement and place."""
    info = summary.get("infeasibility")
    items = info.get("items") if isinstance(info, Mapping) else None
    out: list[Requirement] = []
    if isinstance(items, list) and items and all(isinstance(x, Mapping) for x in items):
        for x in items:
            out.append(Requirement(
                str(x.get("requirement") or ""), str(x.get("node") or ""), str(x.get("supplier") or ""),
                str(x.get("commodity") or ""), _int(x.get("first_day")), _int(x.get("last_day", x.get("first_day"))),
                _num(x.get("violation")), _num(x.get("required")),
                _text_of(x, "why", "reason", "explanation"), _text_of(x, "fix", "fixes", "suggestion", "suggestions"),
            ))
    elif table is not None and len(table["requirement"]):
        t = table
        day = np.where(t["first_day"] >= 0, t["first_day"], t["day"])
        last = np.where(t["last_day"] >= 0, t["last_day"], day)
        key = list(zip(t["requirement"].tolist(), t["node"].tolist(), t["supplier"].tolist(), t["commodity"].tolist()))
        order = sorted(range(len(key)), key=lambda r: (key[r], int(day[r])))
        for r in order:
            prev = out[-1] if out else None
            if (prev is not None and (prev.requirement, prev.node, prev.supplier, prev.commodity) == key[r]
                    and day[r] >= 0 and day[r] == prev.last + 1):
                out[-1] = Requirement(prev.requirement, prev.node, prev.supplier, prev.commodity, prev.first,
                                      int(last[r]), max(prev.violation, float(t["violation"][r])),
                                      max(prev.required, float(t["required"][r])))
            else:
                out.append(Requirement(*key[r], int(day[r]), int(last[r]), float(t["violation"][r]),
                                       float(t["required"][r])))
    out.sort(key=lambda q: -np.nan_to_num(q.violation))
    return out


def _int(v: Any) -> int:
    return int(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) else -1


def _num(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else float("nan")


def why(q: Requirement, inst: Instance, start: dt.date | None) -> str | None:
    """Why a hard floor cannot hold, when the lead times say so (plain text)."""
    from .text import safe

    if q.requirement != "readiness_floor" or not q.node:
        return None
    ids = inst.node_pair_ids([q.node], [q.commodity]) if q.commodity else np.array([-1])
    i = int(ids[0]) if len(ids) else -1
    if i < 0:
        return None
    into = np.flatnonzero(inst.lane_dest == i)
    if not len(into):
        return f"no lane delivers {safe(q.commodity)} to {safe(q.node)} at all"
    first = int(inst.lane_lead[into].min())
    if first >= inst.horizon:
        return f"no lane into {safe(q.node)} can deliver {safe(q.commodity)} within the horizon"
    if q.first < first:
        return (f"the earliest any lane can deliver {safe(q.commodity)} to {safe(q.node)} is day "
                f"{day_text(first, start)} (the shortest lead time into it), and the floor is short from day "
                f"{day_text(max(q.first, 0), start)}")
    return None


def fixes(q: Requirement, inst: Instance, start: dt.date | None) -> list[str]:
    """What would let the requirement hold, in plain words (plain text, not escaped)."""
    from .text import safe

    v = q.violation
    amount = f"{v:,.6g}" if np.isfinite(v) else "the amount shown"
    days = days_text(q.first, q.last, start)
    where = f"{safe(q.node or q.supplier)} · {safe(q.commodity)}"
    if q.requirement == "readiness_floor":
        lower = (f" (to {q.required - v:,.6g}, the most it is short by on those days)"
                 if np.isfinite(q.required) and np.isfinite(v) else "")
        out = [
            f"lower the floor of {where} on day(s) {days} by {amount}{lower}",
            f"make the floor of {where} soft (readiness_hard = false): the plan then pays the readiness "
            "penalty instead",
        ]
        if q.first <= 0:
            out.append(f"add {amount} of initial stock at {safe(q.node)}: the floor is short from day 0, before "
                       "anything ordered can arrive")
        else:
            out.append(f"add a pipeline arrival at {safe(q.node)} by day {days_text(q.first, q.first, start)}, or a "
                       "supplier or lane that can deliver by then")
        return out
    if q.requirement == "storage":
        return [
            f"raise max_stock of {where} by {amount}",
            f"schedule fewer pipeline arrivals into {safe(q.node)} on day(s) {days}, or add a lane out of it",
        ]
    if q.requirement == "contract_min":
        return [
            f"lower contract_min of {where} by {amount}",
            f"raise the daily capacity of {safe(q.supplier)} or of its lanes, or add storage at the destinations, "
            "so the minimum can be taken",
        ]
    if q.requirement == "budget":
        return [f"raise the budget by {amount}", "lower the contract minimums that force spending"]
    return [f"relax this requirement by {amount}"]


# ---------------------------------------------------------------- procurement


@dataclass(frozen=True)
class Procurement:
    """Daily orders per (supplier, commodity) next to the limits that apply.

    Rows are the instance's supplier pairs; ``ordered`` and ``capacity`` are
    (pairs, horizon) matrices in units/day; contract limits are totals over
    the horizon (NaN max: none).
    """

    supplier: np.ndarray
    commodity: np.ndarray
    ordered: np.ndarray
    capacity: np.ndarray
    contract_min: np.ndarray
    contract_max: np.ndarray

    def capacity_binds(self, rtol: float = 1e-6) -> np.ndarray:
        """(pairs, horizon) mask of days on which orders reach the daily capacity."""
        cap = self.capacity
        return (self.ordered > 0) & np.isfinite(cap) & (self.ordered >= cap - rtol * np.maximum(1.0, np.abs(cap)))


def procurement(order_cols: Columns, inst: Instance, horizon: int | None = None) -> Procurement:
    """Orders summed by (supplier, commodity, order day); capacity with the day overrides applied."""
    T = max(int(horizon or inst.horizon), 1)
    pairs = {k: p for p, k in enumerate(zip(inst.supplier_names[inst.sp_supplier].tolist(),
                                            inst.commodities[inst.sp_commodity].tolist()))}
    row = np.fromiter((pairs.get(k, -1) for k in zip(order_cols["supplier"].tolist(), order_cols["commodity"].tolist())),
                      dtype=np.int64, count=len(order_cols["supplier"]))
    day = order_cols["order_day"]
    ok = (row >= 0) & (day >= 0) & (day < T)
    ordered = np.zeros((len(pairs), T))
    np.add.at(ordered, (row[ok], day[ok]), order_cols["quantity"][ok])
    cap = np.full((len(pairs), T), np.inf)
    cap[:, : min(T, inst.capacity.shape[1])] = inst.capacity[:, :T]
    return Procurement(
        supplier=np.asarray(inst.supplier_names[inst.sp_supplier], dtype=object),
        commodity=np.asarray(inst.commodities[inst.sp_commodity], dtype=object),
        ordered=ordered, capacity=cap, contract_min=np.asarray(inst.contract_min, dtype=float),
        contract_max=np.where(np.isfinite(inst.contract_max), inst.contract_max, np.nan),
    )
