"""Planning for reliability on a benchmark tier: a certified plan against one
deterministic solve of the same instance.

    python benchmarks/bench_reliability.py [--tier 100k-few] [--reliability 0.95]
        [--train 2000] [--certify 10000] [--threads 2] [--json]

Reports: the deterministic solve's wall time (optimiser.solve, default settings), the
reliability run's wall time and its ratio to it (goal <= 10x, training and certification
replays included), iterations and certification attempts, each LP solve (the first cold,
the rest warm re-solves after floor changes), and replay throughput in cell-updates per
second ((pairs + lanes) x days x scenarios replayed / replay seconds).
The scenario model is the benchmark's noise (demand, delays, outages, losses). The
generated tiers break some floors even in the expected plan (not enough supply); by
default those floors are capped at the stock the expected plan holds, so the run measures
buying buffers rather than proving a capacity limit (--as-generated keeps them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

NOISE = dict(demand_sigma=0.3, demand_phi=0.5, delay_prob=0.1, delay_max_days=3,
             outage_prob=0.002, outage_days=3, loss_prob=0.01)


def run(tier: str = "100k-few", reliability: float = 0.95, train: int = 2000,
        certify: int = 10000, threads: int | None = None, reachable: bool = True) -> dict:
    import dataclasses

    import numba
    import numpy as np

    from optimiser._fdcapture import stdout_to_stderr
    from optimiser.benchsuite.tiers import TIERS, generate
    from optimiser.instance import Instance
    from optimiser.scenarios.params import ScenarioParams
    from optimiser.solve import solve

    if threads:
        numba.set_num_threads(threads)
    meta, tables = generate(TIERS[tier])
    inst = Instance.from_tables(meta, tables)
    with stdout_to_stderr():
        first = solve(inst)  # also warms imports and caches, untimed
        lowered = 0
        if reachable:
            # the generated tiers break some floors even in the expected plan (supply
            # short of them): no plan can hold those, so cap each floor at the stock the
            # expected plan holds there -- the question is then the buffer, not capacity
            floor = np.minimum(inst.floor, np.maximum(first.s, 0.0))
            lowered = int((floor < inst.floor - 1e-9).sum())
            inst = dataclasses.replace(inst, floor=floor)
        t = time.perf_counter()
        det = solve(inst)
        det_s = time.perf_counter() - t
        t = time.perf_counter()
        plan = solve(inst, reliability=reliability, train=train, certify=certify,
                     params=ScenarioParams(**NOISE),
                     log=lambda m: print(m, file=sys.stderr, flush=True))
        rel_s = time.perf_counter() - t
    rel = plan.summary["reliability"]
    run_ = plan.summary["reliability_run"]
    tm = plan.summary["timings"]
    cells = (inst.n_pairs + inst.n_lanes) * inst.horizon
    solves = run_["lp_solves"]
    warm = [x["seconds"] for x in solves if x["warm"]]
    return {
        "tier": tier, "variables": det.summary["size"]["variables"],
        "pairs": inst.n_pairs, "days": inst.horizon, "floors_lowered": lowered, "protected_pairs": plan.reliability.num_rows,
        "params": NOISE, "reliability": reliability, "train": train, "certify": certify,
        "numba_threads": numba.get_num_threads(),
        "deterministic_solve_seconds": det_s,
        "reliability_seconds": rel_s, "ratio": rel_s / det_s,
        "baseline_seconds": tm.get("reliability_baseline"),
        "lp_build_seconds": run_["lp_build_seconds"],
        "certified": rel["certified"], "iterations": rel["iterations"],
        "attempts": rel["attempts"], "extra_cost": rel["extra_cost"],
        "baseline_objective": rel["baseline_objective"], "worst": rel["worst"],
        "limits": run_["limits"],
        "lp_cold_seconds": solves[0]["seconds"] if solves else None,
        "lp_warm_seconds": warm,
        "lp_simplex_iterations": [x["iterations"] for x in solves],
        "replayed_scenarios": run_["replayed_scenarios"],
        "replay_seconds": run_["replay_seconds"],
        "replay_cells_per_second": cells * run_["replayed_scenarios"] / max(
            run_["replay_seconds"], 1e-9),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tier", default="100k-few")
    ap.add_argument("--reliability", type=float, default=0.95)
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--certify", type=int, default=10000)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--as-generated", action="store_true",
                    help="keep the tier's floors even where the expected plan breaks them")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    r = run(a.tier, a.reliability, a.train, a.certify, a.threads, not a.as_generated)
    if a.json:
        print(json.dumps(r, indent=2))
        return
    print(f"tier {r['tier']}: {r['variables']:,} LP variables, {r['pairs']} pairs x "
          f"{r['days']} days, {r['protected_pairs']} protected pairs "
          f"({r['floors_lowered']} (pair, day) floors capped at the expected plan's stock)")
    print(f"deterministic solve        {r['deterministic_solve_seconds']:8.2f} s")
    print(f"certified {r['reliability']:g} plan        {r['reliability_seconds']:8.2f} s "
          f"= {r['ratio']:.1f}x (goal <= 10x); certified={r['certified']}, "
          f"{r['iterations']} LP solves, {r['attempts']} attempt(s)")
    print(f"  baseline (expected plan)  {r['baseline_seconds']:.2f} s, LP build "
          f"{r['lp_build_seconds']:.2f} s")
    warm = r["lp_warm_seconds"]
    print(f"  LP cold {r['lp_cold_seconds']:.2f} s; warm re-solves "
          + ", ".join(f"{x:.2f}" for x in warm) + " s")
    print(f"  simplex iterations per solve: {r['lp_simplex_iterations']}")
    print(f"  replays: {r['replayed_scenarios']:,} scenarios in {r['replay_seconds']:.2f} s = "
          f"{r['replay_cells_per_second'] / 1e9:.2f} G cell-updates/s")
    print(f"  extra cost {r['extra_cost']:,.2f} over {r['baseline_objective']:,.2f}")
    for x in r["limits"][:10]:
        print(f"  unreachable {x['node']}/{x['commodity']}: best {x['best_reliability']:.3f} "
              f"-- {x['limit']}")


if __name__ == "__main__":
    main()
