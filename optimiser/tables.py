"""Building instance tables from plain Python rows (tests, notebooks, other tools)."""

from __future__ import annotations

import pyarrow as pa

from .instance import Instance
from .schema import TABLES_BY_NAME


def table_from_rows(name: str, rows: list[dict]) -> pa.Table:
    """Rows (dicts) -> a table with the declared types; absent optional columns stay absent."""
    decl = TABLES_BY_NAME[name]
    present = [c for c in decl.columns if c.required or any(c.name in r for r in rows)]
    return pa.table({c.name: pa.array([r.get(c.name, c.default) for r in rows], type=c.arrow_type)
                     for c in present})


def make_instance(name: str, horizon_days: int, *, budget: float | None = None,
                  description: str = "", **rows: list[dict]) -> Instance:
    """Build an Instance from lists of row dicts, e.g. make_instance("x", 5, suppliers=[...], ...).

    Validation runs exactly as for files; InvalidInstanceError lists the problems.
    """
    meta = {"format": "optimiser-instance", "version": 1, "name": name,
            "horizon_days": horizon_days, "budget": budget, "description": description}
    tables = {k: table_from_rows(k, v) for k, v in rows.items()}
    for req in ("suppliers", "nodes", "lanes"):
        tables.setdefault(req, table_from_rows(req, []))
    return Instance.from_tables(meta, tables)
