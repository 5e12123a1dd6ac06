"""Scenario evaluation throughput: numba kernel vs numpy (vectorised across scenarios)
vs plain Python, in one run, on one LP-solved generated instance.

Throughput is in cell-updates per second: (node-commodity pairs + lanes) x days x
scenarios / seconds. Variants: every parameter at its default, and all noise on;
numba at 1 and 2 threads. The first-call compile time (cold numba cache, in a fresh
process) is reported separately and never counted in throughput.

    python benchmarks/bench_evaluate.py [--quick] [--json] [--baseline REV]

--baseline REV also times the replay kernel of git revision REV (e.g. HEAD~3) in the
same run: REV's optimiser/ package is unpacked (git archive) into a temporary directory
and its own `run_kernel(arrays, params, seed, start, n)` -- the call every revision
shares, whatever the kernel's own signature -- is timed in a subprocess on the same
instance and plan, so a change is measured against its predecessor under the same machine
load (rows "numba kernel only @REV"; the note says whether its KPIs equal this
revision's).

`run(quick) -> dict` is the entry point for the benchmark suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

NOISE = dict(demand_sigma=0.3, demand_phi=0.7, surge_prob=0.01, surge_multiplier=1.5,
             surge_days=7, outage_prob=0.005, outage_days=10, delay_prob=0.2,
             delay_max_days=5, loss_prob=0.02)
BANDWIDTH_BOUND = 4.3e9  # cell-updates/s, the memory-bandwidth bound given in the brief
SEED = 12345


def planned_instance(days: int):
    """The benchmark instance (8 suppliers, 16 nodes, 3 commodities, seed 1) and its LP plan;
    shared with bench_distributed.py so both measure the same replay."""
    from optimiser._fdcapture import stdout_to_stderr
    from optimiser.generate import generate_instance
    from optimiser.instance import Instance
    from optimiser.solve import solve

    meta, tables = generate_instance(8, 16, 3, days, seed=1)
    inst = Instance.from_tables(meta, tables)
    with stdout_to_stderr():  # the HiGHS banner must not reach a --json stdout
        plan = solve(inst)
    return inst, plan


def _instance(quick: bool):
    return planned_instance(120 if quick else 365)


def _best(fn, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _compile_times() -> dict:
    """First call in a fresh process with an empty numba cache, then with the cache warm."""
    code = (
        "import time, numpy as np\n"
        "t0 = time.perf_counter()\n"
        "import sys; sys.path.insert(0, {!r})\n"
        "from scenario_reference import small_case\n"
        "from optimiser.scenarios import prepare, evaluate_chunk, ScenarioParams\n"
        "inst, x, u = small_case(6)\n"
        "a = prepare(inst, x, u)\n"
        "t1 = time.perf_counter()\n"
        "evaluate_chunk(a, ScenarioParams(demand_sigma=0.1), 0, 0, 2)\n"
        "t2 = time.perf_counter()\n"
        "evaluate_chunk(a, ScenarioParams(demand_sigma=0.1), 0, 0, 2)\n"
        "t3 = time.perf_counter()\n"
        "print(t2 - t1, t3 - t2)\n".format(os.path.join(ROOT, "tests")))
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("cold_cache_s", "warm_cache_s"):
            r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               env=env, cwd=ROOT, timeout=600)
            if r.returncode != 0:
                return {"error": r.stderr[-500:]}
            first, second = map(float, r.stdout.split())
            out[label] = first
            out["steady_call_s"] = second
    return out


# Times run_kernel(arrays, params, seed, 0, n) -- a signature every revision shares -- in a
# separate process on a checkout of another revision: its own package, its own compiled
# kernels, the same instance and plan (x, u handed over in an .npz file).
_TIMER = r"""
import json, sys, time
import numpy as np
root, npz, days, n, repeats, threads, variants = sys.argv[1:8]
sys.path.insert(0, root)
import numba
from optimiser.generate import generate_instance
from optimiser.instance import Instance
from optimiser.scenarios.arrays import prepare
from optimiser.scenarios.evaluate import run_kernel
from optimiser.scenarios.params import ScenarioParams
assert sys.modules["optimiser.scenarios.evaluate"].__file__.startswith(root)
meta, tables = generate_instance(8, 16, 3, int(days), seed=1)
inst = Instance.from_tables(meta, tables)
plan = np.load(npz)
a = prepare(inst, plan["x"], plan["u"])
out = []
for name, kw in json.loads(variants).items():
    p = ScenarioParams(**kw)
    run_kernel(a, p, int(sys.argv[8]), 0, 64)  # compile or load the cache, untimed
    for th in range(1, int(threads) + 1):
        numba.set_num_threads(th)
        best = float("inf")
        for _ in range(int(repeats)):
            t0 = time.perf_counter()
            k = run_kernel(a, p, int(sys.argv[8]), 0, int(n))
            best = min(best, time.perf_counter() - t0)
        out.append(dict(variant=name, threads=th, seconds=best,
                        checksum=float(np.nansum(k))))
print(json.dumps(out))
"""


def _checkout(rev: str) -> str:
    """A checkout of git revision `rev` (its optimiser/ package), kept in the temp directory
    by commit so that its numba cache survives between runs."""
    sha = subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.strip()
    path = os.path.join(tempfile.gettempdir(), f"optimiser-bench-{sha[:12]}")
    if not os.path.isdir(os.path.join(path, "optimiser")):
        tmp = tempfile.mkdtemp(dir=tempfile.gettempdir())
        archive = subprocess.run(["git", "archive", sha, "optimiser"], cwd=ROOT,
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        try:
            os.rename(tmp, path)
        except OSError:  # another run got there first
            pass
    return path


def baseline_rows(rev: str, inst_days: int, plan, variants: dict, n: int, repeats: int,
                  threads: int) -> list[dict]:
    """Kernel-only timings of revision `rev` on the same instance and plan (subprocess)."""
    root = _checkout(rev)
    with tempfile.TemporaryDirectory() as d:
        npz = os.path.join(d, "plan.npz")
        np.savez(npz, x=plan.x, u=plan.u)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NUMBA_CACHE_DIR")}
        r = subprocess.run([sys.executable, "-c", _TIMER, root, npz, str(inst_days), str(n),
                            str(repeats), str(threads), json.dumps(variants), str(SEED)],
                           capture_output=True, text=True, env=env, cwd=d, timeout=3600)
    if r.returncode != 0:
        raise RuntimeError(f"baseline {rev}: {r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def run(quick: bool = False, baseline: str | None = None) -> dict:
    import numba
    from numpy_replay import replay_numpy

    from optimiser.scenarios import ScenarioParams, evaluate_chunk, prepare
    from optimiser.scenarios.evaluate import run_kernel

    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from scenario_reference import replay as py_replay

    compile_info = _compile_times()
    inst, plan = _instance(quick)
    a = prepare(inst, plan.x, plan.u)
    cells = a.cells  # per scenario
    sizes = dict(pairs=a.n_pairs, lanes=a.n_lanes, days=a.T,
                 dispatches=int(len(a.sup_q) + len(a.node_q)), cells_per_scenario=cells)
    n_numba = 2000 if quick else 20000
    n_numpy = 200 if quick else 2000
    n_py = 1
    repeats = 2 if quick else 3
    variants = {"defaults": ScenarioParams(), "all noise": ScenarioParams(**NOISE)}
    max_threads = min(2, numba.config.NUMBA_NUM_THREADS)
    rows = []

    def add(variant, engine, threads, n, secs, note=""):
        rows.append(dict(variant=variant, engine=engine, threads=threads, scenarios=n,
                         seconds=secs, cells_per_s=cells * n / secs, note=note))

    old = numba.get_num_threads()
    try:
        # warm up every specialisation once (compile/cache load is reported separately)
        for p in variants.values():
            evaluate_chunk(a, p, SEED, 0, 2)
            evaluate_chunk(a, p, SEED, 0, 2, shortcut=False)
            run_kernel(a, p, SEED, 0, 2)
        for name, p in variants.items():
            for th in range(1, max_threads + 1):
                numba.set_num_threads(th)
                if p.deterministic:
                    s = _best(lambda p=p: evaluate_chunk(a, p, SEED, 0, n_numba), repeats)
                    add(name, "numba evaluate_chunk", th, n_numba, s,
                        "deterministic: replayed once, repeated")
                s = _best(lambda p=p: evaluate_chunk(a, p, SEED, 0, n_numba, shortcut=False),
                          repeats)
                add(name, "numba evaluate_chunk", th, n_numba, s,
                    "every scenario replayed, fan histograms")
                s = _best(lambda p=p: run_kernel(a, p, SEED, 0, n_numba), repeats)
                add(name, "numba kernel only", th, n_numba, s, "KPIs, no fan")
            numba.set_num_threads(old)
            s = _best(lambda p=p: replay_numpy(a, p, SEED, 0, n_numpy), 1)
            add(name, "numpy (vectorised over scenarios)", 1, n_numpy, s, "KPIs, no fan")
            t0 = time.perf_counter()
            for j in range(n_py):
                py_replay(inst, plan.x, plan.u, p, SEED, j)
            add(name, "plain Python (reference)", 1, n_py, time.perf_counter() - t0,
                "KPIs and stock paths")
        # agreement of the peers (same draws; sums in another order)
        for p in variants.values():
            kn = replay_numpy(a, p, SEED, 0, 20)
            kk = run_kernel(a, p, SEED, 0, 20)
            if not np.allclose(kn, kk, rtol=1e-9, atol=1e-6, equal_nan=True):
                raise AssertionError("numpy and numba replays disagree")
        if baseline:
            kw = {"defaults": {}, "all noise": NOISE}
            mine = {}
            for name, p in variants.items():
                k = run_kernel(a, p, SEED, 0, n_numba)
                mine[name] = float(np.nansum(k))
            for b in baseline_rows(baseline, a.T, plan, kw, n_numba, repeats, max_threads):
                same = "same KPIs" if b["checksum"] == mine[b["variant"]] else "KPIs differ"
                add(b["variant"], f"numba kernel only @{baseline}", b["threads"], n_numba,
                    b["seconds"], f"revision {baseline} in its own process, same plan; {same}")
    finally:
        numba.set_num_threads(old)
    numpy_rate = {r["variant"]: r["cells_per_s"] for r in rows if r["engine"].startswith("numpy")}
    for r in rows:
        r["vs_numpy"] = r["cells_per_s"] / numpy_rate[r["variant"]]
        r["vs_bandwidth_bound"] = r["cells_per_s"] / BANDWIDTH_BOUND
    return {"instance": inst.name, "sizes": sizes, "seed": SEED, "noise": NOISE,
            "compile": compile_info, "cpu_count": os.cpu_count(),
            "numba_threads_available": numba.config.NUMBA_NUM_THREADS,
            "threading_layer": numba.threading_layer(), "baseline": baseline, "rows": rows}


def markdown(res: dict) -> str:
    s = res["sizes"]
    out = [f"Instance `{res['instance']}`: {s['pairs']} pairs + {s['lanes']} lanes, "
           f"{s['days']} days ({s['cells_per_scenario']:,} cells per scenario, "
           f"{s['dispatches']:,} planned dispatches).", "",
           "| variant | engine | threads | scenarios | seconds | M cell-updates/s | vs numpy "
           "| vs 4.3 G bound | note |",
           "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in res["rows"]:
        out.append(f"| {r['variant']} | {r['engine']} | {r['threads']} | {r['scenarios']:,} | "
                   f"{r['seconds']:.3f} | {r['cells_per_s'] / 1e6:,.1f} | {r['vs_numpy']:,.1f}x | "
                   f"{r['vs_bandwidth_bound']:.1%} | {r['note']} |")
    c = res["compile"]
    if "error" in c:
        out.append(f"\nCompile time: not measured ({c['error']})")
    else:
        out.append(f"\nFirst call (compile, empty numba cache): {c['cold_cache_s']:.1f} s; "
                   f"first call with the cache warm: {c['warm_cache_s']:.2f} s; "
                   f"a later call: {c['steady_call_s'] * 1e3:.2f} ms.")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--baseline", metavar="REV", help="also time the kernel of git revision REV")
    args = ap.parse_args(argv)
    res = run(args.quick, args.baseline)
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
