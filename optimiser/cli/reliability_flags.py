"""`optimiser solve INSTANCE -o PLAN --reliability R ...`: flags and output (docs/RELIABILITY.md).

Hooked into cmd_solve: `add_flags(parser)` at registration, and `run(args)` when
`wanted(args)` (any of these flags given).
"""

from __future__ import annotations

import time

from ..errors import UsageError
from . import common
from .common import EXIT_INFEASIBLE, EXIT_OK, emit_json, log

FLAGS = ("reliability", "scope", "service", "confidence", "train", "certify", "frontier",
         "seed", "params")


def add_flags(p) -> None:
    from ..reliability.targets import DEFAULT_CERTIFY, DEFAULT_CONFIDENCE, DEFAULT_TRAIN
    from .engine_flags import add_scenario_flags as add_cli_flags

    g = p.add_argument_group(
        "planning for reliability (docs/RELIABILITY.md): the least-cost plan whose floors "
        "hold with probability R under the scenario model, certified on fresh scenarios; "
        "exit 0 certified, 3 not certified (unreachable pairs named) or the LP infeasible, "
        "2 a target the certification scenarios cannot certify")
    g.add_argument("--reliability", type=probability, metavar="R",
                   help="target probability that each protected pair (floor > 0) stays at or "
                        "above its floor on every day, 0 < R < 1 (e.g. 0.95)")
    g.add_argument("--scope", choices=["pair", "joint"], default=None,
                   help="pair (default): the target holds for every pair on its own; "
                        "joint: for all pairs together")
    g.add_argument("--service", type=probability, metavar="S",
                   help="also: probability that each pair with demand meets its planned "
                        "consumption on every day")
    g.add_argument("--confidence", type=probability, metavar="C",
                   help=f"confidence of the certificate (default {DEFAULT_CONFIDENCE})")
    g.add_argument("--train", type=common.whole(1, example=", such as 2000"), metavar="N",
                   help=f"training scenarios (default {DEFAULT_TRAIN:,})")
    g.add_argument("--certify", type=common.whole(1, example=", such as 10000"), metavar="M",
                   help=f"certification scenarios per attempt (default {DEFAULT_CERTIFY:,})")
    g.add_argument("--frontier", metavar="R1,R2,...",
                   help="also plan for these targets and write frontier.arrow (cost against "
                        "reliability; planning floors nested)")
    g.add_argument("--seed", type=common.seed, metavar="S",
                   help="scenario seed, 0..2**64-1 (default 0)")
    g.add_argument("--params", metavar="FILE",
                   help="scenario parameters from a TOML or JSON file (flags override)")
    add_cli_flags(p)


def probability(text: str) -> float:
    """A probability strictly between 0 and 1 (--reliability, --service, --confidence)."""
    import argparse
    import math

    what = "a probability strictly between 0 and 1, such as 0.95"
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not (math.isfinite(v) and 0.0 < v < 1.0):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return v


def wanted(args) -> bool:
    from ..scenarios.params import PARAMETERS

    return any(getattr(args, f, None) is not None for f in FLAGS) or any(
        getattr(args, f"param_{n}", None) is not None for n in PARAMETERS)


def _frontier(text: str | None) -> tuple[float, ...]:
    if text is None:
        return ()
    out = []
    for part in text.split(","):
        part = part.strip()
        try:
            out.append(float(part))
        except ValueError:
            raise UsageError(f"--frontier {text!r}: {part!r} is not a number; give targets "
                             "like 0.8,0.9,0.95") from None
    if not out:
        raise UsageError("--frontier needs at least one target, e.g. 0.8,0.9,0.95")
    return tuple(out)


def run(args) -> int:
    from ..execution import dask_map, numba_threads
    from ..instance import load_instance
    from ..reliability import solve_reliable
    from ..reliability.targets import DEFAULT_CERTIFY, DEFAULT_CONFIDENCE, DEFAULT_TRAIN
    from ..status import exit_code
    from .engine_flags import client_from_args, params_from_cli

    t0 = time.perf_counter()
    if args.reliability is None:
        given = [f"--{f}" for f in FLAGS if getattr(args, f, None) is not None]
        raise UsageError(f"{', '.join(given) or 'scenario parameters'} plan for reliability: "
                         "add --reliability R (e.g. --reliability 0.95)")
    for flag in ("time_limit",):
        if getattr(args, flag, None) is not None:
            log(f"note: --{flag.replace('_', '-')} is ignored with --reliability (the LPs of "
                "the loop run without limits, one thread, so the plan is reproducible)")
    if getattr(args, "threads", None) is not None and args.threads < 1:
        raise UsageError("--threads must be >= 1")
    params = params_from_cli(args)
    from .._atomic import check_output

    protect = (args.instance,)
    inst = load_instance(args.instance)
    for w in inst.warnings:
        log(f"warning: {w}")
    kwargs = dict(reliability=args.reliability, scope=args.scope or "pair",
                  service=args.service,
                  confidence=DEFAULT_CONFIDENCE if args.confidence is None else args.confidence,
                  train=DEFAULT_TRAIN if args.train is None else args.train,
                  certify=DEFAULT_CERTIFY if args.certify is None else args.certify,
                  frontier=_frontier(args.frontier), seed=0 if args.seed is None else args.seed,
                  params=params)
    from ..reliability.targets import Targets

    Targets(**{k: v for k, v in kwargs.items() if k != "params"})  # refuse before any work
    check_output(args.output, args.force, protect)
    with numba_threads(getattr(args, "threads", None), clamp=True), \
            client_from_args(args) as client:
        plan = solve_reliable(inst, map=None if client is None else
                              dask_map(client, prefix="reliability"), log=log, **kwargs)
    from .cmd_solve import write_plan

    write_plan(plan, args.output, args.force, protect, t0, getattr(args, "format", "arrow"))
    if args.json:
        emit_json(plan.summary)
    else:
        print(format_reliability(plan))
    code = exit_code(plan.status, plan.summary.get("check", {}).get("ok") is False)
    if code != EXIT_OK:
        return code
    rel = plan.summary.get("reliability") or {}
    return EXIT_OK if rel.get("certified") else EXIT_INFEASIBLE


def format_reliability(plan) -> str:
    from ..planview import format_plan_summary

    s = plan.summary
    lines = [format_plan_summary(plan)]
    rel = s.get("reliability")
    if not rel:
        return lines[0]
    verdict = "CERTIFIED" if rel["certified"] else "NOT CERTIFIED"
    lines.append(f"reliability {rel['target']:g} ({rel['scope']}"
                 + (f", service {rel['service']:g}" if rel.get("service") else "")
                 + f", confidence {rel['confidence']:g}): {verdict} after "
                 f"{rel['iterations']} LP solve(s), {rel['attempts']} certification attempt(s)")
    lines.append(f"  expected-demand plan {rel['baseline_objective']:,.2f}; this plan costs "
                 f"{rel['extra_cost']:,.2f} more")
    cert = rel["seeds"]["certify"]
    if cert:
        last = cert[-1]
        lines.append(f"  trained on scenarios 0..{rel['train_scenarios'] - 1}, certified on "
                     f"{last['first']}..{last['first'] + last['count'] - 1} (seed {last['seed']})")
    if rel.get("worst"):
        w = rel["worst"]
        lines.append(f"  worst pair {w['node']}/{w['commodity']}: breach probability <= "
                     f"{w['upper_bound']:.4f} at confidence {rel['confidence']:g}")
    if rel.get("joint_upper_bound") is not None:
        lines.append(f"  any pair: breach probability <= {rel['joint_upper_bound']:.4f}")
    t = plan.reliability
    if t is not None and t.num_rows:
        buf = [r for r in t.to_pylist() if r["max_buffer"] > 0 and r["node"] is not None]
        buf.sort(key=lambda r: -r["max_buffer"])
        if buf:
            lines.append("  buffers above the floor (largest first):")
            for r in buf[:10]:
                lines.append(f"    {r['node']}/{r['commodity']:<20} +{r['max_buffer']:>14,.1f}  "
                             f"{r['kind']}: {r['certify_breaches']}/{r['certify_scenarios']} "
                             f"breaches, bound {r['upper_bound']:.4f}")
    for x in s.get("reliability_run", {}).get("limits", [])[:10]:
        lines.append(f"  unreachable: {x['node']}/{x['commodity']} best {x['best_reliability']:.3f}"
                     f" — {x['limit']}")
    fr = plan.frontier
    if fr is not None and fr.num_rows:
        lines.append("frontier (reliability, certified, bound, objective, extra cost):")
        for r in fr.to_pylist():
            ub = "-" if r["upper_bound"] is None else f"{r['upper_bound']:.4f}"
            lines.append(f"  {r['reliability']:<8g} {'yes' if r['certified'] else 'no ':<4} "
                         f"{ub:>8} {r['objective']:>18,.2f} {r['extra_cost']:>16,.2f}")
    lines.append("(each bound is one-sided Clopper–Pearson per target event at the stated "
                 "confidence, with no correction across pairs)")
    return "\n".join(lines)
