"""`optimiser generate OUT --suppliers N --nodes N --commodities N --days N`: a synthetic instance."""

from __future__ import annotations

import time

from . import common
from .common import EXIT_OK, emit_json, log


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "generate", help="write a synthetic instance of a chosen size",
        description="Write a realistic synthetic instance (suppliers -> depots -> consumers, "
                    "sea/air/road lanes, ramp-ups, floors, noisy demand). The same arguments "
                    "give the same bytes.")
    p.add_argument("out", metavar="OUT", help="instance directory to write")
    p.add_argument("--suppliers", type=common.whole(1), required=True, metavar="N")
    p.add_argument("--nodes", type=common.whole(1), required=True, metavar="N",
                   help="nodes in all: about a third depots, the rest consumers")
    p.add_argument("--commodities", type=common.whole(1), required=True, metavar="N")
    p.add_argument("--days", type=common.whole(1), required=True, metavar="N", help="horizon in days")
    p.add_argument("--seed", type=common.seed, default=0, metavar="S",
                   help="random seed, 0..2**64-1 (default 0)")
    p.add_argument("--format", choices=("arrow", "parquet"), default="arrow",
                   help="table file format (default arrow)")
    p.add_argument("--budget", type=common.money, default=None, metavar="X",
                   help="procurement budget (default: none)")
    p.add_argument("--name", default=None, help="instance name (default: from the sizes)")
    p.add_argument("--start-date", default=None, metavar="YYYY-MM-DD",
                   help="calendar date of day 0, written to instance.json (default: none)")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    from .._atomic import check_output
    from ..generate import estimate_variables, write_generated

    check_output(args.out, args.force)  # before generating
    t0 = time.perf_counter()
    meta, tables = write_generated(args.out, args.suppliers, args.nodes, args.commodities,
                                   args.days, seed=args.seed, budget=args.budget, fmt=args.format,
                                   force=args.force, name=args.name,
                                   start_date=args.start_date)
    seconds = time.perf_counter() - t0
    rows = {k: t.num_rows for k, t in tables.items()}
    variables = estimate_variables(meta, tables)
    if args.json:
        emit_json({"status": "ok", "path": str(args.out), "name": meta["name"], "rows": rows,
                   "lp_variables": variables, "seconds": seconds})
    else:
        log(f"wrote {args.out} ({args.format}) in {seconds:.2f} s: "
            + ", ".join(f"{k} {v}" for k, v in rows.items())
            + f"; about {variables:,} LP variables")
    return EXIT_OK
