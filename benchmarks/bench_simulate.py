"""Closed-loop replanning throughput on the 10k-few tier (8 suppliers, 24 nodes, 2
commodities, 60 days): N scenarios with weekly replans, locally with 2 and 1 worker
processes, every replan LP started from the same day's reference basis (the default),
network-started (LEMON + its spanning-tree basis to HiGHS) or cold (HiGHS dual simplex
from scratch), and on Dask LocalClusters of 1 and 2 worker processes. Reports wall seconds, replans (LP solves) per second, LP seconds per replan
and the extrapolation to 1,000 scenarios, with the machine's `uptime` load beside every
figure (the machine may be shared).

    python benchmarks/bench_simulate.py [--scenarios N] [--quick] [--no-dask] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

NOISE = dict(demand_sigma=0.3, demand_phi=0.7, surge_prob=0.01, surge_multiplier=1.5,
             surge_days=7, outage_prob=0.005, outage_days=10, delay_prob=0.2,
             delay_max_days=5, loss_prob=0.02)


def _load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def tier_instance():
    from optimiser.benchsuite.tiers import TIERS
    from optimiser.generate import generate_instance
    from optimiser.instance import Instance

    t = TIERS["10k-few"]
    meta, tables = generate_instance(**t.generator_args())
    return Instance.from_tables(meta, tables)


def run(scenarios: int = 1000, dask: bool = True, dask_scenarios: int = 128) -> dict:
    from optimiser._fdcapture import stdout_to_stderr
    from optimiser.simulate import simulate
    from optimiser.solve import solve

    inst = tier_instance()
    with stdout_to_stderr():
        plan = solve(inst, threads=1, method="simplex")
    rows = []
    simulate(inst, scenarios=2, replan_every=30, plan=plan, **NOISE)  # compile / warm up

    def one(label, n, **kw):
        load0 = _load()
        t0 = time.perf_counter()
        with stdout_to_stderr():
            sim = simulate(inst, scenarios=n, replan_every=7, plan=plan, seed=1, fan=True,
                           **NOISE, **kw)
        secs = time.perf_counter() - t0
        s = sim.summary
        rows.append(dict(setup=label, scenarios=n, seconds=secs, solves=s["solves"],
                         solves_per_s=s["solves"] / secs, scenarios_per_s=n / secs,
                         solve_seconds_mean=s["solve_seconds_mean"],
                         relaxed=s["relaxed_replans"], load_before=load0, load_after=_load(),
                         unmet_diff=s["open_loop"]["unmet"]["diff_mean"],
                         cost_diff=s["open_loop"]["cost"]["diff_mean"]))
        print(json.dumps(rows[-1]), file=sys.stderr)
        return sim

    one("local, 2 processes, reference-basis start (default)", scenarios, workers=2)
    one("local, 1 process, reference-basis start", max(16, scenarios // 8), workers=1)
    one("local, 1 process, network start", max(16, scenarios // 8), workers=1,
        lp_start="network")
    one("local, 1 process, cold dual simplex", max(8, scenarios // 32), workers=1,
        lp_start="cold")
    if dask:
        from optimiser import distributed

        for w in (1, 2):
            with distributed.connect("local", n_workers=w) as client:
                one(f"Dask LocalCluster, {w} worker(s), reference-basis start", dask_scenarios,
                    map=distributed.dask_map(client, prefix="simulate"), chunk_size=32)
    return {"instance": inst.name, "pairs": inst.n_pairs, "lanes": inst.n_lanes,
            "days": inst.horizon, "cpu_count": os.cpu_count(), "noise": NOISE, "rows": rows}


def markdown(res: dict) -> str:
    out = [f"`{res['instance']}`: {res['pairs']} pairs, {res['lanes']} lanes, {res['days']} "
           "days; replan every 7 days (8 replans per scenario, each 2 commodity LPs); "
           f"{res['cpu_count']} cores.", "",
           "| setup | scenarios | seconds | replans (LP solves) | solves/s | LP s per replan "
           "| LP-only solves/s per process | 1,000 scenarios at this rate (s) | load before "
           "| load after |", "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in res["rows"]:
        out.append(f"| {r['setup']} | {r['scenarios']:,} | {r['seconds']:.1f} | {r['solves']:,} "
                   f"| {r['solves_per_s']:.1f} | {r['solve_seconds_mean']:.4f} | "
                   f"{1.0 / r['solve_seconds_mean']:.1f} | {r['seconds'] * 1000 / r['scenarios']:.0f} "
                   f"| {r['load_before'].split('load average:')[-1]} "
                   f"| {r['load_after'].split('load average:')[-1]} |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenarios", type=int, default=1000)
    ap.add_argument("--quick", action="store_true", help="100 scenarios, 64 on Dask")
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--dask-scenarios", type=int, help="scenarios of the Dask runs (default 128)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    n = 100 if a.quick else a.scenarios
    res = run(n, dask=not a.no_dask,
              dask_scenarios=a.dask_scenarios or (64 if a.quick else 128))
    print(json.dumps(res, indent=2) if a.json else markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
