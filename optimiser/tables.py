"""Building instance tables from plain Python rows (tests, notebooks, other tools)."""

from __future__ import annotations

import pyarrow as pa

from .errors import InvalidInstanceError, Problem
from .instance import Instance
from .names import nearest, shown
from .schema import TABLES_BY_NAME


def _unknown_table(name: str) -> InvalidInstanceError:
    close = nearest(name, list(TABLES_BY_NAME))
    return InvalidInstanceError([Problem(f"table {name}", None, None,
                                         f"unknown table {shown(name)}"
                                         + (f"; did you mean {shown(close[0])}?" if close else
                                            f"; the tables are {', '.join(TABLES_BY_NAME)}"))])


def table_from_rows(name: str, rows: list[dict]) -> pa.Table:
    """Rows (dicts) -> a table with the declared types; absent optional columns stay absent.

    Keys the format does not declare become columns too (inferred types), so validation
    sees them: a misspelt key such as "max_stok" is refused with "did you mean", not
    silently dropped. A `date` key (datetime.date values) is carried as date32."""
    decl = TABLES_BY_NAME.get(name)
    if decl is None:
        raise _unknown_table(name)
    present = [c for c in decl.columns if c.required or any(c.name in r for r in rows)]
    if decl.dated and any("date" in r for r in rows) and not any("day" in r for r in rows):
        present = [c for c in present if c.name != "day"]
    cols = {c.name: pa.array([r.get(c.name, c.default) for r in rows], type=c.arrow_type)
            for c in present}
    declared = {c.name for c in decl.columns}
    for key in dict.fromkeys(k for r in rows for k in r):
        if key in declared:
            continue
        values = [r.get(key) for r in rows]
        try:
            cols[key] = pa.array(values, type=pa.date32() if key == "date" and decl.dated
                                 else None)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            cols[key] = pa.array([None if v is None else str(v) for v in values], pa.string())
    return pa.table(cols) if cols else pa.table({c.name: pa.array([], c.arrow_type)
                                                 for c in present})


def make_instance(name: str, horizon_days: int, *, budget: float | None = None,
                  description: str = "", start_date: str | None = None,
                  **rows: list[dict]) -> Instance:
    """Build an Instance from lists of row dicts, e.g. make_instance("x", 5, suppliers=[...], ...).

    Validation runs exactly as for files; InvalidInstanceError lists the problems (naming
    tables, "table lanes row 1", since there are no files).
    """
    meta = {"format": "optimiser-instance", "version": 1, "name": name,
            "horizon_days": horizon_days, "budget": budget, "description": description}
    if start_date is not None:
        meta["start_date"] = str(start_date)
    unknown = [k for k in rows if k not in TABLES_BY_NAME]
    if unknown:
        raise _unknown_table(unknown[0])
    tables = {k: table_from_rows(k, v) for k, v in rows.items()}
    for req in ("suppliers", "nodes", "lanes"):
        tables.setdefault(req, table_from_rows(req, []))
    return Instance.from_tables(meta, tables)
