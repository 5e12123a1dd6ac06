"""optimiser check INSTANCE PLAN"""

from __future__ import annotations

import argparse

from .common import EXIT_INFEASIBLE, EXIT_OK, emit_json

HELP = """\
Verify PLAN against INSTANCE independently of the solver: every constraint of the LP
(docs/MODEL.md: balance, bounds, readiness, supplier and lane capacity, contracts,
budget) is re-evaluated from PLAN's tables (Arrow IPC or Parquet), and the objective
is recomputed and compared with PLAN/summary.json. Reports the largest violation of
each kind and where it is.

A plan whose status is not optimal or feasible (infeasible, no_solution, error) is
refused unless --allow-nonoptimal.

exit status: 0 the plan passes; 3 it fails; 2 unreadable, or refused as not optimal
or feasible."""


def register(sub) -> None:
    p = sub.add_parser("check", help="verify a plan against its instance", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("instance", metavar="INSTANCE")
    p.add_argument("plan", metavar="PLAN")
    p.add_argument("--tolerance", type=float, default=None,
                   help="relative tolerance (default 1e-6)")
    p.add_argument("--allow-nonoptimal", action="store_true",
                   help="check a plan whose status is not optimal or feasible")
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    p.set_defaults(run=run)


def run(args) -> int:
    import math

    from ..check import TOLERANCE, check_plan_dir
    from ..errors import UsageError
    from ..instance import load_instance
    from ..plan import require_usable

    if args.tolerance is not None and not (math.isfinite(args.tolerance) and args.tolerance > 0):
        raise UsageError(f"--tolerance {args.tolerance}: give a positive number such as 1e-6")
    require_usable(args.plan, args.allow_nonoptimal, what="check")  # before loading anything
    inst = load_instance(args.instance)
    rep = check_plan_dir(inst, args.plan, args.tolerance or TOLERANCE,
                         allow_nonoptimal=args.allow_nonoptimal)
    if args.json:
        emit_json(rep.as_dict())
    else:
        print(f"check {'PASSED' if rep.ok else 'FAILED'} (tolerance {rep.tolerance:g})")
        for e in rep.errors:
            print(f"  error: {e}")
        for v in rep.violations.values():
            flag = "FAIL" if v.amount > rep.tolerance else "ok  "
            print(f"  {flag} {v.kind:<18} max {v.amount:.3g}  {v.where}")
        if rep.objective is not None:
            print(f"  objective recomputed {rep.objective:,.6f}"
                  + (f", reported {rep.reported_objective:,.6f}"
                     if rep.reported_objective is not None else ""))
    return EXIT_OK if rep.ok else EXIT_INFEASIBLE
