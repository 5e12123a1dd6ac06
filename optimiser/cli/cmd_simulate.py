"""optimiser simulate INSTANCE -o SIM --scenarios N --replan-every K"""

from __future__ import annotations

import argparse
import time

from . import common
from .common import Progress, emit_json, log

HELP = """\
Closed-loop replanning: replay N sampled futures of INSTANCE while re-planning every K
days from what actually happened (realised stock, shipments still in transit, surges
and outages under way, contract and budget use), and compare with following the day-0
plan blindly on the same futures. Writes SIM/: scenarios (KPIs per scenario plus
replans, relaxed_replans, solve_seconds), scenarios_by_commodity, fan (p5/p50/p95 of
end-of-day stock) and summary.json (KPI statistics, LP solve figures, and open_loop:
the paired difference closed - open loop of every KPI with its 95% interval).

Day 0: --plan PLAN, or the instance solved here. A reliability plan's planning floors
are kept by the replans unless --instance-floors. docs/SIMULATE.md describes what the
replanner knows and every choice made; scenario parameters are those of evaluate.

exit status: 0 success; 2 usage error, invalid instance, or a plan that is not optimal
or feasible (unless --allow-nonoptimal); 1 internal error."""


def register(sub) -> None:
    from .engine_flags import add_scenario_run_flags

    p = sub.add_parser("simulate", help="closed-loop replanning under sampled scenarios",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("instance", metavar="INSTANCE", help="instance directory")
    p.add_argument("-o", "--output", required=True, metavar="SIM", help="directory to write")
    p.add_argument("--scenarios", type=common.whole(1), required=True, metavar="N", help="scenarios")
    p.add_argument("--replan-every", type=common.whole(1), required=True, metavar="K",
                   help="re-plan on days K, 2K, ... (K >= horizon: never)")
    p.add_argument("--window", type=common.whole(1), metavar="W",
                   help="days each replan looks ahead (>= K; default: the rest of the horizon)")
    p.add_argument("--plan", metavar="PLAN", help="day-0 plan directory (default: solve here)")
    p.add_argument("--allow-nonoptimal", action="store_true",
                   help="simulate a --plan that is not optimal or feasible")
    p.add_argument("--instance-floors", action="store_true",
                   help="replans use the instance's floors, not a reliability plan's "
                        "planning floors")
    add_scenario_run_flags(p)
    p.add_argument("--threads", type=common.whole(1), metavar="N", help="numba threads")
    p.add_argument("--workers", type=common.whole(1), metavar="N",
                   help="worker processes replanning chunks at once (default: the cores)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--json", action="store_true", help="print summary.json on stdout, nothing else")
    p.add_argument("--force", action="store_true", help="replace SIM if it exists")
    p.add_argument("--format", choices=("arrow", "parquet"), default="arrow",
                   help="table files as NAME.arrow (default) or NAME.parquet")
    from .engine_flags import add_dask_flags
    add_dask_flags(p)  # --dask local|tcp://HOST:PORT: chunks of scenarios on Dask workers
    p.set_defaults(run=run)


def run(args) -> int:
    from pathlib import Path

    from ..errors import OutputExistsError, UsageError
    from ..instance import load_instance
    from ..scenarios.results import _clean, summary_json
    from ..simulate import simulate
    from ..simulate.results import format_simulation
    from .engine_flags import params_from_cli

    t0 = time.perf_counter()
    params = params_from_cli(args)
    if args.scenarios is None or args.scenarios < 1:
        raise UsageError("--scenarios must be >= 1")
    if args.replan_every is None or args.replan_every < 1:
        raise UsageError("--replan-every must be >= 1 (a number of days)")
    if args.window is not None and args.window < 1:
        raise UsageError("--window must be >= 1 (a number of days)")
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be >= 1")
    out = Path(args.output)
    if out.exists() and not args.force:
        raise OutputExistsError(f"{out.absolute()} exists; pass --force to replace it")
    inst = load_instance(args.instance)
    for w in inst.warnings:
        log(f"warning: {w}")
    total = args.scenarios * inst.horizon
    bar = Progress(total, "simulate (scenario-days)",
                   enabled=False if args.no_progress else None)
    from ..execution import dask_map
    from .engine_flags import client_from_args
    try:
        with client_from_args(args) as client:
            map_fn = None if client is None else dask_map(client, prefix="simulate")
            sim = simulate(inst, scenarios=args.scenarios, replan_every=args.replan_every,
                           window=args.window, plan=args.plan,
                           allow_nonoptimal=args.allow_nonoptimal, seed=args.seed,
                           params=params, threads=args.threads, chunk_size=args.chunk_size,
                           instance_floors=args.instance_floors, progress=bar.update,
                           map=map_fn, workers=args.workers)
    finally:
        bar.close()
    protect = (args.instance,) + ((args.plan,) if args.plan else ())
    sim.summary["timings"]["wall"] = time.perf_counter() - t0
    sim.write(out, force=args.force, protect=protect, fmt=args.format)
    (out / "summary.json").write_text(summary_json(sim.summary), encoding="utf-8")
    if args.json:
        emit_json(_clean(sim.summary))
    else:
        print(format_simulation(sim.summary))
        print(f"wrote {out}")
    return 0
