"""optimiser show PLAN [orders|shipments|stock|binding|infeasibility]"""

from __future__ import annotations

import argparse

from .common import EXIT_OK, emit_json

HELP = """\
Print a plan's tables for a person:

  orders         what to buy, from whom, when, arriving where and when (default)
  shipments      movements between nodes
  stock          end-of-day stock against the floor, demand and unmet consumption
  binding        the limits that bind the plan, grouped into day ranges, with the
                 value of one more unit (shadow price)
  infeasibility  for an infeasible plan: what must give way, why, and what would fix it

Days are shown with their dates when the instance has a start_date. --csv writes CSV
on stdout (for a spreadsheet), --json one JSON document {"view", "columns", "rows"}.
Reads PLAN only (Arrow IPC or Parquet tables and summary.json).

exit status: 0 shown; 2 not a plan directory or no such table."""


def register(sub) -> None:
    p = sub.add_parser("show", help="print a plan's orders, shipments, stock or binding limits",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("plan", metavar="PLAN", help="plan directory")
    p.add_argument("view", nargs="?", metavar="VIEW", default=None,
                   choices=["orders", "shipments", "stock", "binding", "infeasibility"],
                   help="orders (default), shipments, stock, binding or infeasibility")
    p.add_argument("--commodity", metavar="K", help="only this commodity")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--csv", action="store_true", help="CSV on stdout")
    out.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument("--limit", type=int, metavar="N",
                   help="show at most N rows in the text table (default all)")
    p.set_defaults(run=run)


def run(args) -> int:
    import sys
    from pathlib import Path

    from ..errors import InvalidPlanError, UsageError
    from ..plan import read_summary, status_of
    from ..planview import format_table, show_table

    plan = Path(args.plan)
    if not plan.is_dir():
        raise InvalidPlanError(f"{plan} is not a plan directory")
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be >= 1")
    summary = read_summary(plan)
    status = status_of(summary)
    view = args.view or ("orders" if (summary or {}).get("plan_tables", True) is not False
                         else "infeasibility")
    t = show_table(plan, view, args.commodity, summary)
    if args.csv:
        import pyarrow.csv as pacsv

        pacsv.write_csv(t, sys.stdout.buffer)
        sys.stdout.flush()
    elif args.json:
        emit_json({"plan": str(plan), "status": status.value, "view": view,
                   "start_date": (summary or {}).get("start_date"),
                   "columns": t.column_names, "rows": _json_rows(t)})
    else:
        head = f"{view} of {plan} (status {status.value})"
        if args.commodity:
            head += f", commodity {args.commodity}"
        print(head)
        if view == "binding":  # the label says where; the entity columns are for CSV/JSON
            t = t.drop_columns([c for c in ("constraint", "supplier", "node", "origin",
                                            "destination", "commodity", "mode")
                                if c in t.column_names])
        print(format_table(t, args.limit) if t.num_rows else "(none)")
    return EXIT_OK


def _json_rows(t) -> list[dict]:
    import datetime as dt

    rows = t.to_pylist()
    for r in rows:
        for k, v in r.items():
            if isinstance(v, dt.date):
                r[k] = v.isoformat()
    return rows
