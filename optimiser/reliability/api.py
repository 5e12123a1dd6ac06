"""`optimiser.solve(inst, reliability=R, ...)`: the least-cost plan whose readiness holds
with probability R under the scenario model, certified on fresh scenarios.

    plan = optimiser.solve("instances/seed-155mm", reliability=0.95,
                           params=ScenarioParams(demand_sigma=0.3), train=2000, certify=10000)
    plan.summary["reliability"]["certified"]; plan.reliability; plan.frontier
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import numpy as np

from ..execution import scenario_params, thread_map
from ..instance import Instance, as_instance
from ..model.status import Status
from ..scenarios.params import ScenarioParams
from .fan import FAN_SCENARIOS, certification_fan
from .loop import Loop, Outcome
from .results import (
    FAN_SCHEMA,
    ReliabilityPlan,
    event_bound,
    frontier_table,
    limits_list,
    reliability_table,
    summary_section,
)
from .targets import DEFAULT_CERTIFY, DEFAULT_CONFIDENCE, DEFAULT_TRAIN, Targets

LP_WORKERS = 2  # commodity blocks solved at a time (each HiGHS one thread: same bits)


def solve_reliable(instance: Instance | str, *, reliability: float, scope: str = "pair",
                   service: float | None = None, confidence: float = DEFAULT_CONFIDENCE,
                   train: int = DEFAULT_TRAIN, certify: int = DEFAULT_CERTIFY,
                   frontier=(), seed: int = 0,
                   params: ScenarioParams | Mapping | None = None, map=None,
                   log: Callable[[str], None] | None = None, check: bool = True,
                   **scenario_kwargs) -> ReliabilityPlan:
    """Plan for reliability (docs/RELIABILITY.md). Targets are checked before any work: a
    target M scenarios cannot certify raises UsageError naming the M it needs.

    map: an Executor.map-like callable (e.g. `optimiser.distributed.dask_map(client)`) for
    the training and certification replays; results are the same bits as local.
    """
    from ..errors import UsageError
    from ..solve import solve as plain_solve

    if reliability is None:
        raise UsageError("service, frontier, train, certify, scope, confidence, seed and "
                         "params plan for reliability: give reliability=R (0 < R < 1) too")
    t0 = time.perf_counter()
    targets = Targets(reliability=reliability, scope=scope, service=service,
                      confidence=confidence, train=train, certify=certify, seed=seed,
                      frontier=tuple(frontier or ()))
    prm = scenario_params(params, scenario_kwargs)
    inst = as_instance(instance)
    log = log or (lambda msg: None)
    # the expected-demand plan: fixed, deterministic configuration (HiGHS, one thread per
    # commodity block); the blocks are independent LPs, so solving two at a time (as the
    # loop's LP does) gives the same bits as one after the other, in half the time
    baseline = plain_solve(inst, solver="highs", threads=1, check=check,
                           map=thread_map(LP_WORKERS, "optimiser-reliability"))
    timings = {"baseline": time.perf_counter() - t0}
    if baseline.status not in (Status.OPTIMAL.value, Status.FEASIBLE.value):
        plan = ReliabilityPlan.from_plan(baseline)
        plan.summary["message"] = (plan.summary.get("message", "") + "; the expected-demand "
                                   "LP itself has no plan, so no reliability plan exists").lstrip("; ")
        return plan
    log(f"expected-demand plan: objective {baseline.objective:,.2f} "
        f"({timings['baseline']:.2f}s)")
    t = time.perf_counter()
    loop = Loop(inst, targets, prm, baseline.u, map_fn=map, log=log, lp_workers=LP_WORKERS,
                start=(baseline.x, baseline.s, baseline.u), baseline_s=baseline.s)
    timings["lp_build"] = time.perf_counter() - t
    levels = sorted(set(targets.frontier) | {targets.reliability})
    outcomes: dict[float, Outcome] = {}
    for r in levels:  # ascending: each starts from the lower one's planning floors
        outcomes[r] = loop.run(r)
    main = outcomes[targets.reliability]
    # the plan of --reliability R is the LP solution its certificate was judged on; its
    # shadow prices are those of that solve, re-solved at the same bounds only when a higher
    # frontier target solved since (kept only when the re-solve gives the same plan)
    t = time.perf_counter()
    duals = True
    if main.solve_index != len(loop.lp.solves):
        again = loop.lp.solve(*main.solved_at)
        duals = bool(np.array_equal(again.x, main.lp.x) and np.array_equal(again.u, main.lp.u))
    timings["final_solve"] = time.perf_counter() - t
    plan = _plan(inst, main.lp, loop, check, duals=duals)
    base_obj = float(baseline.objective)
    table, n_pair_rows = reliability_table(inst, main, targets)
    plan.reliability = table
    plan.planning_floor = np.where(loop.ready[:, None] | loop.service[:, None],
                                   main.planning_floor, inst.floor)
    s = plan.summary
    s["reliability"] = summary_section(inst, main, targets, prm, base_obj, plan.objective,
                                       table, n_pair_rows)
    limits = limits_list(inst, main, targets)
    if not main.certified:
        names = ", ".join(f"{x['node']}/{x['commodity']} (best {x['best_reliability']:.3f}: "
                          f"{x['limit']})" for x in limits[:5])
        s["message"] = (f"target {targets.reliability:g} unreachable: {names}" if limits else
                        f"target {targets.reliability:g} reached in training but not "
                        f"certified within {main.attempts} attempt(s)")
    # the fan of the pairs with a target under the scenarios the certificate was judged on
    t = time.perf_counter()
    last = main.certify_ranges[-1]
    pairs = loop.ready | loop.service
    fan_range = {**last, "count": min(int(last["count"]), FAN_SCENARIOS)}
    plan.fan = certification_fan(inst, main.lp.x, main.lp.u, prm, fan_range["seed"],
                                 fan_range["first"], fan_range["count"], pairs,
                                 map_fn=map, runner=loop.runner) \
        if pairs.any() else FAN_SCHEMA.empty_table()
    timings["fan"] = time.perf_counter() - t
    if targets.frontier:
        points = []
        for r, o in outcomes.items():
            if r not in targets.frontier:  # R itself only when listed
                continue
            p = plan if r == targets.reliability else _plan(inst, o.lp, None, False)
            points.append({"reliability": r, "certified": bool(o.certified),
                           "upper_bound": event_bound(o, targets), "objective": p.objective,
                           "procurement": p.breakdown["procurement"],
                           "extra_cost": p.objective - base_obj})
        plan.frontier = frontier_table(points)
        plan.frontier_floors = {r: o.planning_floor for r, o in outcomes.items()}
    timings["loop"] = sum(o.seconds for o in outcomes.values())
    timings["replay"] = loop.runner.seconds
    timings["total"] = time.perf_counter() - t0
    s["timings"] = {**s.get("timings", {}),
                    **{f"reliability_{k}": v for k, v in timings.items()}}
    s["reliability_run"] = {
        "lp_solves": [{k: (round(v, 6) if isinstance(v, float) else v) for k, v in x.items()}
                      for x in loop.lp.solves],
        "lp_build_seconds": loop.lp.build_seconds,
        "replayed_scenarios": loop.runner.scenarios,
        "replay_seconds": loop.runner.seconds,
        "replayed_cells": loop.runner.cells,
        "replayed_pairs": int(loop.runner.need.sum()),
        "targets": [{"reliability": r, "certified": o.certified, "trained": o.trained,
                     "iterations": o.iterations, "attempts": o.attempts,
                     "training_replays": list(o.train_sizes),
                     "training_replayed": list(o.train_replayed),
                     "certify": o.certify_ranges,
                     "certify_replayed": list(o.certify_replayed), "seconds": o.seconds}
                    for r, o in outcomes.items()],
        "limits": limits,
        "fan": fan_range,
    }
    return plan


def _plan(inst: Instance, res, loop: Loop | None, check: bool,
          duals: bool = True) -> ReliabilityPlan:
    """The plan of an LP result, its objective and breakdown against the instance's floors;
    with `duals`, the shadow prices of the session's last solve (which must be `res`)."""
    from ..solve import BlockResult, _binding_summary, _plan_from_arrays

    size = loop.lp.size if loop is not None else {}
    block = BlockResult(status=res.status, backend_status="kOptimal", x=res.x, u=res.u,
                        solver_objective=None, size=size, timings={})
    plan = ReliabilityPlan.from_plan(_plan_from_arrays(inst, block))
    s = plan.summary
    if loop is None:
        return plan
    last = loop.lp.solves[-1]["how"] if loop.lp.solves else []
    highs = any("HiGHS" in h or h in ("warm", "cold", "point") for h in last)
    s["solver"] = {"name": "highs" if highs else "lemon",
                   "method": "simplex" if highs else "network simplex",
                   "time_limit": None, "threads": 1, "tolerance": None,
                   "how": f"reliability loop ({loop.lp.method} path): "
                          f"{len(loop.lp.solves)} LP solve(s)"
                          f"{' per commodity block' if len(loop.lp.blocks) > 1 else ''}; "
                          f"the last by {', '.join(last) or 'none'}",
                   "backend_status": "kOptimal"}
    if loop.lp.method == "network":
        from ..model import lemon_native

        # which LEMON restarted the blocks' graphs: where the LP has ties the compiled
        # library (arc mixing off) and pylmcf may stop at different optimal vertices, and
        # the loop may then take another path to another certified plan
        s["solver"]["network_engine"] = lemon_native.engine()
    s["size"] = size
    if duals:
        shadow, info = loop.lp.shadow_prices()
        plan.shadow_prices = shadow
        s.update(info)
        s["binding"] = _binding_summary(shadow)
    else:
        s["duals"] = {"source": "none", "kkt_ok": False,
                      "note": "the re-solve for duals gave another optimal plan than the "
                              "certified one, so no shadow prices are reported"}
    if check and plan.status in (Status.OPTIMAL.value, Status.FEASIBLE.value):
        from ..solve import check_and_mark

        check_and_mark(inst, plan)
    return plan
