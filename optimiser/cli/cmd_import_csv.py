"""`optimiser import-csv CSV_DIR OUT`: a folder of CSV files -> an instance directory."""

from __future__ import annotations

from . import common
from .common import EXIT_OK, emit_json, log


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "import-csv", help="convert a folder of CSV files into an instance",
        description="Read suppliers.csv, nodes.csv, lanes.csv and the optional demand.csv, "
                    "capacity.csv, floors.csv, pipeline.csv (columns as in docs/FORMAT.md) and "
                    "instance.json if present; validate; write OUT atomically.")
    p.add_argument("csv_dir", metavar="CSV_DIR", help="folder of CSV files")
    p.add_argument("out", metavar="OUT", help="instance directory to write")
    p.add_argument("--format", choices=("arrow", "parquet"), default="arrow",
                   help="table file format (default arrow)")
    p.add_argument("--name", default=None, help="instance name (overrides instance.json)")
    p.add_argument("--horizon-days", type=common.whole(1), default=None, metavar="T",
                   help="horizon (overrides instance.json; required without one)")
    p.add_argument("--budget", type=common.money, default=None, metavar="X",
                   help="procurement budget (overrides instance.json)")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    from .._atomic import check_output
    from ..csvimport import import_csv

    check_output(args.out, args.force, (args.csv_dir,))  # before reading the CSV files
    notes: list[str] = []
    meta, tables = import_csv(args.csv_dir, args.out, fmt=args.format, force=args.force,
                              name=args.name, horizon_days=args.horizon_days,
                              budget=args.budget, notes=notes)
    for n in notes:
        log(f"note: {n}")
    rows = {k: t.num_rows for k, t in tables.items()}
    if args.json:
        emit_json({"status": "ok", "path": str(args.out), "name": meta["name"], "rows": rows,
                   "notes": notes})
    else:
        log(f"wrote {args.out} ({args.format}): " + ", ".join(f"{k} {v}" for k, v in rows.items()))
    return EXIT_OK
