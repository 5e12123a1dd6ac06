"""optimiser solve INSTANCE -o PLAN"""

from __future__ import annotations

import argparse
import time

from .common import EXIT_INFEASIBLE, emit_json, log

HELP = """\
Build the LP of SPEC section 3 from INSTANCE, solve it, verify the plan with the
independent checker, and write PLAN/ (flows.arrow, stock.arrow, shadow_prices.arrow,
summary.json; infeasibility.arrow when the hard requirements cannot all hold).

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
    p.add_argument("--time-limit", type=float, metavar="SECONDS",
                   help="stop the solver after this long; the best plan found is written "
                        "with status 'feasible', or none with status 'no_solution'")
    p.add_argument("--threads", type=int, metavar="N", help="solver threads")
    p.add_argument("--tolerance", type=float, metavar="EPS",
                   help="primal/dual feasibility tolerance (PDLP: optimality eps, default 1e-8)")
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
    from ..distributed import add_cli_flags as add_dask_flags
    add_dask_flags(p)  # --dask: the per-commodity blocks as Dask tasks
    from .reliability_flags import add_flags as add_reliability_flags
    add_reliability_flags(p)  # --reliability R ... (docs/RELIABILITY.md)
    p.set_defaults(run=run)


def run(args) -> int:
    from ..instance import load_instance
    from ..model.status import EXIT_CODE, Status
    from ..solve import solve
    from . import reliability_flags
    if reliability_flags.wanted(args):
        return reliability_flags.run(args)
    t0 = time.perf_counter()
    inst = load_instance(args.instance)
    for w in inst.warnings:
        log(f"warning: {w}")
    if args.threads is not None and args.threads < 1:
        from ..errors import UsageError
        raise UsageError("--threads must be >= 1")
    from .. import distributed

    with distributed.client_from_args(args) as client:
        plan = solve(inst, solver=args.solver, time_limit=args.time_limit, threads=args.threads,
                     tolerance=args.tolerance, verbose=args.verbose, method=args.method,
                     decompose=args.decompose,
                     map=None if client is None else distributed.dask_map(client))
    t = time.perf_counter()
    plan.write(args.output, force=args.force)
    plan.summary["timings"]["write"] = time.perf_counter() - t
    plan.summary["timings"]["wall"] = time.perf_counter() - t0
    # rewrite summary with the write timing (tiny file, already in place)
    import json
    from pathlib import Path

    from ..plan import _json_default
    (Path(args.output) / "summary.json").write_text(
        json.dumps(plan.summary, indent=2, default=_json_default) + "\n", encoding="utf-8")
    if args.json:
        emit_json(plan.summary)
    else:
        print(format_summary(plan))
    status = Status(plan.status)
    if status == Status.ERROR and plan.summary.get("check", {}).get("ok") is False:
        return EXIT_INFEASIBLE
    return EXIT_CODE[status]


def _money(v: float) -> str:
    return f"{v:,.2f}"


def format_summary(plan) -> str:
    s = plan.summary
    lines = [f"instance {s['instance']}: {s['status'].upper()}"
             + (f" — {s['message']}" if s.get("message") else "")]
    if s.get("objective") is not None:
        lines.append(f"objective {_money(s['objective'])}")
        for k, v in s["breakdown"].items():
            lines.append(f"  {k:<18} {_money(v):>20}")
        tot = s["totals"]
        dem = tot["demand"]
        lines.append(f"consumption: {dem:,.0f} units, unmet {tot['unmet']:,.1f}"
                     + (f" ({tot['unmet'] / dem:.2%})" if dem else ""))
        lines.append(f"below floor: {tot['below_floor_unit_days']:,.1f} unit-days on "
                     f"{tot['days_below_floor']} day(s)")
        ordered = {k: v for k, v in tot["ordered"].items() if v > 0}
        if ordered:
            lines.append("ordered: " + ", ".join(f"{k} {v:,.0f}" for k, v in ordered.items()))
    if plan.infeasibility is not None and plan.infeasibility.num_rows:
        info = s.get("infeasibility", {})
        lines.append(f"what must give way (least total violation {info.get('total_violation', 0):,.2f}):")
        for r in plan.infeasibility.slice(0, 15).to_pylist():
            lines.append(f"  {r['requirement']:<16} {r['name']:<40} required {r['required']:,.2f}"
                         f" achievable {r['achievable']:,.2f} (short by {r['violation']:,.2f})")
        if plan.infeasibility.num_rows > 15:
            lines.append(f"  ... and {plan.infeasibility.num_rows - 15} more in infeasibility.arrow")
    sp = plan.shadow_prices
    if sp is not None and sp.num_rows:
        lines.append(f"what limits the plan ({sp.num_rows} binding; value of one more unit):")
        for r in sp.slice(0, 10).to_pylist():
            lines.append(f"  {r['constraint']:<18} {r['name']:<44} {_money(r['value']):>14}")
        if sp.num_rows > 10:
            lines.append(f"  ... and {sp.num_rows - 10} more in shadow_prices.arrow")
    elif s.get("duals", {}).get("source") is None and s["status"] == "optimal":
        lines.append("shadow prices: not available (no duals passed the KKT check)")
    size = s.get("size", {})
    lines.append(f"model: {size.get('variables', 0):,} variables, {size.get('constraints', 0):,} "
                 f"constraints, {size.get('nonzeros', 0):,} nonzeros; solver {s['solver']['name']}")
    tm = s.get("timings", {})
    lines.append("timings: " + ", ".join(f"{k} {v:.3f}s" for k, v in tm.items()))
    chk = s.get("check")
    if chk:
        lines.append("check: " + ("passed" if chk["ok"] else "FAILED") + f" (tolerance {chk['tolerance']:g})")
    return "\n".join(lines)
