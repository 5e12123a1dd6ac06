"""optimiser bench [--quick] [--json] [--out DIR]"""

from __future__ import annotations

import argparse

from .common import EXIT_INFEASIBLE, emit_json, log

HELP = """\
Benchmark the engine stage by stage (load, build, solve per backend, write, check,
scenario evaluation, end-to-end `optimiser solve`, peak memory) on generated tiers
of ~10k, ~100k and ~1M LP variables, against linopy, PuLP, Pyomo and highspy
passModel on the same LP in the same run. Every measurement runs in its own
process under a time cap; one that passes it is reported as "> cap".

  optimiser bench --quick            # two ~10k tiers, < 2 minutes
  optimiser bench --out benchmarks/results --max-minutes 120

The report (Markdown on stdout, or JSON with --json) has times, ratios
(engine / peer), peak memory, the machine, and each target met or missed.
With --out, writes bench-quick|bench-full .json/.md (and .png with matplotlib).
exit status: 0 done; 3 a peer's or backend's optimum differs from the engine's
(the models are not the same LP); 2 usage error."""


def register(sub) -> None:
    p = sub.add_parser("bench", help="benchmark the engine against the peers", description=HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="the two ~10k tiers only (< 2 minutes)")
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    p.add_argument("--out", metavar="DIR", help="write bench-*.json, .md and .png into DIR")
    p.add_argument("--tiers", metavar="A,B", help="run these tiers (see docs/BENCHMARKS.md)")
    p.add_argument("--huge", action="store_true", help="add the ~5M variable tiers")
    p.add_argument("--cap", type=float, metavar="SECONDS",
                   help="time cap per measurement (default 30 quick, 600 full)")
    p.add_argument("--max-minutes", type=float, metavar="M",
                   help="stop starting measurements after M minutes (the rest: 'skipped')")
    p.add_argument("--backends", default="highs,glop,pdlp", metavar="A,B",
                   help="bare solves to time (default highs,glop,pdlp)")
    p.add_argument("--peers", default="linopy,pulp,pyomo", metavar="A,B",
                   help="peers to build (default linopy,pulp,pyomo; 'none' for none)")
    p.add_argument("--no-evaluate", action="store_true", help="skip scenario evaluation")
    p.set_defaults(run=run)


def _list(s: str) -> tuple[str, ...]:
    return tuple(x for x in (s or "").split(",") if x and x != "none")


def run(args) -> int:
    import importlib.util

    from ..benchsuite import BACKENDS, PEERS, markdown, run_suite
    from ..errors import UsageError

    backends, peers = _list(args.backends), _list(args.peers)
    for b in backends:
        if b not in BACKENDS:
            raise UsageError(f"--backends: unknown {b!r}; choose from {', '.join(BACKENDS)}")
    for p in peers:
        if p not in PEERS:
            raise UsageError(f"--peers: unknown {p!r}; choose from {', '.join(PEERS)}")
    missing = [p for p in peers if importlib.util.find_spec(p) is None]
    if missing:
        log(f"peers not installed, left out: {', '.join(missing)} "
            "(pip install 'optimiser[bench]')")
        peers = tuple(p for p in peers if p not in missing)
    if args.cap is not None and args.cap <= 0:
        raise UsageError("--cap must be > 0")
    results = run_suite(quick=args.quick, tier_names=_list(args.tiers) or None, huge=args.huge,
                        cap=args.cap, max_minutes=args.max_minutes, backends=backends,
                        peers=peers, evaluate=not args.no_evaluate, out=args.out)
    if args.json:
        emit_json(results)
    else:
        print(markdown(results))
    for f in results.get("files", []):
        log(f"wrote {f}")
    if results["objective_mismatches"]:
        for c in results["objective_mismatches"]:
            log(f"OBJECTIVE MISMATCH on {c['tier']}: {c['stage']} {c['objective']} vs engine "
                f"{c['reference']} (rel {c['rel_diff']:.2e}): the models are not the same LP")
        return EXIT_INFEASIBLE
    return 0
