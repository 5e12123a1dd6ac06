"""Validation of an instance (docs/FORMAT.md): every problem reported at once.

Each problem names the table, the 0-based row number and the column, and says
how to fix it. Checks are vectorised (numpy/pyarrow masks); at most
MAX_ROWS_PER_PROBLEM rows are listed for one kind of problem, then a count.
Names in messages are escaped (optimiser/names.py) and an unknown name comes
with the nearest known ones.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .errors import Problem
from .io import DATE_SOURCE, as_numpy, meta_start_date
from .memory import available_bytes, fmt_bytes, instance_bytes
from .names import did_you_mean, shown
from .schema import (
    BUDGET_LIMIT,
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_HORIZON_DAYS,
    TABLES,
    Table,
)

MAX_ROWS_PER_PROBLEM = 10


def _report(problems: list[Problem], fname: str, column: str | None, mask: np.ndarray,
            message: Callable[[int], str]) -> None:
    rows = np.flatnonzero(mask)
    for r in rows[:MAX_ROWS_PER_PROBLEM]:
        problems.append(Problem(fname, int(r), column, message(int(r))))
    if len(rows) > MAX_ROWS_PER_PROBLEM:
        first = message(int(rows[0]))
        problems.append(Problem(fname, None, column,
                                f"... and {len(rows) - MAX_ROWS_PER_PROBLEM} more rows with the "
                                f"same kind of problem as row {int(rows[0])} ({first})"))


def validate_meta(meta: dict | None) -> tuple[list[Problem], int | None]:
    """Check instance.json; None means it could not be read (already reported by io)."""
    f = "instance.json"
    p: list[Problem] = []
    if meta is None:
        return p, None
    if not isinstance(meta, dict):
        return [Problem(f, None, None, "must hold a JSON object")], None
    if meta.get("format") != FORMAT_NAME:
        p.append(Problem(f, None, "format", f'must be "{FORMAT_NAME}" (found {meta.get("format")!r})'))
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        p.append(Problem(f, None, "version", f"must be the integer {FORMAT_VERSION} (found {version!r})"))
    elif version > FORMAT_VERSION:
        p.append(Problem(f, None, "version",
                         f"is {version}, but this optimiser reads format version {FORMAT_VERSION}; "
                         "upgrade optimiser or write the instance in version 1"))
    elif version < 1:
        p.append(Problem(f, None, "version", f"must be {FORMAT_VERSION} (found {version})"))
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        p.append(Problem(f, None, "name", f"must be a non-empty string (found {name!r})"))
    t = meta.get("horizon_days")
    horizon = None
    if "horizon_days" not in meta:
        p.append(Problem(f, None, "horizon_days", "is missing: give the number of days planned (>= 1)"))
    elif not isinstance(t, int) or isinstance(t, bool) or t < 1:
        p.append(Problem(f, None, "horizon_days", f"must be an integer >= 1 (found {_short(t)})"))
    elif t > MAX_HORIZON_DAYS:
        p.append(Problem(f, None, "horizon_days",
                         f"is {_short(t)}, but at most {MAX_HORIZON_DAYS:,} days (about "
                         f"{MAX_HORIZON_DAYS // 365} years) can be planned day by day; "
                         "shorten the horizon"))
    else:
        horizon = t
    budget = meta.get("budget")
    if budget is not None and (not isinstance(budget, int | float) or isinstance(budget, bool)
                               or (isinstance(budget, float) and not math.isfinite(budget))
                               or budget < 0):
        p.append(Problem(f, None, "budget",
                         f"must be a finite number >= 0, or null for no budget (found {_short(budget)})"))
    elif budget is not None and budget > BUDGET_LIMIT:
        p.append(Problem(f, None, "budget",
                         f"is {_short(budget)}, above the largest budget accepted ({BUDGET_LIMIT:g}); "
                         "give null for no budget"))
    desc = meta.get("description")
    if desc is not None and not isinstance(desc, str):
        p.append(Problem(f, None, "description", "must be a string"))
    start = meta_start_date(meta)
    if start is not None and not isinstance(start, _dt.date):
        p.append(Problem(f, None, "start_date",
                         f"must be an ISO 8601 date such as \"2026-12-01\" (found {_short(start)})"))
    elif isinstance(start, _dt.date) and horizon is not None and \
            (_dt.date.max - start).days < horizon - 1:
        p.append(Problem(f, None, "start_date",
                         f"is {start.isoformat()}, so the last of {horizon:,} days would fall after "
                         "9999-12-31; choose an earlier start_date"))
    return p, horizon


def _short(v: object) -> str:
    """A JSON value in a message: escaped, and a 400-digit integer shown by its size."""
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10**15:
        return f"a {len(str(abs(v)))}-digit integer"
    return shown(v, 40)


def _num(x) -> str:
    return str(int(x)) if isinstance(x, np.integer) else f"{x:g}"


def resource_problems(horizon: int, supplier_pairs: int, node_pairs: int, lanes: int,
                      available: int | None = None) -> list[Problem]:
    """The instance is refused when its dense arrays and LP cannot fit in the memory
    available now (measured: optimiser/memory.py), before anything is allocated."""
    dense, lp = instance_bytes(horizon, supplier_pairs, node_pairs, lanes)
    available = available_bytes() if available is None else available
    if dense + lp <= available:
        return []
    return [Problem("instance.json", None, "horizon_days",
                    f"{horizon:,} days x ({supplier_pairs:,} supplier rows + {node_pairs:,} node "
                    f"rows + {lanes:,} lanes) needs about {fmt_bytes(dense)} of daily arrays and "
                    f"{fmt_bytes(lp)} for the LP, more than the {fmt_bytes(available)} of memory "
                    "available now; shorten the horizon, split the instance (by commodity or "
                    "region), or use a machine with more memory")]


def _check_values(decl: Table, fname: str, t: pa.Table, problems: list[Problem]) -> None:
    """Nulls, NaN, infinities, minimums, for every declared column."""
    dated = DATE_SOURCE in (t.schema.metadata or {})
    for col in decl.columns:
        arr = t.column(col.name)
        shown_name = "date" if dated and col.name == "day" else col.name
        if not col.nullable and arr.null_count:
            mask = as_numpy(arr.is_null())
            _report(problems, fname, shown_name, mask,
                    lambda r, c=col: f"is null; give a value ({c.doc})")
        if col.kind in ("float", "int"):
            raw = as_numpy(arr, fill=0)
            v = raw.astype(np.float64, copy=False)
            # integers are shown as they are (2**40, not 1.09951e+12)
            disp = raw if col.kind == "int" else v
            if col.kind == "float":
                nan = np.isnan(v)
                if nan.any():
                    _report(problems, fname, col.name, nan, lambda r: "is NaN; give a number")
                inf = np.isinf(v)
                if col.nullable:
                    inf &= v < 0
                if inf.any():
                    _report(problems, fname, col.name, inf,
                            lambda r, c=col: "is infinite; give a finite number"
                            + (" (or null for no limit)" if c.nullable else ""))
            if col.maximum is not None:
                high = np.isfinite(v) & (np.abs(v) > col.maximum)
                if high.any():
                    _report(problems, fname, col.name, high,
                            lambda r, c=col, v=disp: f"is {_num(v[r])}, above the largest value accepted "
                            f"({c.maximum:g}; {c.doc})" + (
                                "; give null for no limit" if c.nullable else
                                "" if c.kind == "int" else "; use larger units (thousands, tonnes)"))
            if col.minimum is not None and shown_name == col.name:
                low = v < col.minimum
                if low.any():
                    _report(problems, fname, col.name, low,
                            lambda r, c=col, v=disp: f"is {_num(v[r])} but must be >= {c.minimum:g} ({c.doc})")


def _encode(col: pa.ChunkedArray) -> tuple[np.ndarray, int]:
    """Hash-encode a column: (int64 code per row, number of codes); nulls get code 0."""
    enc = pc.dictionary_encode(col).combine_chunks()
    idx = as_numpy(enc.indices, fill=-1).astype(np.int64) + 1
    return idx, len(enc.dictionary) + 1


def _key_codes(columns: list[pa.ChunkedArray]) -> np.ndarray:
    """An integer code per row for a multi-column key (equal keys get equal codes)."""
    code, card = np.zeros(len(columns[0]), dtype=np.int64), 1
    for col in columns:
        idx, n = _encode(col)
        if card * n >= 2**62:  # compact before the product could overflow
            _, code = np.unique(code, return_inverse=True)
            card = int(code.max()) + 1
        code, card = code * n + idx, card * n
    return code


class _Pairs:
    """The (who, commodity) pairs of an entity table, for vectorised membership tests."""

    def __init__(self, who: pa.ChunkedArray, com: pa.ChunkedArray, values: np.ndarray | None = None):
        self.names = pc.unique(pc.drop_null(who))
        self.coms = pc.unique(pc.drop_null(com))
        code = self.code(who, com)
        order = np.argsort(code, kind="stable")
        self.sorted = code[order]
        self.values = None if values is None else values[order]

    def code(self, who, com) -> np.ndarray:
        w = as_numpy(pc.index_in(who, value_set=self.names), fill=-1).astype(np.int64)
        c = as_numpy(pc.index_in(com, value_set=self.coms), fill=-1).astype(np.int64)
        return np.where((w >= 0) & (c >= 0), w * max(len(self.coms), 1) + c, -1)

    def find(self, who, com) -> np.ndarray:
        """Position in the sorted pairs per row, -1 where the pair does not exist."""
        code = self.code(who, com)
        pos = np.minimum(np.searchsorted(self.sorted, code), max(len(self.sorted) - 1, 0))
        hit = (code >= 0) & (len(self.sorted) > 0)
        if len(self.sorted):
            hit &= self.sorted[pos] == code
        return np.where(hit, pos, -1)

    def contains(self, who, com) -> np.ndarray:
        return self.find(who, com) >= 0

    def has_name(self, who) -> np.ndarray:
        return as_numpy(pc.is_in(who, value_set=self.names), fill=False).astype(bool)


def _check_key(decl: Table, fname: str, t: pa.Table, problems: list[Problem]) -> None:
    if t.num_rows < 2:
        return
    code = _key_codes([t.column(k) for k in decl.key])
    order = np.argsort(code, kind="stable")
    sc = code[order]
    dup_sorted = np.zeros(len(sc), dtype=bool)
    dup_sorted[1:] = sc[1:] == sc[:-1]
    if not dup_sorted.any():
        return
    starts = np.r_[True, ~dup_sorted[1:]]
    first_of = order[np.maximum.accumulate(np.where(starts, np.arange(len(sc)), 0))]
    mask = np.zeros(len(code), dtype=bool)
    mask[order[dup_sorted]] = True
    first_row = np.empty(len(code), dtype=np.int64)
    first_row[order] = first_of
    key = ", ".join(decl.key)
    cols = [t.column(k) for k in decl.key]
    _report(problems, fname, decl.key[0], mask,
            lambda r: f"duplicate key ({key}) = ({', '.join(shown(c[r].as_py()) for c in cols)}), "
            f"first seen at row {first_row[r]}; keep one row per key")


def validate_tables(meta: dict, tables: dict[str, pa.Table], fnames: dict[str, str],
                    horizon: int | None) -> tuple[list[Problem], list[Problem]]:
    """Row-level and cross-table rules. Returns (problems, warnings)."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    for decl in TABLES:
        t = tables.get(decl.name)
        if t is None:
            continue
        _check_values(decl, fnames[decl.name], t, problems)
        _check_key(decl, fnames[decl.name], t, problems)

    sup, nod, lan = tables.get("suppliers"), tables.get("nodes"), tables.get("lanes")
    supplier_pairs = node_pairs = None
    if sup is not None:
        f = fnames["suppliers"]
        cmin = as_numpy(sup.column("contract_min"), fill=0.0)
        cmax = as_numpy(sup.column("contract_max"), fill=np.inf)
        _report(problems, f, "contract_min", cmin > cmax,
                lambda r: f"contract_min {cmin[r]:g} is above contract_max {cmax[r]:g}; "
                "lower the minimum or raise the maximum")
        supplier_pairs = _Pairs(sup.column("supplier"), sup.column("commodity"))
    if nod is not None:
        f = fnames["nodes"]
        floor = as_numpy(nod.column("floor"), fill=0.0)
        mx = as_numpy(nod.column("max_stock"), fill=np.inf)
        _report(problems, f, "floor", floor > mx,
                lambda r: f"floor {floor[r]:g} is above max_stock {mx[r]:g}; the floor could never "
                "be met — lower the floor or raise max_stock")
        node_pairs = _Pairs(nod.column("node"), nod.column("commodity"), values=mx)
        if supplier_pairs is not None:
            n_names = nod.column("node")
            _report(problems, f, "node", supplier_pairs.has_name(n_names),
                    lambda r: f"{shown(n_names[r].as_py())} is also a supplier's name; rename the node "
                    "or the supplier")
    if lan is not None and supplier_pairs is not None and node_pairs is not None:
        _check_lanes(lan, fnames["lanes"], supplier_pairs, node_pairs, horizon, problems, warnings)
    for decl in TABLES[3:]:
        t = tables.get(decl.name)
        if t is None:
            continue
        parent_pairs = supplier_pairs if decl.parent == "suppliers" else node_pairs
        _check_day_table(decl, fnames[decl.name], t, parent_pairs, horizon, node_pairs, problems)
    return problems, warnings


def _check_lanes(lan, f, supplier_pairs: _Pairs, node_pairs: _Pairs, horizon, problems, warnings):
    oc, dc, kc = lan.column("origin"), lan.column("destination"), lan.column("commodity")

    def o(r):
        return shown(oc[r].as_py())

    def d(r):
        return shown(dc[r].as_py())

    def k(r):
        return shown(kc[r].as_py())

    lead = as_numpy(lan.column("lead_time_days"), fill=0)
    ok_supplier = supplier_pairs.contains(oc, kc)
    ok_node_origin = node_pairs.contains(oc, kc)
    ok_dest = node_pairs.contains(dc, kc)
    is_supplier_name = supplier_pairs.has_name(oc)
    is_node_name = node_pairs.has_name(oc)
    bad_origin = ~(ok_supplier | ok_node_origin)
    places = _Known(supplier_pairs.names, node_pairs.names)
    coms = _Known(supplier_pairs.coms, node_pairs.coms)
    _report(problems, f, "origin", bad_origin & ~(is_supplier_name | is_node_name),
            lambda r: f"{o(r)} is neither a supplier nor a node{places.hint(oc[r].as_py())}; add "
            "it to suppliers or nodes, or fix the name")
    _report(problems, f, "origin", bad_origin & is_supplier_name,
            lambda r: f"supplier {o(r)} does not sell commodity {k(r)}{coms.hint(kc[r].as_py())}; "
            f"add a suppliers row ({o(r)}, {k(r)}) or fix the lane")
    _report(problems, f, "origin", bad_origin & is_node_name & ~is_supplier_name,
            lambda r: f"node {o(r)} does not hold commodity {k(r)}{coms.hint(kc[r].as_py())}; "
            f"add a nodes row ({o(r)}, {k(r)}) or fix the lane")
    dest_is_supplier = supplier_pairs.has_name(dc)
    dest_is_node = node_pairs.has_name(dc)
    nodes = _Known(node_pairs.names)
    _report(problems, f, "destination", ~ok_dest & dest_is_supplier,
            lambda r: f"{d(r)} is a supplier; a lane's destination must be a node")
    _report(problems, f, "destination", ~ok_dest & ~dest_is_supplier,
            lambda r: f"node {d(r)} does not hold commodity {k(r)}"
            + (coms.hint(kc[r].as_py()) if dest_is_node[r] else
               f" (no node has that name{nodes.suggest(dc[r].as_py())})")
            + f"; add a nodes row ({d(r)}, {k(r)}) or fix the lane")
    same = as_numpy(pc.equal(oc, dc), fill=False).astype(bool)
    _report(problems, f, "destination", same,
            lambda r: f"origin and destination are both {o(r)}; a lane must join two places")
    _report(problems, f, "lead_time_days", ok_node_origin & ~ok_supplier & (lead < 1) & (lead >= 0),
            lambda r: f"is {lead[r]} but a lane out of a node needs a lead time >= 1 day")
    if horizon is not None:
        _report(warnings, f, "lead_time_days", lead >= horizon,
                lambda r: f"is {lead[r]} >= horizon_days {horizon}: this lane can never deliver "
                "inside the horizon")


class _Known:
    """Known names (Arrow arrays), turned into a Python list only when a hint is wanted."""

    def __init__(self, *arrays: pa.Array):
        self.arrays = arrays
        self._names: list[str] | None = None

    def hint(self, name: object) -> str:
        if self._names is None:
            self._names = [n for a in self.arrays for n in a.to_pylist()]
        return did_you_mean(name, self._names) if isinstance(name, str) else ""

    def suggest(self, name: object) -> str:
        """'; did you mean 'X'?' or ''."""
        h = self.hint(name)
        return f"; {h[2:-1]}" if h else ""


def _day_range(day: np.ndarray, horizon: int, start: _dt.date | None, r: int) -> str:
    if start is None:
        return f"is {day[r]} but days run 0..{horizon - 1} (horizon_days {horizon})"
    try:
        when = (start + _dt.timedelta(days=int(day[r]))).isoformat()
    except (OverflowError, ValueError):
        when = f"{int(day[r]):+,} days from start_date"
    end = start + _dt.timedelta(days=horizon - 1)
    return (f"is {when} but the horizon runs {start.isoformat()}..{end.isoformat()} "
            f"(start_date and horizon_days {horizon})")


def _check_day_table(decl, f, t, parent_pairs: _Pairs | None, horizon, node_pairs: _Pairs | None,
                     problems):
    whoc, kc = t.column(decl.parent_who), t.column("commodity")
    day = as_numpy(t.column("day"), fill=0)
    md = t.schema.metadata or {}
    start = _dt.date.fromisoformat(md[DATE_SOURCE].decode()) if DATE_SOURCE in md else None
    day_col = "date" if start is not None else "day"
    if parent_pairs is not None:
        missing = ~parent_pairs.contains(whoc, kc)
        who_known = parent_pairs.has_name(whoc)
        names = _Known(parent_pairs.names)
        coms = _Known(parent_pairs.coms)
        _report(problems, f, decl.parent_who, missing & ~who_known,
                lambda r: f"{shown(whoc[r].as_py())} is not in {decl.parent}"
                f"{names.hint(whoc[r].as_py())}; add it there or fix the name")
        _report(problems, f, decl.parent_who, missing & who_known,
                lambda r: f"({shown(whoc[r].as_py())}, {shown(kc[r].as_py())}) is not in "
                f"{decl.parent}{coms.hint(kc[r].as_py())}; add it there or fix the name")
    if horizon is not None:
        _report(problems, f, day_col, (day >= horizon) | ((day < 0) & (start is not None)),
                lambda r: _day_range(day, horizon, start, r))
    if decl.name == "floors" and node_pairs is not None and t.num_rows:
        fl = as_numpy(t.column("floor"), fill=0.0)
        pos = node_pairs.find(whoc, kc)
        mx = np.where(pos >= 0, node_pairs.values[np.maximum(pos, 0)], np.inf)
        _report(problems, f, "floor", fl > mx,
                lambda r: f"floor {fl[r]:g} is above the node's max_stock {mx[r]:g}; lower the "
                "floor or raise max_stock")
