"""optimiser sweep INSTANCE VARIANTS.toml -o OUT"""

from __future__ import annotations

import argparse
import time

from . import common
from .common import EXIT_INTERNAL, emit_json, log

HELP = """\
Solve named what-if variants of INSTANCE (VARIANTS.toml: scale consumption, remove a
supplier or cap its capacity or contract, change floors, set or remove the budget, change
a lane's lead time) and, with --scenarios N, evaluate every plan under the same N sampled
futures. Writes OUT/: variants.arrow (one row per variant: status, objective and its
breakdown, unmet, unit-days below floor, evaluation KPIs, error),
variants_by_commodity.arrow (one row per variant and commodity: ordered, demand, unmet,
unit-days below floor and, when evaluated, that commodity's scenario KPIs), summary.json,
plans/<variant>/ and evaluations/<variant>/.

OUT is checked first (an existing OUT is refused unless --force; an OUT that is,
contains or lies inside INSTANCE, VARIANTS or the --params file is refused even
with --force). Every variant is checked before anything runs; a problem in any of
them is reported (naming the variant and the key) and nothing is solved. Variants
then run one at a time (or a few per Dask worker), each plan written into the
temporary OUT as it completes, so memory does not grow with the number of variants. A variant that fails while
running is reported as 'failed' with its reason; the others complete.

Without --dask the variants run one after another here (each solve and evaluation uses
this machine's cores); with --dask they run on a Dask cluster (docs/DISTRIBUTED.md).

exit status: 0 written (each variant's own outcome, infeasible included, is in
variants.arrow); 1 written, but some variant failed; 2 usage error or invalid instance
or variants."""


def register(sub) -> None:
    from ..model.backends import BACKENDS
    from .engine_flags import add_dask_flags, add_scenario_run_flags

    p = sub.add_parser("sweep", help="solve (and evaluate) what-if variants of an instance",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("instance", metavar="INSTANCE", help="instance directory")
    p.add_argument("variants", metavar="VARIANTS", help="variants file (TOML)")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="directory to write")
    p.add_argument("--solver", choices=list(BACKENDS), default=None, help="LP backend")
    p.add_argument("--time-limit", type=common.seconds, metavar="SECONDS",
                   help="per variant solve (a positive finite number)")
    p.add_argument("--threads", type=common.threads, metavar="N",
                   help=f"solver threads per variant, 1..{common.MAX_THREADS}")
    p.add_argument("--scenarios", type=common.whole(0), default=0, metavar="N",
                   help="evaluate each plan under N scenarios (default 0: no evaluation)")
    add_scenario_run_flags(p)
    add_dask_flags(p)
    p.add_argument("--json", action="store_true",
                   help="print the sweep's summary and rows on stdout, nothing else")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.set_defaults(run=run)


def run(args) -> int:
    from .._atomic import atomic_dir, check_output
    from ..instance import load_instance
    from ..sweep import FAILED, read_variants, sweep, write_variant
    from .cmd_evaluate import check_scenarios_memory
    from .engine_flags import client_from_args, params_from_cli

    t0 = time.perf_counter()
    params = params_from_cli(args)
    protect = (args.instance, args.variants, getattr(args, "params", None))
    check_output(args.output, args.force, protect)  # refuse before any work
    if args.scenarios:
        check_scenarios_memory(args.scenarios)
    inst = load_instance(args.instance)
    for w in inst.warnings:
        log(f"warning: {w}")
    variants = read_variants(inst, args.variants)
    log(f"sweep: {len(variants)} variant(s) of {inst.name}"
        + (f", {args.scenarios} scenarios each" if args.scenarios else "")
        + (f", on Dask {args.dask}" if args.dask else ""))

    def progress(name, res):
        obj = res.plan.summary.get("objective") if res.plan is not None else None
        log(f"  {name}: {res.status}" + (f", objective {obj:,.2f}" if obj is not None else "")
            + (f" ({res.error})" if res.error else "") + f" [{res.seconds:.2f}s]")

    with atomic_dir(args.output, force=args.force, protect=protect) as tmp:
        with client_from_args(args) as client:
            result = sweep(inst, variants, client=client, solver=args.solver,
                           time_limit=args.time_limit, threads=args.threads,
                           scenarios=args.scenarios, seed=args.seed, params=params,
                           chunk_size=args.chunk_size, progress=progress,
                           sink=lambda r: write_variant(tmp, r))
        result.summary["wall_seconds"] = time.perf_counter() - t0
        result.write_index(tmp)
    table = result.table
    if args.json:
        emit_json({**result.summary, "output": str(args.output), "rows": table.to_pylist()})
    else:
        print(format_table(table, result.by_commodity))
        print(f"wrote {args.output}")
    return EXIT_INTERNAL if result.summary["statuses"].get(FAILED) else 0


# columns that add quantities over every commodity: shown only when there is one commodity
_SUMMED = ("unmet", "below_floor_unit_days", "eval_unmet_mean", "eval_unmet_p95")


def format_table(table, by_commodity=None) -> str:
    """The variants, one line each; with several commodities, quantities per commodity
    below (a round and a litre are never added into one figure)."""
    several = (by_commodity is not None
               and len(set(by_commodity.column("commodity").to_pylist())) > 1)
    cols = [c for c in ("variant", "status", "objective", "unmet", "below_floor_unit_days",
                        "eval_unmet_mean", "eval_unmet_p95", "eval_p_any_shortfall")
            if c in table.column_names and not (several and c in _SUMMED)]
    out = _grid(table.select(cols).to_pylist(), cols, table.column("error").to_pylist())
    if several:
        kcols = [c for c in ("variant", "commodity", "ordered", "unmet", "below_floor_unit_days",
                             "eval_unmet_mean", "eval_p_any_shortfall", "eval_p_any_breach")
                 if any(v is not None for v in by_commodity.column(c).to_pylist())]
        out += ("\nper commodity (units of that commodity):\n"
                + _grid(by_commodity.select(kcols).to_pylist(), kcols,
                        [None] * by_commodity.num_rows))
    return out


def _grid(rows, cols, errs) -> str:
    def fmt(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:,.4g}" if abs(v) < 1 and v else f"{v:,.2f}"
        return str(v)

    cells = [[fmt(r[c]) for c in cols] for r in rows]
    width = [max(len(c), *(len(x[j]) for x in cells)) for j, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) if j < 2 else c.rjust(w) for j, (c, w) in enumerate(zip(cols, width)))]
    for x, e in zip(cells, errs):
        lines.append("  ".join(v.ljust(w) if j < 2 else v.rjust(w)
                               for j, (v, w) in enumerate(zip(x, width)))
                     + (f"  ({e})" if e else ""))
    return "\n".join(lines)
