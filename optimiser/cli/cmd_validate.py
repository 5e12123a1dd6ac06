"""`optimiser validate INSTANCE [--json]`: check an instance against docs/FORMAT.md.

Valid: exit 0 and a one-line summary on stdout (warnings on stderr), or one JSON
document on stdout. Invalid: InvalidInstanceError, which the CLI maps to every problem on
stderr and exit 2.
"""

from __future__ import annotations

from .common import EXIT_OK, emit_json, log


def register(subparsers) -> None:
    p = subparsers.add_parser("validate", help="check an instance; list every problem",
                              description="Check an instance directory against the format "
                                          "(docs/FORMAT.md). Exit 0 if valid, 2 with every "
                                          "problem listed if not.")
    p.add_argument("instance", metavar="INSTANCE", help="instance directory")
    p.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..instance import load_instance
    from ..names import shown

    inst = load_instance(args.instance)
    summary = {
        "name": inst.name, "horizon_days": inst.horizon,
        "commodities": len(inst.commodities), "suppliers": len(inst.supplier_names),
        "supplier_pairs": inst.n_supplier_pairs, "nodes": len(inst.node_names),
        "node_pairs": inst.n_pairs, "lanes": inst.n_lanes,
        "start_date": None if inst.start_date is None else inst.start_date.isoformat(),
    }
    if args.json:
        emit_json({"status": "valid", "path": str(args.instance), **summary,
                   "warnings": [w.as_dict() for w in inst.warnings], "problems": [],
                   "seconds": inst.load_seconds})
    else:
        dates = "" if inst.start_date is None else f" from {inst.start_date.isoformat()}"
        print(f"valid: {shown(str(args.instance))[1:-1]} ({shown(inst.name)[1:-1]}): "
              f"{inst.horizon} days{dates}, "
            f"{summary['commodities']} commodities, {summary['suppliers']} suppliers, "
            f"{summary['nodes']} nodes, {inst.n_lanes} lanes; {len(inst.warnings)} warning(s)")
        for w in inst.warnings:
            log(f"  warning: {w}")
    return EXIT_OK
