"""optimiser evaluate INSTANCE PLAN -o EVAL --scenarios N"""

from __future__ import annotations

import argparse
import functools
import time

from .common import Progress, emit_json, log

HELP = """\
Replay PLAN (a plan directory for INSTANCE) against N sampled futures (docs/SCENARIOS.md)
and write EVAL/: scenarios.arrow (one row of KPIs per scenario), fan.arrow (p5/p50/p95
of end-of-day stock per node, commodity and day) and summary.json (mean, sd, p5, p50,
p95 of every KPI, unmet CVaR95, P(any shortfall), P(any floor breach)).

Scenario parameters: --params FILE (TOML or JSON, names in docs/SCENARIOS.md) and/or one
flag per parameter (--demand-sigma 0.3 ...); flags override the file. Results depend
only on the seed, the parameters and N: never on --chunk-size or --threads.
docs/SCENARIOS.md describes the model and every choice the spec leaves open.

exit status: 0 success; 2 usage error, invalid instance or plan; 1 internal error."""


def register(sub) -> None:
    from ..scenarios.params import add_cli_flags

    p = sub.add_parser("evaluate", help="stress-test a plan under sampled scenarios",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("instance", metavar="INSTANCE", help="instance directory")
    p.add_argument("plan", metavar="PLAN", help="plan directory")
    p.add_argument("-o", "--output", required=True, metavar="EVAL", help="directory to write")
    p.add_argument("--scenarios", type=int, required=True, metavar="N", help="scenarios to replay")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--params", metavar="FILE", help="scenario parameters (TOML or JSON)")
    add_cli_flags(p)
    p.add_argument("--chunk-size", type=int, metavar="N",
                   help="scenarios per chunk (memory; never changes results)")
    p.add_argument("--threads", type=int, metavar="N", help="numba threads")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--json", action="store_true", help="print summary.json on stdout, nothing else")
    p.add_argument("--force", action="store_true", help="replace EVAL if it exists")
    p.add_argument("--format", choices=("arrow", "parquet"), default="arrow",
                   help="table files as NAME.arrow (default) or NAME.parquet")
    from ..distributed import add_cli_flags as add_dask_flags
    add_dask_flags(p)  # --dask local|tcp://HOST:PORT: chunks on a Dask cluster (same bits)
    p.set_defaults(run=run)


def run(args) -> int:
    from pathlib import Path

    from .._atomic import atomic_dir  # noqa: F401  (the writer below uses it)
    from ..errors import OutputExistsError, UsageError
    from ..instance import load_instance
    from ..plan import read_plan
    from ..scenarios import evaluate
    from ..scenarios.params import params_from_cli
    from ..scenarios.results import format_summary

    t0 = time.perf_counter()
    params = params_from_cli(args)  # usage errors before any work
    if args.scenarios is None or args.scenarios < 1:
        raise UsageError("--scenarios must be >= 1")
    out = Path(args.output)
    if out.exists() and not args.force:  # refuse early; atomic_dir checks again
        raise OutputExistsError(f"{out.absolute()} exists; pass --force to replace it")
    inst = load_instance(args.instance)
    for w in inst.warnings:
        log(f"warning: {w}")
    plan = read_plan(args.plan, inst)
    bar = Progress(args.scenarios, "evaluate", enabled=False if args.no_progress else None)
    from .. import distributed
    try:
        with distributed.client_from_args(args) as client:
            run_eval = evaluate if client is None else functools.partial(distributed.evaluate, client)
            ev = run_eval(inst, plan, scenarios=args.scenarios, seed=args.seed, params=params,
                          chunk_size=args.chunk_size, threads=args.threads, progress=bar.update)
    finally:
        bar.close()
    ev.write(out, force=args.force, protect=(args.instance, args.plan), fmt=args.format)
    ev.summary["timings"]["wall"] = time.perf_counter() - t0
    from ..scenarios.results import summary_json
    (out / "summary.json").write_text(summary_json(ev.summary), encoding="utf-8")
    if args.json:
        from ..scenarios.results import _clean
        emit_json(_clean(ev.summary))
    else:
        print(format_summary(ev.summary))
        print(f"wrote {out}")
    return 0
