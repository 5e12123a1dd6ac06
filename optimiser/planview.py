"""Plans for a person: the solve summary, and the tables `optimiser show` prints.

Reads only the plan directory (any tool's, Arrow IPC or Parquet) or a Plan object;
quantities are always given per commodity (different commodities are never added),
money may be summed. Days are shown as dates when the plan's summary records the
instance's start_date.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import UsageError
from .outputs import CONSTRAINT_KINDS, DATE_OF, read_output_table, with_dates

VIEWS = ("orders", "shipments", "stock", "binding", "infeasibility")
_ENTITY = ("constraint", "supplier", "node", "origin", "destination", "commodity", "mode")


def printable(v) -> str:
    """A name safe for a terminal: control characters escaped, never raw."""
    s = "" if v is None else str(v)
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in s)


def start_date(summary: dict | None) -> dt.date | None:
    v = (summary or {}).get("start_date")
    if not v:
        return None
    try:
        return dt.date.fromisoformat(str(v))
    except ValueError:
        return None


def _day_text(day, start: dt.date | None) -> str:
    if day is None:
        return ""
    return (start + dt.timedelta(days=int(day))).isoformat() if start else f"day {day}"


def _range_text(a, b, start) -> str:
    if a is None:
        return "whole horizon"
    if a == b:
        return _day_text(a, start)
    if start:
        return f"{_day_text(a, start)} to {_day_text(b, start)}"
    return f"days {a}-{b}"


# binding limits grouped into day ranges -------------------------------------------
_RANGES = pa.schema([
    ("constraint", pa.string()), ("label", pa.string()), ("supplier", pa.string()),
    ("node", pa.string()), ("origin", pa.string()), ("destination", pa.string()),
    ("commodity", pa.string()), ("mode", pa.string()), ("first_day", pa.int32()),
    ("last_day", pa.int32()), ("days", pa.int32()), ("value_min", pa.float64()),
    ("value_max", pa.float64()), ("limit", pa.float64())])


def _codes(col) -> np.ndarray:
    """Integer code per value (nulls -1): names compared as codes, never as joined strings."""
    enc = col.combine_chunks().dictionary_encode() if isinstance(col, pa.ChunkedArray) \
        else col.dictionary_encode()
    return np.asarray(pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False), np.int64)


def binding_ranges(shadow: pa.Table | None) -> pa.Table:
    """Shadow prices grouped: one row per limit (constraint kind and where) and run of
    consecutive days, with the smallest and largest value over the run; largest first.
    Vectorised: sort by (limit, day), break where the limit changes or a day is skipped."""
    if shadow is None or shadow.num_rows == 0:
        return _RANGES.empty_table()
    n = shadow.num_rows
    keys = [c for c in _ENTITY if c in shadow.column_names]
    codes = [_codes(shadow.column(c)) for c in keys]
    day = (np.asarray(pc.fill_null(shadow.column("day"), -1).to_numpy(), np.int64)
           if "day" in shadow.column_names else np.full(n, -1, np.int64))
    order = np.lexsort((day, *reversed(codes)))
    K = np.column_stack([c[order] for c in codes]) if codes else np.zeros((n, 0), np.int64)
    d = day[order]
    brk = np.ones(n, dtype=bool)
    brk[1:] = (K[1:] != K[:-1]).any(axis=1) | (d[1:] != d[:-1] + 1) | (d[1:] < 0)
    starts = np.flatnonzero(brk)
    ends = np.append(starts[1:], n) - 1
    val = shadow.column("value").to_numpy()[order]
    lim = (shadow.column("limit").to_numpy()[order] if "limit" in shadow.column_names
           else np.full(n, np.nan))
    first = shadow.take(pa.array(order[starts]))
    out = {c: first.column(c) if c in first.column_names else pa.nulls(len(starts), pa.string())
           for c in ("constraint", "supplier", "node", "origin", "destination", "commodity",
                     "mode")}
    out["label"] = pa.array([_label(r) for r in first.select(
        [c for c in keys]).to_pylist()], pa.string())
    fd, ld = d[starts], d[ends]
    out["first_day"] = pa.array(np.where(fd < 0, 0, fd).astype(np.int32), mask=fd < 0)
    out["last_day"] = pa.array(np.where(ld < 0, 0, ld).astype(np.int32), mask=ld < 0)
    out["days"] = pa.array((ends - starts + 1).astype(np.int32))
    out["value_min"] = pa.array(np.minimum.reduceat(val, starts))
    out["value_max"] = pa.array(np.maximum.reduceat(val, starts))
    out["limit"] = pa.array(lim[starts])
    t = pa.table({f.name: out[f.name] for f in _RANGES}, schema=_RANGES)
    return t.take(pa.array(np.argsort(-out["value_max"].to_numpy(), kind="stable")))


def _label(r: dict) -> str:
    kind = r.get("constraint") or ""
    label = CONSTRAINT_KINDS.get(kind, (kind, ""))[0]
    lane = [r.get(c) for c in ("origin", "destination") if r.get(c)]
    place = " -> ".join(printable(w) for w in lane) or printable(r.get("supplier")
                                                                 or r.get("node") or "")
    label = f"{label} {place}".strip()
    if r.get("commodity"):
        label += f" {printable(r['commodity'])}"
    if r.get("mode"):
        label += f" ({printable(r['mode'])})"
    return label


# the summary printed by `solve` ---------------------------------------------------
def _money(v) -> str:
    return "n/a" if v is None else f"{v:,.2f}"


def format_plan_summary(plan) -> str:
    """The human summary of a solved Plan: status, costs, per-commodity figures, orders by
    supplier and commodity, what must give way (infeasible) or what limits the plan."""
    s = plan.summary
    status = str(s.get("status", plan.status))
    start = start_date(s)
    lines = [f"instance {printable(s.get('instance'))}: {status.upper()}"
             + (f" — {s['message']}" if s.get("message") and status != "infeasible" else "")]
    if start:
        lines.append(f"day 0 is {start.isoformat()}")
    if s.get("objective") is not None:
        lines.append(f"objective {_money(s['objective'])}")
        for k, v in s["breakdown"].items():
            lines.append(f"  {k:<18} {_money(v):>20}")
        tot = s.get("totals") or {}
        by = tot.get("by_commodity") or {}
        if by:
            lines.append("per commodity (units of that commodity):")
            lines.append(f"  {'commodity':<16} {'ordered':>14} {'demand':>14} {'unmet':>12} "
                         f"{'fill':>8} {'below floor':>14} {'days':>5}")
            for k, c in by.items():
                fill = 1.0 - c["unmet"] / c["demand"] if c["demand"] else 1.0
                lines.append(f"  {printable(k):<16} {c['ordered']:>14,.1f} {c['demand']:>14,.1f} "
                             f"{c['unmet']:>12,.1f} {fill:>8.2%} "
                             f"{c['below_floor_unit_days']:>14,.1f} {c['days_below_floor']:>5}")
            if any(c["unmet"] > 0 for c in by.values()):
                lines.append("  unmet consumption is rationed where buying or moving more would "
                             "cost more than its shortfall penalty, or capacity cannot deliver it")
        ordered = [(sup, com, q) for sup, per in (tot.get("ordered") or {}).items()
                   for com, q in per.items() if q > 0]
        if ordered:
            lines.append("ordered: " + ", ".join(f"{printable(sup)} {q:,.0f} {printable(com)}"
                                                 for sup, com, q in ordered))
    info = s.get("infeasibility") or {}
    items = info.get("items") or []
    if status == "infeasible" or items:
        lines.append(f"what must give way (least total violation "
                     f"{info.get('total_violation', 0) or 0:,.2f}):")
        for it in items[:15]:
            where = printable(it.get("node") or it.get("supplier") or "")
            com = printable(it.get("commodity") or "")
            lines.append(f"  {it['requirement']:<16} {where}{'/' if com else ''}{com} "
                         f"{_range_text(it.get('first_day'), it.get('last_day'), start)}: "
                         f"short by {it['violation']:,.6g}")
            if it.get("why"):
                lines.append(f"      why: {it['why']}")
            if it.get("fix"):
                lines.append(f"      fix: {it['fix']}")
        if len(items) > 15:
            lines.append(f"  ... and {len(items) - 15} more in summary.json infeasibility.items")
    sp = plan.shadow_prices
    if sp is not None and sp.num_rows:
        br = binding_ranges(sp).to_pylist()
        lines.append(f"what limits the plan ({sp.num_rows} binding limit-days in {len(br)} "
                     "ranges; value of one more unit):")
        for r in br[:10]:
            val = (_money(r["value_max"]) if r["value_min"] == r["value_max"]
                   else f"{_money(r['value_min'])}..{_money(r['value_max'])}")
            lines.append(f"  {r['label']:<48} {_range_text(r['first_day'], r['last_day'], start):<22}"
                         f" {val:>20}")
        if len(br) > 10:
            lines.append(f"  ... and {len(br) - 10} more: optimiser show PLAN binding")
    elif (s.get("duals") or {}).get("source") is None and status == "optimal":
        lines.append("shadow prices: not available (no duals passed the KKT check)")
    size = s.get("size", {})
    solver = (s.get("solver") or {}).get("name", "")
    lines.append(f"model: {size.get('variables', 0):,} variables, {size.get('constraints', 0):,} "
                 f"constraints, {size.get('nonzeros', 0):,} nonzeros; solver {solver}")
    chk = s.get("check")
    if chk:
        lines.append("check: " + ("passed" if chk["ok"] else "FAILED")
                     + f" (tolerance {chk['tolerance']:g})")
    return "\n".join(lines)


# `optimiser show` ----------------------------------------------------------------------
def show_table(plan_dir: str | os.PathLike, view: str, commodity: str | None = None,
               summary: dict | None = None) -> pa.Table:
    """The table `optimiser show PLAN VIEW` prints, with date columns when the plan has a
    start_date; filtered to one commodity if given."""
    if view not in VIEWS:
        raise UsageError(f"unknown view {view!r}; choose one of {', '.join(VIEWS)}")
    plan_dir = Path(plan_dir)
    start = start_date(summary)
    if view == "infeasibility":
        items = ((summary or {}).get("infeasibility") or {}).get("items") or []
        t = pa.Table.from_pylist(
            [{k: it.get(k) for k in ("requirement", "node", "supplier", "commodity", "first_day",
                                     "last_day", "violation", "why", "fix")} for it in items],
            schema=pa.schema([("requirement", pa.string()), ("node", pa.string()),
                              ("supplier", pa.string()), ("commodity", pa.string()),
                              ("first_day", pa.int32()), ("last_day", pa.int32()),
                              ("violation", pa.float64()), ("why", pa.string()),
                              ("fix", pa.string())]))
    elif view == "binding":
        t = binding_ranges(read_output_table(plan_dir, "shadow_prices"))
    else:
        t = _plan_view(plan_dir, view)
    if commodity is not None and "commodity" in t.column_names:
        known = [k for k in pc.unique(t.column("commodity")).to_pylist() if k is not None]
        if known and commodity not in known:
            import difflib

            near = difflib.get_close_matches(commodity, known, n=3) or sorted(known)[:5]
            raise UsageError(f"{{commodity}}: no such commodity in the {view} table; did you "
                             f"mean {', '.join(map(repr, near))}?", commodity=printable(commodity))
        t = t.filter(pc.fill_null(pc.equal(t.column("commodity"), commodity), False))
    t = t.select([c for c in t.column_names if c not in DATE_OF.values()])
    t = with_dates(t, start)
    if start is not None:
        for day_col in ("first_day", "last_day"):
            if day_col in t.column_names:
                t = _add_date(t, day_col, day_col.replace("_day", "_date"), start)
    return t


def _add_date(t: pa.Table, day_col: str, date_col: str, start: dt.date) -> pa.Table:
    days = t.column(day_col)
    epoch = (start - dt.date(1970, 1, 1)).days
    arr = pc.add(days.cast(pa.int32()), epoch).cast(pa.int32()).cast(pa.date32())
    return t.add_column(t.schema.get_field_index(day_col) + 1, date_col, arr)


def _plan_view(plan_dir: Path, view: str) -> pa.Table:
    stock = read_output_table(plan_dir, "stock")
    if view == "stock":
        if stock is None:
            raise UsageError(f"{plan_dir} has no stock table; it holds no plan")
        keep = [c for c in ("node", "commodity", "day", "stock", "floor", "below_floor", "demand",
                            "unmet", "planning_floor") if c in stock.column_names]
        return stock.select(keep)
    if view == "orders":
        orders = read_output_table(plan_dir, "orders")
        if orders is not None:
            return orders
    flows = read_output_table(plan_dir, "flows")
    if flows is None:
        raise UsageError(f"{plan_dir} has no plan tables (flows, stock, orders); "
                         "see its summary.json (`optimiser show PLAN infeasibility`)")
    nodes = pc.unique(stock.column("node")) if stock is not None else pa.array([], pa.string())
    from_node = pc.fill_null(pc.is_in(flows.column("origin"), value_set=nodes), False)
    if view == "shipments":
        t = flows.filter(from_node)
        return t.select([c for c in ("origin", "destination", "commodity", "mode", "depart_day",
                                     "arrive_day", "quantity") if c in t.column_names])
    # orders of a plan written without orders.arrow: flows out of suppliers (no prices)
    t = flows.filter(pc.invert(from_node))
    return t.rename_columns(["supplier" if c == "origin" else "order_day" if c == "depart_day"
                             else c for c in t.column_names])


def format_table(t: pa.Table, max_rows: int | None = None) -> str:
    """Aligned text columns for a terminal; names escaped, numbers with separators."""
    names = t.column_names
    rows = t.to_pylist() if max_rows is None else t.slice(0, max_rows).to_pylist()
    cells = [[_cell(r[c]) for c in names] for r in rows]
    num = [pa.types.is_floating(t.schema.field(c).type) or pa.types.is_integer(
        t.schema.field(c).type) for c in names]
    width = [max([len(c)] + [len(row[j]) for row in cells]) for j, c in enumerate(names)]
    width = [min(w, 60) for w in width]

    def fmt(vals):
        out = []
        for j, (v, w) in enumerate(zip(vals, width)):
            v = v if len(v) <= w else v[:w - 1] + "…"
            out.append(v.rjust(w) if num[j] else v.ljust(w))
        return "  ".join(out).rstrip()

    out = [fmt(names), fmt(["-" * w for w in width])] + [fmt(r) for r in cells]
    if max_rows is not None and t.num_rows > max_rows:
        out.append(f"... {t.num_rows - max_rows} more rows")
    return "\n".join(out)


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        if v == int(v) and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:,.4g}" if abs(v) < 1e-3 else f"{v:,.2f}"
    if isinstance(v, (int, np.integer)):
        return str(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return printable(v)
