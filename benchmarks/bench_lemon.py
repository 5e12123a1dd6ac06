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
    a = ap.parse_args(argv)
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
