"""Validation of an instance (SPEC section 2): every problem reported at once.

Each problem names the table, the 0-based row number and the column, and says
how to fix it. Checks are vectorised (numpy/pyarrow masks); at most
MAX_ROWS_PER_PROBLEM rows are listed for one kind of problem, then a count.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from .errors import Problem
from .io import as_numpy
from .schema import FORMAT_NAME, FORMAT_VERSION, LANES, NODES, SUPPLIERS, TABLES, Table

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


def validate_meta(meta: dict) -> tuple[list[Problem], int | None]:
    f = "instance.json"
    p: list[Problem] = []
    if not meta:
        return p, None
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
        p.append(Problem(f, None, "horizon_days", f"must be an integer >= 1 (found {t!r})"))
    else:
        horizon = t
    budget = meta.get("budget")
    if budget is not None and (not isinstance(budget, int | float) or isinstance(budget, bool)
                               or not math.isfinite(budget) or budget < 0):
        p.append(Problem(f, None, "budget",
                         f"must be a finite number >= 0, or null for no budget (found {budget!r})"))
    desc = meta.get("description")
    if desc is not None and not isinstance(desc, str):
        p.append(Problem(f, None, "description", "must be a string"))
    return p, horizon


def _check_values(decl: Table, fname: str, t: pa.Table, problems: list[Problem]) -> None:
    """Nulls, NaN, infinities, minimums, for every declared column."""
    for col in decl.columns:
        arr = t.column(col.name)
        if not col.nullable and arr.null_count:
            mask = as_numpy(arr.is_null())
            _report(problems, fname, col.name, mask,
                    lambda r, c=col: f"is null; give a value ({c.doc})")
        if col.kind in ("float", "int"):
            v = as_numpy(arr, fill=0).astype(np.float64, copy=False)
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
            if col.minimum is not None:
                low = v < col.minimum
                if low.any():
                    _report(problems, fname, col.name, low,
                            lambda r, c=col, v=v: f"is {v[r]:g} but must be >= {c.minimum:g} ({c.doc})")


def _key_codes(arrays: list[np.ndarray]) -> np.ndarray:
    """An integer code per row for a multi-column key (equal keys get equal codes)."""
    code = np.zeros(len(arrays[0]), dtype=np.int64)
    for a in arrays:
        _, inv = np.unique(a, return_inverse=True)
        code = code * (int(inv.max()) + 1 if len(inv) else 1) + inv
        _, code = np.unique(code, return_inverse=True)
    return code


def _check_key(decl: Table, fname: str, t: pa.Table, problems: list[Problem]) -> None:
    if t.num_rows < 2:
        return
    cols = [as_numpy(t.column(k), fill="" if decl.column(k).kind == "string" else 0)
            for k in decl.key]
    code = _key_codes([c.astype(str) if c.dtype == object else c for c in cols])
    order = np.argsort(code, kind="stable")
    sc = code[order]
    dup_sorted = np.zeros(len(sc), dtype=bool)
    dup_sorted[1:] = sc[1:] == sc[:-1]
    first_of = np.empty(len(sc), dtype=np.int64)
    starts = np.r_[True, ~dup_sorted[1:]]
    first_of = order[np.maximum.accumulate(np.where(starts, np.arange(len(sc)), 0))]
    mask = np.zeros(len(code), dtype=bool)
    mask[order[dup_sorted]] = True
    first_row = np.empty(len(code), dtype=np.int64)
    first_row[order] = first_of
    key = ", ".join(decl.key)
    _report(problems, fname, decl.key[0], mask,
            lambda r: f"duplicate key ({key}) = ({', '.join(repr(c[r]) for c in cols)}), "
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
    supplier_pairs: set[tuple[str, str]] = set()
    node_pairs: set[tuple[str, str]] = set()
    node_max: dict[tuple[str, str], float] = {}
    if sup is not None:
        f = fnames["suppliers"]
        cmin = as_numpy(sup.column("contract_min"), fill=0.0)
        cmax = as_numpy(sup.column("contract_max"), fill=np.inf)
        _report(problems, f, "contract_min", cmin > cmax,
                lambda r: f"contract_min {cmin[r]:g} is above contract_max {cmax[r]:g}; "
                "lower the minimum or raise the maximum")
        s_names = as_numpy(sup.column("supplier"), fill="")
        s_comm = as_numpy(sup.column("commodity"), fill="")
        supplier_pairs = set(zip(s_names.tolist(), s_comm.tolist()))
    if nod is not None:
        f = fnames["nodes"]
        floor = as_numpy(nod.column("floor"), fill=0.0)
        mx = as_numpy(nod.column("max_stock"), fill=np.inf)
        _report(problems, f, "floor", floor > mx,
                lambda r: f"floor {floor[r]:g} is above max_stock {mx[r]:g}; the floor could never "
                "be met — lower the floor or raise max_stock")
        n_names = as_numpy(nod.column("node"), fill="")
        n_comm = as_numpy(nod.column("commodity"), fill="")
        node_pairs = set(zip(n_names.tolist(), n_comm.tolist()))
        node_max = dict(zip(zip(n_names.tolist(), n_comm.tolist()), mx.tolist()))
        if sup is not None:
            both = np.isin(n_names, np.unique(s_names))
            _report(problems, f, "node", both,
                    lambda r: f"{n_names[r]!r} is also a supplier's name; rename the node or the supplier")
    if lan is not None and sup is not None and nod is not None:
        _check_lanes(lan, fnames["lanes"], supplier_pairs, node_pairs, set(s_names.tolist()),
                     horizon, problems, warnings)
    for decl in TABLES[3:]:
        t = tables.get(decl.name)
        if t is None:
            continue
        parent_pairs = supplier_pairs if decl.parent == "suppliers" else node_pairs
        parent_ok = tables.get(decl.parent) is not None
        _check_day_table(decl, fnames[decl.name], t, parent_pairs if parent_ok else None,
                         horizon, node_max, problems)
    return problems, warnings


def _check_lanes(lan, f, supplier_pairs, node_pairs, supplier_names, horizon, problems, warnings):
    o = as_numpy(lan.column("origin"), fill="")
    d = as_numpy(lan.column("destination"), fill="")
    k = as_numpy(lan.column("commodity"), fill="")
    lead = as_numpy(lan.column("lead_time_days"), fill=0)
    node_names = {n for n, _ in node_pairs}
    ok_supplier = np.array([(a, c) in supplier_pairs for a, c in zip(o.tolist(), k.tolist())], bool)
    ok_node_origin = np.array([(a, c) in node_pairs for a, c in zip(o.tolist(), k.tolist())], bool)
    ok_dest = np.array([(a, c) in node_pairs for a, c in zip(d.tolist(), k.tolist())], bool)
    is_supplier_name = np.isin(o, np.array(sorted(supplier_names), dtype=object)) if supplier_names else np.zeros(len(o), bool)
    is_node_name = np.isin(o, np.array(sorted(node_names), dtype=object)) if node_names else np.zeros(len(o), bool)
    bad_origin = ~(ok_supplier | ok_node_origin)
    _report(problems, f, "origin", bad_origin & ~(is_supplier_name | is_node_name),
            lambda r: f"{o[r]!r} is neither a supplier nor a node; add it to suppliers or nodes, "
            "or fix the name")
    _report(problems, f, "origin", bad_origin & is_supplier_name,
            lambda r: f"supplier {o[r]!r} does not sell commodity {k[r]!r}; add a suppliers row "
            f"({o[r]!r}, {k[r]!r}) or fix the lane")
    _report(problems, f, "origin", bad_origin & is_node_name & ~is_supplier_name,
            lambda r: f"node {o[r]!r} does not hold commodity {k[r]!r}; add a nodes row "
            f"({o[r]!r}, {k[r]!r}) or fix the lane")
    dest_is_supplier = np.isin(d, np.array(sorted(supplier_names), dtype=object)) if supplier_names else np.zeros(len(d), bool)
    _report(problems, f, "destination", ~ok_dest & dest_is_supplier,
            lambda r: f"{d[r]!r} is a supplier; a lane's destination must be a node")
    _report(problems, f, "destination", ~ok_dest & ~dest_is_supplier,
            lambda r: f"node {d[r]!r} does not hold commodity {k[r]!r}; add a nodes row "
            f"({d[r]!r}, {k[r]!r}) or fix the lane")
    _report(problems, f, "destination", o == d,
            lambda r: f"origin and destination are both {o[r]!r}; a lane must join two places")
    _report(problems, f, "lead_time_days", ok_node_origin & ~ok_supplier & (lead < 1) & (lead >= 0),
            lambda r: f"is {lead[r]} but a lane out of a node needs a lead time >= 1 day")
    if horizon is not None:
        _report(warnings, f, "lead_time_days", lead >= horizon,
                lambda r: f"is {lead[r]} >= horizon_days {horizon}: this lane can never deliver "
                "inside the horizon")


def _check_day_table(decl, f, t, parent_pairs, horizon, node_max, problems):
    who = as_numpy(t.column(decl.parent_who), fill="")
    k = as_numpy(t.column("commodity"), fill="")
    day = as_numpy(t.column("day"), fill=0)
    if parent_pairs is not None:
        missing = np.array([(a, c) not in parent_pairs for a, c in zip(who.tolist(), k.tolist())], bool)
        _report(problems, f, decl.parent_who, missing,
                lambda r: f"({who[r]!r}, {k[r]!r}) is not in {decl.parent}; add it there or fix the name")
    if horizon is not None:
        _report(problems, f, "day", (day >= horizon),
                lambda r: f"is {day[r]} but days run 0..{horizon - 1} (horizon_days {horizon})")
    if decl.name == "floors" and node_max:
        fl = as_numpy(t.column("floor"), fill=0.0)
        mx = np.array([node_max.get((a, c), np.inf) for a, c in zip(who.tolist(), k.tolist())])
        _report(problems, f, "floor", fl > mx,
                lambda r: f"floor {fl[r]:g} is above the node's max_stock {mx[r]:g}; lower the "
                "floor or raise max_stock")
