"""LEMON's network simplex alone on the networks `model/network.py` builds, variant by variant:

    python benchmarks/bench_lemon.py capture INSTANCE_DIR OUT_DIR
    python benchmarks/bench_lemon.py time OUT_DIR/K01.npz --order chain --pivot block_search
    python benchmarks/bench_lemon.py sweep OUT_DIR --repeat 2

`capture` writes each commodity block's network as LEMON receives it (negative-cost arcs
reversed, model/network.py `_lemon_arrays`) to OUT_DIR/Kxx.npz, with the layout (days,
pairs, supplier pairs, node groups) needed to renumber its nodes. `time` solves one
network once in this process and prints one JSON line: wall and CPU seconds of
`Graph.solve()` alone, the optimal cost (every variant must reach the same), the load
average. `sweep` runs `time` for every variant, each in a fresh process (no cache or
allocator state carried over), interleaved `--repeat` times, and prints a table.

Variants (the arc order LEMON scans follows the node numbering: pylmcf takes arcs sorted
by (tail, head)):
* --order chain     the numbering `build_network` uses: each pair's days consecutive
                    (N(i,0..T-1)), then the supplier pairs' (P(p,0..T-1)), A, SRC, SINK;
* --order day       day-major: all nodes of day 0, then day 1, ...;
* --order dayrev    chain-major with the days of each chain reversed;
* --order reverse   the whole numbering reversed;
* --order random    a random permutation (seed 0);
* --pivot           LEMON's pivot rule (block_search, candidate_list, altering_list, ...);
* --no-zero         arcs of capacity 0 left out (they carry nothing).

Other min-cost-flow solvers on the same networks (issue 13's survey), each in a fresh
process with a time cap, the optimal cost compared with LEMON's:

    python benchmarks/bench_lemon.py peers OUT_DIR --solvers lemon,mcfsimplex --cap 600
    python benchmarks/bench_lemon.py peer OUT_DIR/K01.npz capacity_scaling

* lemon             pylmcf.Graph (LEMON's network simplex, block search): the engine's;
* lemon_huge        the same, its arrays backed by 2 MiB pages (MADV_COLLAPSE after the
                    graph is built; Linux >= 6.1);
* capacity_scaling, cost_scaling, cycle_canceling: LEMON's other algorithms (pylmcf_cpp);
* lct               pylmcf's link-cut-tree network simplex (refuses costs above ~46 here);
* ortools           OR-Tools' SimpleMinCostFlow (cost scaling);
* mcfsimplex        Frangioni and Bertolini's MCFSimplex (primal, candidate list) through
                    the `pyMCFSimplex` package (an sdist compiled at install; not a
                    dependency: `pip install --target DIR pyMCFSimplex`, then --site DIR).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ORDERS = ("chain", "day", "dayrev", "reverse", "random")
PIVOTS = ("block_search", "candidate_list", "altering_list")


def capture(instance_dir: str, out: str) -> None:
    from optimiser.instance import load_instance
    from optimiser.model.build import build_lp
    from optimiser.model.decompose import split_by_commodity
    from optimiser.model.network import _lemon_arrays, build_network

    Path(out).mkdir(parents=True, exist_ok=True)
    for b in split_by_commodity(load_instance(instance_dir)):
        net, _ = build_network(b.instance, build_lp(b.instance))
        t, h, c, k, s = _lemon_arrays(net)
        layout = np.array([b.instance.horizon, b.instance.n_pairs, b.instance.n_supplier_pairs,
                           net.nodes["nN"], net.nodes["A0"], net.n_nodes])
        np.savez(Path(out) / f"K{b.commodity:02d}.npz", t=t, h=h, c=c, k=k, s=s, layout=layout)
        print(f"K{b.commodity:02d}: {net.n_nodes:,} nodes, {net.n_arcs:,} arcs", file=sys.stderr)


def renumber(order: str, layout: np.ndarray) -> np.ndarray:
    """new[v]: the node number of old node v under `order`."""
    T, _, _, _, A0, n = (int(x) for x in layout)
    old = np.arange(n)
    if order == "chain":
        return old
    if order == "reverse":
        return n - 1 - old
    if order == "random":
        return np.random.default_rng(0).permutation(n)
    chain = np.where(old < A0, old // T, 10**9 + old)  # P chains follow N chains (nN % T == 0)
    day = np.where(old < A0, old % T, 0)
    if order == "day":
        key = np.where(old < A0, day * A0 + chain, T * A0 + old)
    elif order == "dayrev":
        key = np.where(old < A0, chain * T + (T - 1 - day), old * T)
    else:
        raise ValueError(order)
    new = np.empty(n, dtype=np.int64)
    new[np.argsort(key, kind="stable")] = old
    return new


def time_one(path: str, order: str, pivot: str, no_zero: bool) -> dict:
    import pylmcf

    d = np.load(path)
    t, h, c, k, s, layout = (d[x] for x in ("t", "h", "c", "k", "s", "layout"))
    new = renumber(order, layout)
    keep = c > 0 if no_zero else np.ones(len(c), dtype=bool)
    t, h, c, k = new[t[keep]], new[h[keep]], c[keep], k[keep]
    arcs = np.lexsort((h, t))
    g = pylmcf.Graph(int(layout[-1]), t[arcs], h[arcs])
    supply = np.empty_like(s)
    supply[new] = s
    g.set_node_supply(supply)
    g.set_edge_capacities(np.ascontiguousarray(c[arcs]))
    g.set_edge_costs(np.ascontiguousarray(k[arcs]))
    g.set_pivot_rule(pivot)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    w = time.perf_counter()
    g.solve()
    w = time.perf_counter() - w
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return {"network": Path(path).stem, "order": order, "pivot": pivot, "no_zero": no_zero,
            "arcs": int(len(t)), "wall": round(w, 3),
            "cpu": round(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime, 3),
            "cost": int(g.total_cost()), "load": round(os.getloadavg()[0], 2)}


def sweep(out: str, repeat: int, orders, pivots, no_zero) -> int:
    rows = []
    nets = sorted(Path(out).glob("K*.npz"))
    variants = [(o, p, z) for o in orders for p in pivots for z in no_zero]
    for _ in range(repeat):
        for net in nets:
            for o, p, z in variants:
                cmd = [sys.executable, __file__, "time", str(net), "--order", o, "--pivot", p]
                r = subprocess.run(cmd + (["--no-zero"] if z else []), capture_output=True,
                                   text=True, check=True)
                rows.append(json.loads(r.stdout))
                print(r.stdout.strip(), file=sys.stderr, flush=True)
    costs = {}
    for r in rows:
        costs.setdefault(r["network"], set()).add(r["cost"])
    print("| network | order | pivot | zero-capacity arcs | arcs | CPU s (each run) | wall s | load |")
    print("|---|---|---|---|---:|---|---|---|")
    for net in nets:
        for o, p, z in variants:
            rs = [r for r in rows if (r["network"], r["order"], r["pivot"], r["no_zero"])
                  == (net.stem, o, p, z)]
            cells = [" / ".join(f"{r[key]:.2f}" for r in rs) for key in ("cpu", "wall", "load")]
            print(f"| {net.stem} | {o} | {p} | {'left out' if z else 'kept'} | {rs[0]['arcs']:,} | "
                  + " | ".join(cells) + " |")
    same = all(len(v) == 1 for v in costs.values())
    print(f"\nsame optimal cost in every variant: {same}")
    return 0 if same else 3


PEERS = ("lemon", "lemon_huge", "capacity_scaling", "cost_scaling", "cycle_canceling", "lct",
         "ortools", "mcfsimplex")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _collapse_new_memory(before: dict) -> int:
    """Back the process's anonymous memory created since `before` (the pylmcf graph's
    arrays) with 2 MiB pages: madvise MADV_HUGEPAGE, then MADV_COLLAPSE. Bytes collapsed."""
    import ctypes

    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    huge = 1 << 21
    done = 0
    for a, b in _anon_maps().items():
        if before.get(a) == b:
            continue
        start = (max(a, before.get(a, a)) + huge - 1) & ~(huge - 1)
        length = (b - start) & ~(huge - 1)
        if length > 0 and libc.madvise(start, length, 14) == 0 \
                and libc.madvise(start, length, 25) == 0:
            done += length
    return done


def _anon_maps() -> dict:
    out = {}
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()
            if p[1].startswith("rw") and (len(p) < 6 or p[5] == "[heap]"):
                a, b = (int(x, 16) for x in p[0].split("-"))
                out[a] = b
    return out


def peer_one(path: str, solver: str, no_zero: bool = True) -> dict:
    """One solver on one captured network in this process: wall and CPU seconds of the
    solve call alone, the optimal cost (from the flow, exact integers), the flow checked
    against capacities and supplies where the solver returns one."""
    d = np.load(path)
    t, h, c, k, s = (d[x].astype(np.int64) for x in ("t", "h", "c", "k", "s"))
    n = int(d["layout"][-1])
    if no_zero:
        live = c > 0
        t, h, c, k = t[live], h[live], c[live], k[live]
    m, flow, extra = len(t), None, {}
    if solver in ("lemon", "lemon_huge"):
        import pylmcf

        order = np.lexsort((h, t))
        before = _anon_maps()
        g = pylmcf.Graph(n, t[order], h[order])
        g.set_node_supply(s)
        g.set_edge_capacities(np.ascontiguousarray(c[order]))
        g.set_edge_costs(np.ascontiguousarray(k[order]))
        if solver == "lemon_huge":
            extra["huge_bytes"] = _collapse_new_memory(before)
        c0, w0 = _cpu(), time.perf_counter()
        g.solve()
        wall, cpu = time.perf_counter() - w0, _cpu() - c0
        flow = np.empty(m, dtype=np.int64)
        flow[order] = g.result()
    elif solver in ("capacity_scaling", "cost_scaling", "cycle_canceling", "lct"):
        from pylmcf import pylmcf_cpp

        fn = getattr(pylmcf_cpp, "lmcf_" + solver)
        c0, w0 = _cpu(), time.perf_counter()
        r = fn(s, t, h, c, k)
        wall, cpu = time.perf_counter() - w0, _cpu() - c0
        flow = np.asarray(r[0] if isinstance(r, tuple) else r, dtype=np.int64)
    elif solver == "ortools":
        from ortools.graph.python import min_cost_flow

        f = min_cost_flow.SimpleMinCostFlow()
        f.add_arcs_with_capacity_and_unit_cost(t, h, c, k)
        f.set_nodes_supplies(np.arange(n), s)
        c0, w0 = _cpu(), time.perf_counter()
        f.solve()
        wall, cpu = time.perf_counter() - w0, _cpu() - c0
        flow = np.asarray(f.flows(np.arange(m)), dtype=np.int64)
    elif solver == "mcfsimplex":
        import pyMCFSimplex as M

        mcf = M.MCFSimplex()
        U, C, D = M.new_darray(m), M.new_darray(m), M.new_darray(n)
        SN, EN = M.new_uiarray(m), M.new_uiarray(m)
        for i, (a, b, u, cc) in enumerate(zip(t.tolist(), h.tolist(), c.tolist(), k.tolist())):
            M.darray_set(U, i, float(u))
            M.darray_set(C, i, float(cc))
            M.uiarray_set(SN, i, a + 1)  # MCFClass numbers nodes from 1
            M.uiarray_set(EN, i, b + 1)
        for i, v in enumerate(s.tolist()):
            M.darray_set(D, i, float(-v))  # deficits: negative at sources
        mcf.LoadNet(n, m, n, m, U, C, D, SN, EN)
        c0, w0 = _cpu(), time.perf_counter()
        mcf.SolveMCF()
        wall, cpu = time.perf_counter() - w0, _cpu() - c0
        X = M.new_darray(m)
        mcf.MCFGetX(X)
        x = np.array([M.darray_get(X, i) for i in range(m)])
        extra["integral"] = bool(np.all(x == np.round(x)))
        flow = np.round(x).astype(np.int64)
    else:
        raise ValueError(f"unknown solver {solver!r}; one of {PEERS}")
    bal = np.bincount(t, flow, minlength=n) - np.bincount(h, flow, minlength=n)
    ok = bool(np.all(flow >= 0) and np.all(flow <= c) and np.array_equal(bal.astype(np.int64), s))
    return {"network": Path(path).stem, "solver": solver, "arcs": m, "wall": round(wall, 3),
            "cpu": round(cpu, 3), "cost": int(np.dot(flow.astype(object), k.astype(object))),
            "feasible": ok, "load": round(os.getloadavg()[0], 2), **extra}


def peers(out: str, solvers, cap: float, site: str | None) -> int:
    rows = []
    env = dict(os.environ)
    if site:
        env["PYTHONPATH"] = site + os.pathsep + env.get("PYTHONPATH", "")
    for net in sorted(Path(out).glob("K*.npz")):
        for solver in solvers:
            cmd = [sys.executable, __file__, "peer", str(net), solver]
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=cap, env=env)
                row = (json.loads(r.stdout) if r.returncode == 0 else
                       {"network": net.stem, "solver": solver,
                        "error": (r.stderr.strip().splitlines() or ["?"])[-1][:120]})
            except subprocess.TimeoutExpired:
                row = {"network": net.stem, "solver": solver, "error": f"> {cap:g} s (stopped)"}
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    ref = {r["network"]: r["cost"] for r in rows if r["solver"] == "lemon" and "cost" in r}
    print("| network | solver | CPU s | wall s | same cost as LEMON | feasible flow | load |")
    print("|---|---|---:|---:|---|---|---:|")
    for r in rows:
        if "error" in r:
            print(f"| {r['network']} | {r['solver']} | {r['error']} | | | | |")
            continue
        same = ref.get(r["network"]) == r["cost"] if r["network"] in ref else "n/a"
        print(f"| {r['network']} | {r['solver']} | {r['cpu']:.2f} | {r['wall']:.2f} | {same} | "
              f"{r['feasible']} | {r['load']} |")
    return 0 if all(r.get("cost") == ref.get(r["network"]) for r in rows if "cost" in r) else 3


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("capture")
    c.add_argument("instance")
    c.add_argument("out")
    t = sub.add_parser("time")
    t.add_argument("network")
    t.add_argument("--order", choices=ORDERS, default="chain")
    t.add_argument("--pivot", default="block_search")
    t.add_argument("--no-zero", action="store_true")
    s = sub.add_parser("sweep")
    s.add_argument("out")
    s.add_argument("--repeat", type=int, default=1)
    s.add_argument("--orders", default="chain")
    s.add_argument("--pivots", default=",".join(PIVOTS))
    s.add_argument("--no-zero", default="no", choices=("no", "yes", "both"))
    q = sub.add_parser("peers")
    q.add_argument("out")
    q.add_argument("--solvers", default="lemon,lemon_huge,capacity_scaling,ortools,mcfsimplex")
    q.add_argument("--cap", type=float, default=600.0, help="seconds per solve (then stopped)")
    q.add_argument("--site", help="a directory of extra packages (e.g. pyMCFSimplex)")
    o = sub.add_parser("peer")
    o.add_argument("network")
    o.add_argument("solver", choices=PEERS)
    o.add_argument("--keep-zero", action="store_true")
    a = ap.parse_args(argv)
    if a.cmd == "peers":
        return peers(a.out, a.solvers.split(","), a.cap, a.site)
    if a.cmd == "peer":
        print(json.dumps(peer_one(a.network, a.solver, not a.keep_zero)))
        return 0
    if a.cmd == "capture":
        capture(a.instance, a.out)
        return 0
    if a.cmd == "time":
        print(json.dumps(time_one(a.network, a.order, a.pivot, a.no_zero)))
        return 0
    nz = {"no": (False,), "yes": (True,), "both": (False, True)}[a.no_zero]
    return sweep(a.out, a.repeat, a.orders.split(","), a.pivots.split(","), nz)


if __name__ == "__main__":
    sys.exit(main())
