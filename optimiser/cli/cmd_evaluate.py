"""optimiser evaluate INSTANCE PLAN -o EVAL --scenarios N"""

from __future__ import annotations

import argparse
import time

from . import common
from .common import Progress, emit_json, log

HELP = """\
Replay PLAN (a plan directory for INSTANCE) against N sampled futures (docs/SCENARIOS.md)
and write EVAL/: scenarios.arrow (one row of KPIs per scenario), fan.arrow (p5/p50/p95
of end-of-day stock per node, commodity and day) and summary.json (mean, sd, p5, p50,
p95 of every KPI, unmet CVaR95, P(any shortfall), P(any floor breach)).

Scenario parameters: --params FILE (TOML or JSON, names in docs/SCENARIOS.md) and/or one
flag per parameter (--demand-sigma 0.3 ...); flags override the file. Results depend
only on the seed, the parameters and N: never on --chunk-size or --threads.
docs/SCENARIOS.md describes the model and every modelling choice made.

EVAL is checked before any work: an existing EVAL is refused unless --force; an
EVAL that is, contains or lies inside INSTANCE, PLAN or the --params file is
refused even with --force. --scenarios is checked against the memory available
for the per-scenario results (one row of KPIs each) before anything is allocated.

exit status: 0 success; 2 usage error, invalid instance or plan (also a plan whose
status is not optimal or feasible, unless --allow-nonoptimal); 1 internal error."""


def register(sub) -> None:
    from .engine_flags import add_dask_flags, add_scenario_run_flags

    p = sub.add_parser("evaluate", help="stress-test a plan under sampled scenarios",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("instance", metavar="INSTANCE", help="instance directory")
    p.add_argument("plan", metavar="PLAN", help="plan directory")
    p.add_argument("-o", "--output", required=True, metavar="EVAL", help="directory to write")
    p.add_argument("--scenarios", type=common.whole(1), required=True, metavar="N",
                   help="scenarios to replay (>= 1, bounded by the memory available)")
    add_scenario_run_flags(p, "memory; never changes results")
    p.add_argument("--threads", type=common.threads, metavar="N",
                   help=f"numba threads, 1..{common.MAX_THREADS}")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--json", action="store_true", help="print summary.json on stdout, nothing else")
    p.add_argument("--force", action="store_true", help="replace EVAL if it exists")
    p.add_argument("--format", choices=("arrow", "parquet"), default="arrow",
                   help="table files as NAME.arrow (default) or NAME.parquet")
    p.add_argument("--allow-nonoptimal", action="store_true",
                   help="evaluate a plan whose status is not optimal or feasible (refused "
                        "by default: an infeasible plan's tables are not a real plan)")
    add_dask_flags(p)  # --dask local|tcp://HOST:PORT: chunks on a Dask cluster (same bits)
    p.set_defaults(run=run)


def scenario_results_bytes(scenarios: int) -> int:
    """Memory the per-scenario results of `scenarios` need at their peak: the kernel's
    KPI rows (scenario id + one float per KPI), the scenarios table built from them and
    the sorted copy the percentiles take."""
    from ..scenarios.kernels import N_KPI

    return 3 * int(scenarios) * 8 * (1 + N_KPI)


def check_scenarios_memory(scenarios: int, flag: str = "--scenarios", times: int = 1) -> None:
    """Refuse, before any allocation, a scenario count whose results cannot fit in memory."""
    need = times * scenario_results_bytes(scenarios)
    avail = common.memory_available()
    fit = max(avail // max(times * scenario_results_bytes(1), 1), 0) if avail else None
    common.require_memory(
        need, f"{flag} {scenarios:,} (one row of KPIs per scenario, kept for scenarios.arrow)",
        (f"use at most about {fit:,} scenarios here, " if fit is not None else "use fewer scenarios, ")
        + "or run several evaluations with different --seed values (and merge their "
          "scenarios.arrow files) on machines with more memory")


def run(args) -> int:
    from .._atomic import check_output
    from ..instance import load_instance
    from ..plan import read_plan
    from ..scenarios import evaluate
    from ..scenarios.results import format_summary
    from .engine_flags import client_from_args, params_from_cli

    t0 = time.perf_counter()
    params = params_from_cli(args)  # usage errors before any work
    protect = (args.instance, args.plan, getattr(args, "params", None))
    check_output(args.output, args.force, protect)
    check_scenarios_memory(args.scenarios)
    from ..plan import require_usable
    require_usable(args.plan, args.allow_nonoptimal, what="evaluate")  # exit 2, before loading
    inst = load_instance(args.instance)
    for w in inst.warnings:
        log(f"warning: {w}")
    plan = read_plan(args.plan, inst)
    bar = Progress(args.scenarios, "evaluate", enabled=False if args.no_progress else None)
    from ..execution import dask_map
    from ..stages import report_stages, stage

    first = [True]

    def progress(n: int) -> None:
        if first[0]:
            first[0] = False
            stage("")  # the first scenarios are done: the bar speaks from here
        bar.update(n)

    try:
        with report_stages(log, "evaluate: ", after=3.0), \
                client_from_args(args) as client:
            # the first kernel call compiles the kernels when their cache is cold (the setup
            # step warms it): said after 3 s, so a warm start prints nothing
            stage("compiling the scenario kernels (first run on this machine only; "
                  "cached afterwards)")
            ev = evaluate(inst, plan, scenarios=args.scenarios, seed=args.seed, params=params,
                          chunk_size=args.chunk_size, threads=args.threads, progress=progress,
                          allow_nonoptimal=args.allow_nonoptimal,
                          map=None if client is None else dask_map(client, prefix="chunk"))
    finally:
        bar.close()
    # wall: the command up to writing EVAL (summary.json is written once, in the commit)
    ev.summary["timings"]["wall"] = time.perf_counter() - t0
    ev.write(args.output, force=args.force, protect=protect, fmt=args.format)
    if args.json:
        emit_json(ev.summary)
    else:
        print(format_summary(ev.summary))
        print(f"wrote {args.output}")
    return 0
