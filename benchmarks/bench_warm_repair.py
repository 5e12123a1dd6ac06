"""Warm re-solves of a network after the changes the loops make: LEMON's dual-ratio repair
of its last spanning tree against a warm repair by successive shortest paths, and a fresh
LEMON solve, on the same networks.

    python benchmarks/bench_warm_repair.py --tier 100k-few [--out results/bench-warm-repair.md]

Per commodity block of the tier and per change of `bench_speed.session_changes` (demand,
floors, hard floors, initial stock, pipeline, capacities), the block's network (the one a
Session keeps: `model/network.py`, every arc, the session's scales) is solved for the base
data, then for the changed data three ways, each timed alone (CPU seconds of this process):

* LEMON warm: the base graph re-solved from its last tree with the new supplies and
  capacities (`solve_lemon(net, keep)`, dual-ratio repair: what a Session does);
* SSP repair: the base optimum's flow and potentials repaired for the new supplies and
  capacities by successive shortest paths (the primal-dual method, the kernel below,
  Numba): clip to complementary slackness, then send the excess to the deficits along
  zero-reduced-cost residual paths, and when none is left raise the potentials by a
  multi-source Dijkstra's distances (Ahuja, Magnanti and Orlin, *Network Flows*, ch. 9);
* LEMON fresh: a new graph of the changed network.

Every answer's cost is compared with the fresh one's (exact integers), and the SSP's
potentials are checked to certify its flow (no residual arc of negative reduced cost).
The costs do not change in any of these changes, so the base potentials stay dual
feasible: the case successive shortest paths is made for. It was measured as a candidate
for the Session's warm path (issue 13, goal 4) and not taken: see docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from optimiser._numba import jit  # noqa: E402

#: ssp_repair outcomes
REPAIRED, INFEASIBLE, GAVE_UP, NOT_OPTIMAL = 0, 1, 2, 3
#: the default work bound, in arc visits, as a multiple of the network's arcs
MAX_SCANS_PER_ARC = 40
_INF = np.int64(2**62)


def adjacency(n_nodes: int, tails: np.ndarray, heads: np.ndarray):
    """Out-arcs and in-arcs of every node, CSR (ptr, arcs); built once per network."""
    out_arc = np.argsort(tails, kind="stable").astype(np.int64)
    in_arc = np.argsort(heads, kind="stable").astype(np.int64)
    out_ptr = np.zeros(n_nodes + 1, np.int64)
    in_ptr = np.zeros(n_nodes + 1, np.int64)
    np.cumsum(np.bincount(tails, minlength=n_nodes), out=out_ptr[1:])
    np.cumsum(np.bincount(heads, minlength=n_nodes), out=in_ptr[1:])
    return out_ptr, out_arc, in_ptr, in_arc


def ssp_repair(tails, heads, costs, caps, supply, flow, pot, adj=None,
               max_scans: int | None = None):
    """(status, flow, potentials, stats): the last optimal (flow, pot) repaired for new
    `caps` and `supply` (same arcs, same costs). Potentials in LEMON's convention: the
    reduced cost of arc u->v is cost + pot[u] - pot[v]. status REPAIRED, INFEASIBLE (no
    flow meets the new supplies), GAVE_UP (more than max_scans arc visits) or NOT_OPTIMAL
    (the given pair was not optimal: a residual arc of negative reduced cost)."""
    n = len(supply)
    if adj is None:
        adj = adjacency(n, tails, heads)
    if max_scans is None:
        max_scans = MAX_SCANS_PER_ARC * max(len(tails), 1)
    f = np.ascontiguousarray(flow, dtype=np.int64).copy()
    p = np.ascontiguousarray(pot, dtype=np.int64).copy()
    counts = np.zeros(4, np.int64)
    status = _repair(np.ascontiguousarray(tails, dtype=np.int64),
                     np.ascontiguousarray(heads, dtype=np.int64),
                     np.ascontiguousarray(costs, dtype=np.int64),
                     np.ascontiguousarray(caps, dtype=np.int64),
                     np.ascontiguousarray(supply, dtype=np.int64), f, p, *adj,
                     np.int64(max_scans), counts)
    stats = {"augmentations": int(counts[0]), "dijkstras": int(counts[1]),
             "arc_scans": int(counts[2]), "excess_moved": int(counts[3])}
    return int(status), f, p, stats


@jit
def _reach(y, nd, dist, touched, n_t, heap_d, heap_x, size):
    """Dijkstra: node y reached at distance nd (< its last): recorded (touched, for the
    reset) and pushed on the binary heap (heap_d, heap_x) of `size` items. (n_t, size)"""
    if dist[y] == _INF:
        touched[n_t] = y
        n_t += 1
    dist[y] = nd
    i = size  # sift up
    while i > 0:
        q = (i - 1) // 2
        if heap_d[q] <= nd:
            break
        heap_d[i], heap_x[i] = heap_d[q], heap_x[q]
        i = q
    heap_d[i], heap_x[i] = nd, y
    return n_t, size + 1


@jit
def _repair(tails, heads, costs, caps, supply, flow, pi, out_ptr, out_arc, in_ptr, in_arc,
            max_scans, counts):
    n = len(supply)
    m = len(tails)
    for a in range(m):  # 1. complementary slackness under the new capacities
        rc = costs[a] + pi[tails[a]] - pi[heads[a]]
        if rc < 0 or flow[a] > caps[a]:
            flow[a] = caps[a]
        if rc > 0 or flow[a] < 0:
            flow[a] = 0
    e = supply.copy()  # 2. the excess left
    for a in range(m):
        e[tails[a]] -= flow[a]
        e[heads[a]] += flow[a]
    moved = np.int64(0)
    for x in range(n):
        if e[x] > 0:
            moved += e[x]
    counts[3] = moved

    stamp = np.zeros(n, np.int64)
    dead = np.zeros(n, np.int64)
    st_node = np.empty(n + 1, np.int64)
    st_pos = np.empty(n + 1, np.int64)
    st_arc = np.empty(n + 1, np.int64)  # arc into the stack's node; >= 0 forward, ~a backward
    visited = np.empty(n, np.int64)
    dist = np.full(n, _INF, np.int64)
    settled = np.zeros(n, np.int64)
    touched = np.empty(n, np.int64)
    heap_d = np.empty(2 * m + n + 1, np.int64)
    heap_x = np.empty(2 * m + n + 1, np.int64)
    cur = np.int64(0)
    phase = np.int64(0)
    scans = np.int64(0)
    while True:
        phase += 1
        left = False
        for s in range(n):  # 3. zero-cost paths from every excess node
            while e[s] > 0 and dead[s] != phase:
                cur += 1
                top = 0
                st_node[0] = s
                st_pos[0] = 0
                stamp[s] = cur
                n_vis = 1
                visited[0] = s
                target = -1
                while top >= 0:
                    x = st_node[top]
                    pos = st_pos[top]
                    d_out = out_ptr[x + 1] - out_ptr[x]
                    d_all = d_out + in_ptr[x + 1] - in_ptr[x]
                    nxt = -1
                    via = 0
                    while pos < d_all:
                        if pos < d_out:
                            a = out_arc[out_ptr[x] + pos]
                            y = heads[a]
                            ok = flow[a] < caps[a] and costs[a] + pi[x] - pi[y] == 0
                            via = a
                        else:
                            a = in_arc[in_ptr[x] + pos - d_out]
                            y = tails[a]
                            ok = flow[a] > 0 and costs[a] + pi[y] - pi[x] == 0
                            via = ~a
                        pos += 1
                        if ok and stamp[y] != cur and dead[y] != phase:
                            nxt = y
                            break
                    scans += pos - st_pos[top]
                    st_pos[top] = pos
                    if nxt < 0:
                        top -= 1
                        continue
                    top += 1
                    st_node[top] = nxt
                    st_pos[top] = 0
                    st_arc[top] = via
                    stamp[nxt] = cur
                    visited[n_vis] = nxt
                    n_vis += 1
                    if e[nxt] < 0:
                        target = nxt
                        break
                if scans > max_scans:
                    counts[2] = scans
                    return 2
                if target < 0:  # nothing reachable from s leads to a deficit this round
                    for k in range(n_vis):
                        dead[visited[k]] = phase
                    break
                amt = min(e[s], -e[target])
                for k in range(1, top + 1):
                    a = st_arc[k]
                    amt = min(amt, caps[a] - flow[a]) if a >= 0 else min(amt, flow[~a])
                for k in range(1, top + 1):
                    a = st_arc[k]
                    if a >= 0:
                        flow[a] += amt
                    else:
                        flow[~a] -= amt
                e[s] -= amt
                e[target] += amt
                counts[0] += 1
            if e[s] > 0:
                left = True
        if not left:
            counts[2] = scans
            return 0
        # 4. Dijkstra from every excess node to the nearest deficit node
        counts[1] += 1
        size = 0
        n_t = 0
        for s in range(n):
            if e[s] > 0:
                dist[s] = 0
                touched[n_t] = s
                n_t += 1
                heap_d[size] = 0
                heap_x[size] = s
                size += 1
        D = np.int64(-1)
        n_set = 0
        need = np.int64(0)  # settle deficit nodes until they can take all the excess
        for s in range(n):
            if e[s] > 0:
                need += e[s]
        while size > 0:
            d = heap_d[0]
            x = heap_x[0]
            size -= 1  # pop: the last item sifts down from the root
            if size > 0:
                ld, lx = heap_d[size], heap_x[size]
                i = 0
                while True:
                    c = 2 * i + 1
                    if c >= size:
                        break
                    if c + 1 < size and heap_d[c + 1] < heap_d[c]:
                        c += 1
                    if heap_d[c] >= ld:
                        break
                    heap_d[i], heap_x[i] = heap_d[c], heap_x[c]
                    i = c
                heap_d[i], heap_x[i] = ld, lx
            if d > dist[x] or settled[x] == phase:
                continue
            settled[x] = phase
            visited[n_set] = x
            n_set += 1
            D = d
            if e[x] < 0:
                need += e[x]
                if need <= 0:
                    break
            for k in range(out_ptr[x], out_ptr[x + 1]):  # forward residual arcs
                a = out_arc[k]
                if flow[a] < caps[a]:
                    y = heads[a]
                    nd = d + costs[a] + pi[x] - pi[y]
                    if nd < d:
                        return 3  # a residual arc of negative reduced cost: not optimal
                    if nd < dist[y] and settled[y] != phase:
                        n_t, size = _reach(y, nd, dist, touched, n_t, heap_d, heap_x, size)
            for k in range(in_ptr[x], in_ptr[x + 1]):  # backward residual arcs
                a = in_arc[k]
                if flow[a] > 0:
                    y = tails[a]
                    nd = d - (costs[a] + pi[y] - pi[x])
                    if nd < d:
                        return 3
                    if nd < dist[y] and settled[y] != phase:
                        n_t, size = _reach(y, nd, dist, touched, n_t, heap_d, heap_x, size)
            scans += out_ptr[x + 1] - out_ptr[x] + in_ptr[x + 1] - in_ptr[x]
        reached = False
        for k in range(n_set):
            if e[visited[k]] < 0:
                reached = True
                break
        if not reached:
            counts[2] = scans
            return 1
        for k in range(n_set):
            x = visited[k]
            pi[x] += dist[x] - D
        for k in range(n_t):
            dist[touched[k]] = _INF
        if scans > max_scans:
            counts[2] = scans
            return 2


def certifies(net, flow, pot) -> bool:
    """flow within [0, cap], balanced, and no residual arc of negative reduced cost."""
    rc = net.costs + pot[net.tails] - pot[net.heads]
    bal = (np.bincount(net.tails, weights=flow, minlength=net.n_nodes)
           - np.bincount(net.heads, weights=flow, minlength=net.n_nodes))
    return bool(np.all(flow >= 0) and np.all(flow <= net.caps)
                and np.array_equal(bal.astype(np.int64), net.supply)
                and not np.any((rc < 0) & (flow < net.caps)) and not np.any((rc > 0) & (flow > 0)))


def networks(inst, scales=None):
    from optimiser.model.network import build_network
    from optimiser.model.session_network import _bounded_lp, blocks_of

    out = []
    for k, b in enumerate(blocks_of(inst)):
        lp = _bounded_lp(b.instance, {"unmet_max": None, "stock_min": None})
        net, _ = build_network(b.instance, lp, (1000, None, 0) if scales is None else scales[k])
        out.append(net)
    return out


def cpu(fn, *args, **kw):
    c = time.process_time()
    out = fn(*args, **kw)
    return out, time.process_time() - c


def run(tier: str) -> list[dict]:
    from bench_speed import session_changes

    from optimiser.benchsuite.tiers import TIERS, generate
    from optimiser.instance import Instance
    from optimiser.model.network import network_cost, solve_lemon

    meta, tables = generate(TIERS[tier])
    inst = Instance.from_tables(meta, tables)
    base = networks(inst)
    scales = [(n.Q, n.C, n.big) for n in base]
    base = networks(inst, scales)
    b0 = base[0]
    flow0, pot0 = solve_lemon(b0, keep={"raw_potentials": True})
    ssp_repair(b0.tails, b0.heads, b0.costs, b0.caps, b0.supply, flow0, pot0)  # compile
    rows = []
    for name, ch in session_changes(inst, np.random.default_rng(5)):
        new = networks(dataclasses.replace(inst, **{
            k: np.asarray(v, dtype=getattr(inst, k).dtype) for k, v in ch.items()}), scales)
        for k, (n0, n1) in enumerate(zip(base, new)):
            assert np.array_equal(n0.costs, n1.costs)
            keep = {"raw_potentials": True}
            f0, p0 = solve_lemon(n0, keep=keep)
            (fw, _), t_warm = cpu(solve_lemon, n1, keep=keep)
            adj = adjacency(n1.n_nodes, n1.tails, n1.heads)
            (st, fs, ps, stats), t_ssp = cpu(ssp_repair, n1.tails, n1.heads, n1.costs, n1.caps,
                                             n1.supply, f0, p0, adj=adj, max_scans=2**62)
            (ff, _), t_fresh = cpu(solve_lemon, n1, keep={"raw_potentials": True})
            cost = network_cost(n1, ff)
            rows.append({"change": name, "block": k, "lemon_warm": t_warm, "ssp": t_ssp,
                         "fresh": t_fresh, "warm_same": network_cost(n1, fw) == cost,
                         "ssp_same": st == 0 and network_cost(n1, fs) == cost,
                         "ssp_certified": st == 0 and certifies(n1, fs, ps), **stats})
            print(rows[-1], file=sys.stderr, flush=True)
    return rows


def render(tier: str, rows: list[dict], load: str) -> str:
    lines = [f"# Warm repair of a network: LEMON's dual-ratio repair vs successive shortest paths ({tier})",
             "", f"Command: `python benchmarks/bench_warm_repair.py --tier {tier}`  ",
             f"Load average at start: {load}", "",
             "CPU seconds per commodity block; ratios to a fresh LEMON solve of the changed "
             "network. Same cost: the optimal cost equals the fresh solve's (exact integers); "
             "certified: the SSP flow is balanced, within its bounds, and its potentials leave "
             "no residual arc of negative reduced cost.", "",
             "| change | block | LEMON fresh | LEMON warm | warm / fresh | SSP repair | SSP / fresh "
             "| SSP Dijkstras | SSP augmentations | SSP arc scans | same cost (warm, SSP) | certified |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in rows:
        lines.append(f"| {r['change']} | {r['block']} | {r['fresh']:.3f} | {r['lemon_warm']:.3f} | "
                     f"{r['lemon_warm'] / r['fresh']:.2f} | {r['ssp']:.3f} | "
                     f"{r['ssp'] / r['fresh']:.2f} | {r['dijkstras']:,} | {r['augmentations']:,} | "
                     f"{r['arc_scans']:,} | {r['warm_same']}, {r['ssp_same']} | {r['ssp_certified']} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tier", default="100k-few")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/bench-warm-repair.md"))
    args = ap.parse_args()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = run(args.tier)
    Path(args.out).write_text(render(args.tier, rows, load), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0 if all(r["warm_same"] and r["ssp_same"] and r["ssp_certified"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
