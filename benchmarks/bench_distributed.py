"""Scenario evaluation on Dask vs local numba threads, on the same machine, in one run.

Peers, all on the same LP-solved generated instance, same seed and parameters (results
are bit-identical; the run checks it):

  local-1t     optimiser.scenarios.evaluate with 1 numba thread
  local-all    ... with every core's numba thread (the default)
  dask-1w      a LocalCluster of 1 worker process, numba threads = all cores
  dask-2w      2 worker processes, numba threads = cores / 2 each (the --dask local default)

plus the cost of distribution itself:

  startup      seconds to start a 2-worker LocalCluster and connect
  task_rtt     round trip of an empty task (submit -> result), median of many
  per_task     extra seconds per evaluation task: the same scenarios in tiny chunks
               (many tasks) minus in one chunk, divided by the extra tasks

Throughput is in cell-updates per second: (node-commodity pairs + lanes) x days x
scenarios / seconds (as benchmarks/bench_evaluate.py). Distribution pays when a
chunk's replay takes well over `per_task`, and across machines (more cores than one).

    python benchmarks/bench_distributed.py [--quick] [--json]

`run(quick) -> dict` is the entry point for the benchmark suite.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

NOISE = dict(demand_sigma=0.3, demand_phi=0.7, surge_prob=0.01, surge_multiplier=1.5,
             surge_days=7, outage_prob=0.005, outage_days=10, delay_prob=0.2,
             delay_max_days=5, loss_prob=0.02)
SEED = 12345
OVERHEAD_SCENARIOS, OVERHEAD_CHUNK = 2_000, 10  # per-task overhead: 1 task vs 200 tasks


def _instance(quick: bool):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from bench_evaluate import planned_instance

    return planned_instance(60 if quick else 120)


def _best(fn, repeats: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def run(quick: bool = False) -> dict:
    import numba

    from optimiser import distributed as D
    from optimiser.scenarios import evaluate, prepare
    from optimiser.scenarios.kernels import N_BINS

    inst, plan = _instance(quick)
    n = 5_000 if quick else 40_000
    repeats = 1 if quick else 2
    cells = prepare(inst, plan.x, plan.u).cells * n
    cores = numba.config.NUMBA_NUM_THREADS
    res: dict = {"instance": repr(inst), "scenarios": n, "cores": cores,
                 "cells_per_run": cells, "peers": {}}

    def local(threads):
        return evaluate(inst, plan, scenarios=n, seed=SEED, threads=threads, fan=True, **NOISE)

    local(1)  # compile / load the numba cache outside the timings
    ref = None
    for label, threads in (("local-1t", 1), ("local-all", cores)):
        s, ev = _best(lambda t=threads: local(t), repeats)
        ref = ref or ev
        res["peers"][label] = {"seconds": s, "cells_per_s": cells / s}

    for workers in (1, 2):
        t0 = time.perf_counter()
        with D.connect("local", n_workers=workers) as client:
            startup = time.perf_counter() - t0

            def dist(chunk=None, scenarios=n, fan=True):
                return D.evaluate(client, inst, plan, scenarios=scenarios, seed=SEED,
                                  chunk_size=chunk, fan=fan, **NOISE)

            dist()  # workers load the numba cache, import the engine
            s, ev = _best(dist, repeats)
            if not (ev.scenarios.equals(ref.scenarios) and ev.fan.equals(ref.fan)):
                raise AssertionError(f"dask-{workers}w differs from the local evaluation")
            res["peers"][f"dask-{workers}w"] = {
                "seconds": s, "cells_per_s": cells / s,
                "chunks": ev.summary["execution"]["chunks"],
                "numba_threads_per_worker": max(1, cores // workers)}
            if workers == 2:
                res["startup_s"] = startup
                rtt = []
                for _ in range(50 if quick else 200):
                    t = time.perf_counter()
                    client.submit(int, 0, pure=False).result()
                    rtt.append(time.perf_counter() - t)
                res["task_rtt_s"] = statistics.median(rtt)
                small, tiny = OVERHEAD_SCENARIOS, OVERHEAD_CHUNK
                tasks = small // tiny
                for fan in (True, False):
                    one, _ = _best(lambda f=fan: dist(OVERHEAD_SCENARIOS, OVERHEAD_SCENARIOS, f),
                                   repeats)
                    many, _ = _best(lambda f=fan: dist(OVERHEAD_CHUNK, OVERHEAD_SCENARIOS, f),
                                    repeats)
                    key = "per_task_s" if fan else "per_task_no_fan_s"
                    res[key] = (many - one) / (tasks - 1)
                    res[key.replace("_s", "_measure")] = {
                        "scenarios": small, "one_chunk_s": one, f"{tasks}_chunks_s": many}
                res["fan_bytes_per_task"] = inst.horizon * inst.n_pairs * N_BINS * 4
    base = res["peers"]["local-all"]["cells_per_s"]
    for p in res["peers"].values():
        p["vs_local_all"] = p["cells_per_s"] / base
    # a chunk must replay for this long before the task overhead is under 10 % of it
    res["chunk_seconds_for_10pct_overhead"] = 10 * res["per_task_s"]
    per_scenario = res["peers"]["local-1t"]["seconds"] / n
    res["scenarios_per_chunk_for_10pct_overhead_1t"] = int(np.ceil(10 * res["per_task_s"] / per_scenario))
    return res


def _print(r: dict) -> None:
    print(f"{r['instance']}, {r['scenarios']:,} scenarios, {r['cores']} cores")
    print(f"{'peer':<12}{'seconds':>10}{'Mcells/s':>12}{'vs local-all':>14}")
    for k, p in r["peers"].items():
        print(f"{k:<12}{p['seconds']:>10.3f}{p['cells_per_s'] / 1e6:>12.1f}{p['vs_local_all']:>14.2f}")
    print(f"2-worker LocalCluster startup {r['startup_s']:.2f} s; empty task round trip "
          f"{r['task_rtt_s'] * 1e3:.2f} ms; overhead per evaluation task {r['per_task_s'] * 1e3:.2f} ms "
          f"with the fan histograms ({r['fan_bytes_per_task'] / 1e6:.1f} MB a task), "
          f"{r['per_task_no_fan_s'] * 1e3:.2f} ms without")
    print(f"a task pays (<10 % overhead) from ~{r['scenarios_per_chunk_for_10pct_overhead_1t']:,} "
          "scenarios per chunk on one thread of this instance")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    r = run(a.quick)
    if a.json:
        print(json.dumps(r, indent=2))
    else:
        _print(r)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.exit(main())
