"""optimiser solve INSTANCE -o PLAN"""

from __future__ import annotations

import argparse
import time

from . import common
from .common import emit_json, log

HELP = """\
Build the LP of INSTANCE (docs/MODEL.md), solve it, verify the plan with the
independent checker, and write PLAN/ (flows.arrow, stock.arrow, shadow_prices.arrow,
summary.json; infeasibility.arrow when the hard requirements cannot all hold).

PLAN is checked before solving: an existing PLAN is refused unless --force, and
a PLAN that is, contains or lies inside INSTANCE (after resolving '..' and
symlinks) is refused even with --force. The plan is written complete beside PLAN
and put in place by one atomic rename (docs/SAFETY.md).

solvers: highs (default; HiGHS dual simplex via highspy, correct duals, fastest
here on instances of this format), glop (OR-Tools simplex), pdlp (first-order,
multi-threaded, optimal to a tolerance), highs-ortools (HiGHS through OR-Tools'
model builder; its duals are wrong there, so they are re-derived).

exit status: 0 optimal or feasible at the time limit; 2 invalid instance or usage;
3 infeasible (explained on stderr and in PLAN/infeasibility.arrow) or a plan that
failed the check; 4 no solution within the time limit; 1 internal error."""


def register(sub) -> None:
    p = sub.add_parser("solve", help="solve an instance and write a plan", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("instance", metavar="INSTANCE", help="instance directory")
    p.add_argument("-o", "--output", required=True, metavar="PLAN", help="plan directory to write")
    from ..model.backends import BACKENDS, DEFAULT_SOLVER
    p.add_argument("--solver", choices=list(BACKENDS), default=DEFAULT_SOLVER,
                   help=f"LP backend (default {DEFAULT_SOLVER})")
    p.add_argument("--time-limit", type=common.seconds, metavar="SECONDS",
                   help="stop the solver after this long (a positive finite number); the best "
                        "plan found is written with status 'feasible', or none with status "
                        "'no_solution'")
    p.add_argument("--threads", type=common.threads, metavar="N",
                   help=f"solver threads, 1..{common.MAX_THREADS}")
    p.add_argument("--tolerance", type=common.tolerance, metavar="EPS",
                   help="primal/dual feasibility tolerance in (0, 1) (PDLP: optimality eps, "
                        "default 1e-8)")
    p.add_argument("--method", choices=["auto", "network", "simplex", "ipm"], default="auto",
                   help="HiGHS algorithm. auto (default): without a budget, a min-cost-flow "
                        "solve of each commodity block polished by simplex to an exact vertex "
                        "(network); a binding budget: the joint LP by dual simplex. "
                        "ipm: interior point with crossover")
    p.add_argument("--decompose", choices=["auto", "never"], default="auto",
                   help="auto (default): without a budget, solve one LP per commodity "
                        "concurrently (exact); never: always solve the joint LP")
    p.add_argument("--verbose", action="store_true", help="solver log on stderr")
    p.add_argument("--json", action="store_true", help="print summary.json on stdout, nothing else")
    p.add_argument("--force", action="store_true", help="replace PLAN if it exists")
    p.add_argument("--format", choices=["arrow", "parquet"], default="arrow",
                   help="table files: NAME.arrow (Arrow IPC, default) or NAME.parquet")
    from .engine_flags import add_dask_flags
    add_dask_flags(p)  # --dask: the per-commodity blocks as Dask tasks
    from .reliability_flags import add_flags as add_reliability_flags
    add_reliability_flags(p)  # --reliability R ... (docs/RELIABILITY.md)
    p.set_defaults(run=run)


def run(args) -> int:
    from .._atomic import check_output
    from ..instance import load_instance
    from ..solve import solve
    from ..status import exit_code
    from . import reliability_flags
    if reliability_flags.wanted(args):
        return reliability_flags.run(args)
    t0 = time.perf_counter()
    protect = (args.instance,)
    check_output(args.output, args.force, protect)  # before any work
    from ..stages import report_stages, stage

    with report_stages(log, "solve: "):
        stage(f"loading and validating {args.instance}")
        inst = load_instance(args.instance)
    for w in inst.warnings:
        log(f"warning: {w}")
    from ..execution import dask_map
    from ..stages import report_stages, stage
    from .engine_flags import client_from_args

    with report_stages(log, "solve: "), client_from_args(args) as client:
        plan = solve(inst, solver=args.solver, time_limit=args.time_limit, threads=args.threads,
                     tolerance=args.tolerance, verbose=args.verbose, method=args.method,
                     decompose=args.decompose,
                     map=None if client is None else dask_map(client))
        stage(f"writing {args.output}")
        write_plan(plan, args.output, args.force, protect, t0, args.format)
    if args.json:
        emit_json(plan.summary)
    else:
        from ..planview import format_plan_summary
        print(format_plan_summary(plan))
    return exit_code(plan.status, plan.summary.get("check", {}).get("ok") is False)


def write_plan(plan, output, force: bool, protect: tuple, t0: float, fmt: str = "arrow") -> None:
    """PLAN/ complete in the temporary directory, summary.json last with its timings
    (write: the tables; wall: the whole command up to the commit), then one rename."""
    from .._atomic import atomic_dir
    from .._json import write_json
    from ..plan import write_plan_files

    with atomic_dir(output, force=force, protect=protect) as tmp:
        write_plan_files(plan, tmp, fmt)  # tables, then summary.json with timings.write
        plan.summary["timings"]["wall"] = time.perf_counter() - t0
        write_json(tmp / "summary.json", plan.summary)  # still inside the temporary directory
