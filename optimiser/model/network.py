"""The LP of one commodity (no budget) as a minimum-cost network flow, and its basis.

Without a budget, every row of the LP (docs/MODEL.md) is a flow-conservation or
capacity constraint on a time-expanded network, so a network simplex finds an
optimal flow many times faster than a general LP solver. The default is LEMON's
network simplex (compiled at setup from the LEMON headers pylmcf ships, arc mixing off:
model/lemon_native.py; through `pylmcf` without that library); OR-Tools' `SimpleMinCostFlow` (cost scaling)
stays selectable (`network_solver="ortools"`) as a peer for the benchmark suite.

The network's answer is never the final word. Its flow is mapped back to an LP
point, and its optimality certificate (the node potentials) to an LP *basis*
(model/basis.py in this module: `lp_basis`): every LP column and row gets a basis
status, so HiGHS starts from an optimal (or, with rounded data, nearly optimal)
vertex and only confirms it — computing the exact vertex and the duals, which
are then KKT-checked like any other.

Nodes: N(i,t) per node-commodity pair and day; P(p,t) per supplier pair and day;
A(p) per supplier pair (the contract); SRC and SINK. Arcs, in the LP's terms:

* lane arcs, in the LP's x order: P(p,t) or N(o,t) -> N(d,t+L), lane capacity, lane cost;
* A(p) -> P(p,t): capacity[p,t], cost unit_price — what is ordered on day t;
* SRC -> A(p): contract_max - contract_min; A(p) is given contract_min as supply
  (a lower bound moved into the supplies);
* stock arcs N(i,t) -> N(i,t+1) (-> SINK after the last day): the end-of-day stock;
  a soft floor f splits it in two: a first slice of f at holding - readiness_penalty
  (the penalty avoided per unit held up to the floor; a constant sum of penalty x f
  is added back), the rest at holding; a hard floor is a lower bound moved into
  the supplies; capacity max_stock;
* SRC -> N(i,t): the unmet consumption, up to demand[i,t], at shortfall_penalty;
* supplies: initial stock on day 0, pipeline, minus demand; SRC -> SINK balances.

Arcs with a negative cost (a first slice whose penalty exceeds the holding cost)
are reversed for LEMON, which needs costs >= 0: the arc is saturated (its
capacity moved into the supplies of its two ends), a reverse arc of the opposite
cost carries what is *not* sent, and cost x capacity is added as a constant.

Quantities and costs are scaled to integers: exactly when the data allow (all
quantities integral at some 10^k, k <= 3; costs at 10^k, k <= 6), else rounded
(the network answer is then near-optimal; its basis is still a good start and
HiGHS finishes on the true data).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..instance import Instance
from .build import LP

_SCALES = (1, 10, 100, 1000)
_COST_SCALES = (1, 10, 100, 1000, 10_000, 100_000, 1_000_000)
_INT_LIMIT = 2**52  # keep scaled values exactly representable and far from int64 overflow
NETWORK_SOLVERS = ("lemon", "ortools")
#: star-shaped networks: a node-day that more than this many lane arcs enter. A network
#: simplex then pivots through a tree whose subtrees are huge (measured: 2,000 suppliers
#: x 1 node x 3 days 0.09 s, 5,000: 0.5 s, 20,000: 12.7 s, 100,000: > 10 min), while
#: HiGHS's dual simplex solves such an LP in seconds; the LP goes straight to HiGHS.
FAN_IN_LIMIT = 1000
#: when a session re-solves (solve_lemon(..., rebuild=True)), the graph is solved fresh
#: instead of from its last tree when, on a network of at least WARM_MIN_NODES nodes,
#: the arcs whose last flow exceeds their new capacity number more than WARM_MAX_OVER of
#: the nodes, or the flow the last solution leaves unbalanced under the new supplies
#: exceeds WARM_MAX_MOVED of the total supply. Measured on a 100k tier block (network
#: stage, CPU s; fresh 0.45-0.66): demand +5% on 1% / 10% of the cells warm 0.09 /
#: 0.25 (unbalanced 0.02% / 0.2%), floors +10% 0.26 (0.2%), initial stock +5% 0.39
#: (0.2%), pipeline -20% 0.45 (0.3%), floors made hard on 30% of the pairs 0.20 (45 arcs
#: over, 0.3% of the nodes); initial stock raised by the floor on 30% of the pairs 1.12
#: (0.7%), every capacity -10% 4.0 (1,216 arcs over, 9%), every floor made hard with
#: stock 2.2 (154 arcs, 1.1%). Small networks always restart (milliseconds either way).
WARM_MIN_NODES = 5000
WARM_MAX_OVER = 0.005
WARM_MAX_MOVED = 0.005
#: LEMON's wall-time tripwire on a warm repair (give up after this many times the last
#: cold solve): off (0), so that the path a re-solve takes, and with it the optimal
#: vertex among equal ones, never depends on the machine's load
WARM_REPAIR_BUDGET = 0.0
#: LEMON through pylmcf holds the interpreter lock while it solves, so commodity blocks solved
#: in threads would take turns. A fresh solve (no session graph to keep) of a network of
#: at least this many arcs, while other threads of the process run, is done in a forked
#: child that hands back flow and potentials through shared memory: the blocks' network
#: solves then run on all cores (measured on the 100k tier: two blocks of ~57,000 arcs,
#: 0.35 s each). Same LEMON, same data, same answer (tested). Not needed with the compiled
#: library (model/lemon_native.py), whose calls release the lock.
FORK_MIN_ARCS = 20_000
#: a fresh solve leaves out the arcs of capacity 0 (the first stock slice of every
#: pair-day without a soft floor above its lower bound: 78,110 of 597,661 arcs on the 1M
#: tier's second block). They carry nothing, but LEMON prices them and, when one enters
#: on a degenerate cycle, re-hangs a subtree of the tree for nothing; most of LEMON's
#: time on these networks is that re-hanging (updating the potentials of the moved
#: subtree, profiled: ~70%). Measured on that block (CPU s, loaded machine, interleaved):
#: kept 32.2-37.8, left out 28.2-31.3 (not confirmed end to end at lower load:
#: docs/BENCHMARKS.md). A session's graph keeps them (a later capacity may open them, and
#: its tree must stay valid across solves).
LEAVE_OUT_ZERO_ARCS = True


def _scale_for(values: np.ndarray, scales) -> tuple[int, bool]:
    v = values[np.isfinite(values)]
    for k in scales:
        w = v * k
        if np.all(np.abs(w - np.round(w)) <= 1e-9 * np.maximum(1.0, np.abs(w))):
            return k, True
    return scales[-1], False


@dataclass(eq=False)
class Network:
    """The time-expanded network of one LP, in scaled integers, with the arc groups' offsets."""

    n_nodes: int
    tails: np.ndarray  # int64
    heads: np.ndarray
    caps: np.ndarray  # int64 (scaled quantities)
    costs: np.ndarray  # int64 (scaled costs; may be negative)
    supply: np.ndarray  # int64
    Q: int
    C: int
    exact: bool
    lb: np.ndarray  # hard-floor lower bound of each stock arc (scaled, float)
    big: float  # the capacity standing for "unbounded" (scaled)
    cmin: np.ndarray  # contract_min per supplier pair (scaled, float)
    offsets: dict  # group -> first arc: lane, proc, contract, slice1, slice2, unmet, srcsink
    nodes: dict  # nN, nP, A0, SRC, SINK

    @property
    def n_arcs(self) -> int:
        return len(self.tails)


def build_network(inst: Instance, lp: LP,
                  scale: tuple[int, int] | None = None) -> tuple[Network | None, dict]:
    """scale: (quantity, cost[, big]) scales to use instead of choosing them, and the
    capacity that stands for "unbounded" (a session keeps them so LEMON can restart from
    its last tree with unchanged arcs; data then rounded if they need a finer scale)."""
    if inst.budget is not None:
        return None, {"network": "not a network: the budget couples all procurement"}
    T, I, P = inst.horizon, inst.n_pairs, inst.n_supplier_pairs
    v = lp.vars
    # bounds come from the LP (so extra bounds a session puts on it are honoured)
    s_lb, s_ub = v.lb[v.s_start:v.u_start], v.ub[v.s_start:v.u_start]
    u_ub = v.ub[v.u_start:v.r_start]
    soft_floor = np.zeros(I * T)
    soft_floor[v.r_flat] = v.ub[v.r_start:]
    rhs = lp.row_lo[lp.blocks["balance"]]
    quantities = np.concatenate([inst.capacity.ravel(), rhs, s_lb, s_ub, u_ub, soft_floor,
                                 inst.contract_min, inst.contract_max, v.ub[:v.nx]])
    costs = np.concatenate([inst.unit_price, inst.lane_cost, inst.holding_cost,
                            inst.shortfall_penalty, inst.readiness_penalty])
    Q, q_exact = _scale_for(quantities, _SCALES)
    C, c_exact = _scale_for(costs, _COST_SCALES)
    if scale is not None:  # a scale of None: chosen from the data
        if scale[0] is not None:
            q_exact = q_exact and Q <= scale[0] and scale[0] % Q == 0
            Q = scale[0]
        if scale[1] is not None:
            c_exact = c_exact and C <= scale[1] and scale[1] % C == 0
            C = scale[1]

    def qi(a):
        return np.round(np.asarray(a, dtype=np.float64) * Q)

    nN, nP = I * T, P * T
    A0 = nN + nP
    SRC, SINK = A0 + P, A0 + P + 1
    n_nodes = SINK + 1
    supply = np.zeros(n_nodes)
    total = (np.abs(qi(rhs)).sum() + qi(u_ub).sum() + qi(s_lb).sum()
             + np.minimum(qi(inst.contract_max), qi(inst.capacity).sum(axis=1)).sum())
    BIG = float(total + 1)
    if scale is not None and len(scale) > 2 and scale[2] >= BIG:
        BIG = float(scale[2])  # a session keeps "unbounded" the same number between solves
    # cost x flow must stay far inside int64: coarsen the cost scale if needed (then the
    # network answer is near-optimal and HiGHS does a little more work; still exact)
    max_cost = max(1.0, float(np.abs(costs).max(initial=0)))
    while C > 1 and BIG * max_cost * C * 4 > _INT_LIMIT * 1e3:
        C, c_exact = C // 10, False
    if BIG * max_cost * C * 4 > _INT_LIMIT * 1e3:
        return None, {"network": "flows x costs too large for integer arithmetic"}

    def ci(a):
        return np.round(np.asarray(a, dtype=np.float64) * C)

    def cap(a):
        a = qi(a)
        return np.where(np.isfinite(a), np.minimum(a, BIG), BIG)

    tails, heads, caps, cost = [], [], [], []
    offsets: dict[str, int] = {}

    def arcs(name, t_, h_, c_, k_):
        offsets[name] = sum(len(t) for t in tails)
        tails.append(np.asarray(t_, dtype=np.int64))
        heads.append(np.asarray(h_, dtype=np.int64))
        caps.append(np.broadcast_to(np.asarray(c_, dtype=np.float64), np.shape(t_)))
        cost.append(np.broadcast_to(np.asarray(k_, dtype=np.float64), np.shape(t_)))

    # lane arcs first, in the LP's x order, so arc k is x variable k
    lane, day = v.x_lane, v.x_day
    fs = inst.lane_from_supplier[lane]
    org = inst.lane_origin[lane]
    tail = np.where(fs, nN + org * T + day, org * T + day)
    head = inst.lane_dest[lane] * T + day + inst.lane_lead[lane]
    arcs("lane", tail, head, cap(v.ub[:v.nx]), ci(inst.lane_cost[lane]))
    # procurement: A(p) -> P(p,t)
    p_idx = np.repeat(np.arange(P), T)
    t_idx = np.tile(np.arange(T), P)
    arcs("proc", A0 + p_idx, nN + p_idx * T + t_idx, cap(inst.capacity.ravel()),
         ci(inst.unit_price[p_idx]))
    # contracts: SRC -> A(p), contract_min as supply at A(p)
    cmin = qi(inst.contract_min)
    # no more than the horizon's capacity can leave A(p): a tight arc keeps SRC's supply small
    amax = np.minimum(cap(inst.contract_max), qi(inst.capacity).sum(axis=1))
    arcs("contract", np.full(P, SRC), A0 + np.arange(P), np.maximum(amax - cmin, 0.0), np.zeros(P))
    supply[A0:A0 + P] += cmin
    supply[SRC] -= cmin.sum()
    # stock arcs
    i_idx = np.repeat(np.arange(I), T)
    t_all = np.tile(np.arange(T), I)
    flat = i_idx * T + t_all
    nxt = np.where(t_all < T - 1, flat + 1, SINK)
    lb = qi(s_lb)
    mx = cap(s_ub) - lb
    f = np.minimum(np.maximum(qi(soft_floor) - lb, 0.0), mx)  # the floor's part above lb
    hold = ci(inst.holding_cost[i_idx])
    arcs("slice1", flat, nxt, f, hold - ci(inst.readiness_penalty[i_idx]))
    arcs("slice2", flat, nxt, mx - f, hold)
    np.add.at(supply, flat, -lb)
    np.add.at(supply, nxt, lb)
    # unmet consumption
    uf = v.u_flat
    arcs("unmet", np.full(len(uf), SRC), uf, qi(u_ub), ci(inst.shortfall_penalty[uf // T]))
    # supplies: initial stock, pipeline, demand (the balance rows' right-hand sides); SRC
    # feeds unmet and contracts, SINK absorbs
    supply[:nN] += qi(rhs)
    src_out = qi(u_ub).sum() + np.maximum(amax - cmin, 0.0).sum()
    supply[SRC] += src_out
    arcs("srcsink", [SRC], [SINK], src_out, 0.0)
    supply[SINK] -= supply.sum()

    caps_a = np.concatenate(caps)
    info = {"quantity_scale": Q, "cost_scale": C, "exact_scaling": bool(q_exact and c_exact),
            "network_arcs": int(len(caps_a))}
    if caps_a.min(initial=0) < 0 or np.abs(supply).max() > _INT_LIMIT:
        return None, {**info, "network": "negative capacity after moving lower bounds"}
    net = Network(n_nodes=n_nodes, tails=np.concatenate(tails), heads=np.concatenate(heads),
                  caps=caps_a.astype(np.int64), costs=np.concatenate(cost).astype(np.int64),
                  supply=supply.astype(np.int64), Q=Q, C=C, exact=bool(q_exact and c_exact),
                  lb=lb, big=BIG, cmin=cmin, offsets=offsets,
                  nodes={"nN": nN, "nP": nP, "A0": A0, "SRC": SRC, "SINK": SINK})
    return net, info


# solvers -------------------------------------------------------------------
def solve_lemon(net: Network, keep: dict | None = None, rebuild: bool = False,
                max_moved: float | None = None,
                while_waiting=None) -> tuple[np.ndarray, np.ndarray]:
    """LEMON's network simplex: (flow per arc, potentials per node), LEMON's convention
    (reduced cost of u->v is cost + pi[u] - pi[v]). Raises RuntimeError if infeasible.

    keep: a dict that holds the LEMON graph between calls (a session's: _kept_graph): when
    the arcs are the same, only supplies, capacities and costs are set and LEMON restarts
    from its last spanning tree with dual-ratio repair (the default repair restarted cold on
    these networks). keep["warm"] then says whether it stayed warm, from LEMON's own
    counters (a restart that fell back to a cold start is not warm).
    rebuild: solve a fresh graph instead when the restart is predicted to cost more than
    a fresh solve (WARM_MAX_OVER, and max_moved: the share of the supply left to move,
    default WARM_MAX_MOVED; keep["rebuilt"] says so).
    while_waiting: a function of no arguments run in this process while a forked child
    solves (work that does not need the flow, e.g. assembling the LP's matrix); run
    before or after the solve when there is no child."""
    if keep is None:  # nothing to restart from or keep: a fresh graph, forked when it pays
        if _fork_pays(net):
            return _solve_lemon_forked(net, while_waiting)
        out = _solve_lemon_fresh(net)
        if while_waiting is not None:
            while_waiting()
        return out
    if while_waiting is not None:
        while_waiting()
    t, h, c, k, s = _lemon_arrays(net)
    g = None
    if keep.get("graph") is not None and keep["n_nodes"] == net.n_nodes \
            and np.array_equal(keep["tails"], t) and np.array_equal(keep["heads"], h):
        if not rebuild or net.n_nodes < WARM_MIN_NODES or \
                not _repair_is_costly(keep, net, c, s, max_moved):
            g, order = keep["graph"], keep["order"]
        else:
            keep["rebuilt"] = True
    if g is None:
        order = np.lexsort((h, t))  # LEMON's static graph takes arcs sorted by (tail, head)
        g = _kept_graph(net.n_nodes, t[order], h[order])
        keep.update(graph=g, order=order, tails=t, heads=h, n_nodes=net.n_nodes, costs=None)
        fresh = True
    else:
        fresh = False
    before = (g.cold_start_count(), g.policy_cold_count())
    g.set_node_supply(s)
    g.set_edge_capacities(np.ascontiguousarray(c[order]))
    if keep.get("costs") is None or not np.array_equal(keep["costs"], k):
        g.set_edge_costs(np.ascontiguousarray(k[order]))
    try:
        g.solve()
    except RuntimeError:
        keep["graph"] = None  # a failed solve leaves no basis to restart from
        raise
    keep.update(supply=s, caps=c, costs=k, flow=g.result())
    keep["warm"] = (not fresh) and (g.cold_start_count(), g.policy_cold_count()) == before
    keep["fell_back"] = (not fresh) and not keep["warm"]
    flow = np.empty(net.n_arcs, dtype=np.int64)
    flow[order] = g.result()
    pot = np.asarray(g.potentials(), dtype=np.int64) if not keep.get("raw_potentials") \
        else _raw_potentials(g)
    return _unreverse(net, flow), pot


def _kept_graph(n_nodes: int, tails: np.ndarray, heads: np.ndarray):
    """A graph to keep between solves: the compiled library's (lemon_native.KeptGraph: arc
    mixing off, its solves release the interpreter lock) when it is there, else pylmcf's;
    both restart LEMON from the last tree with dual-ratio repair and no wall-time budget
    (WARM_REPAIR_BUDGET), and count warm and cold starts the same way (LEMON's own
    counters)."""
    from . import lemon_native

    if lemon_native.available():
        return lemon_native.KeptGraph(n_nodes, tails, heads, repair="dual_ratio",
                                      budget=WARM_REPAIR_BUDGET)
    import pylmcf

    g = pylmcf.Graph(n_nodes, tails, heads)
    g.set_warm_repair("dual_ratio")
    g.set_warm_repair_budget(WARM_REPAIR_BUDGET)
    return g


def _raw_potentials(g) -> np.ndarray:
    """The final tree's potentials as LEMON holds them (keep["raw_potentials"]: a Session's
    graph). g.potentials() canonicalises them by a Dijkstra over the residual network
    (~8 ms on a 100k-tier block, most of a small warm re-solve's LEMON time); the tree's
    own are just as optimal, and the certificate checks them by KKT either way. Only when
    a node still hangs from LEMON's artificial root (potentials near 2^62) are the
    canonical ones taken."""
    pot = np.asarray(g.raw_potentials(), dtype=np.int64)
    if len(pot) and np.abs(pot).max() > 2**50:
        pot = np.asarray(g.potentials(), dtype=np.int64)
    return pot


def _fork_pays(net: Network) -> bool:
    """Linux only (elsewhere forking a process with threads is unsafe or unavailable), and
    only for pylmcf: the compiled library (model/lemon_native.py) is called through ctypes,
    which releases the interpreter lock, so blocks in threads solve side by side in this
    process (no fork, no copy of the process's pages)."""
    import sys
    import threading

    from . import lemon_native

    return (sys.platform.startswith("linux") and net.n_arcs >= FORK_MIN_ARCS
            and threading.active_count() > 1 and not lemon_native.available())


def _solve_lemon_fresh(net: Network) -> tuple[np.ndarray, np.ndarray]:
    """LEMON on a fresh graph: (flow per arc, potentials per node), as solve_lemon. With
    the compiled library (model/lemon_native.py: arc mixing off, measured 16-20% faster)
    when it is there, else pylmcf; the same optimum either way (tested)."""
    from . import lemon_native

    t, h, c, k, s = _lemon_arrays(net)
    live = np.flatnonzero(c > 0)  # see LEAVE_OUT_ZERO_ARCS
    if not LEAVE_OUT_ZERO_ARCS or len(live) == net.n_arcs:
        live = np.arange(net.n_arcs)
    t, h, c, k = t[live], h[live], c[live], k[live]
    order = np.lexsort((h, t))  # LEMON's static graph takes arcs sorted by (tail, head)
    t, h, c, k = t[order], h[order], c[order], k[order]
    flow = np.zeros(net.n_arcs, dtype=np.int64)  # an arc left out carries nothing
    if lemon_native.available():
        # pylmcf's canonical potentials, as g.potentials() below: the duals and shadow
        # prices a plain solve reports at a degenerate optimum stay the same ones
        f, pot = lemon_native.solve(net.n_nodes, t, h, c, k, s, canonical=True)
    else:
        import pylmcf

        g = pylmcf.Graph(net.n_nodes, t, h)
        g.set_node_supply(s)
        g.set_edge_capacities(np.ascontiguousarray(c))
        g.set_edge_costs(np.ascontiguousarray(k))
        g.solve()
        f, pot = g.result(), np.asarray(g.potentials(), dtype=np.int64)
    flow[live[order]] = f
    return _unreverse(net, flow), pot


def _solve_lemon_forked(net: Network, while_waiting=None) -> tuple[np.ndarray, np.ndarray]:
    """_solve_lemon_fresh in a forked child (see FORK_MIN_ARCS); the waiting thread first
    runs `while_waiting` (if given: work that does not need the flow), then releases the
    interpreter lock. The child writes [status, flow..., potentials...] into an anonymous
    shared mapping and leaves by os._exit (no Python clean-up, no buffers flushed twice).
    An infeasible network is solved again here, so that LEMON's RuntimeError is raised as
    by solve_lemon."""
    import mmap
    import os

    n = 1 + net.n_arcs + net.n_nodes
    buf = mmap.mmap(-1, 8 * n)
    out = np.frombuffer(buf, dtype=np.int64)
    pid = os.fork()
    if pid == 0:  # the child: solve, write, leave
        try:
            flow, pot = _solve_lemon_fresh(net)
            out[1:1 + net.n_arcs] = flow
            out[1 + net.n_arcs:] = pot
            out[0] = 1
        finally:
            os._exit(0)
    try:
        if while_waiting is not None:
            while_waiting()
    finally:
        os.waitpid(pid, 0)
    try:
        if out[0] != 1:  # infeasible (or the child died): here, for LEMON's own error
            return _solve_lemon_fresh(net)
        return out[1:1 + net.n_arcs].copy(), out[1 + net.n_arcs:].copy()
    finally:
        del out
        buf.close()


def _repair_is_costly(keep: dict, net: Network, c: np.ndarray, s: np.ndarray,
                      max_moved: float | None = None) -> bool:
    """The last flow against the new data: arcs above their new capacity (capacities cut,
    floors made hard) and flow left unbalanced (supplies moved) — what a warm restart
    must repair pivot by pivot. Records keep["changed"] for the report."""
    order = keep["order"]
    t, h = keep["tails"][order], keep["heads"][order]
    cap = c[order]
    old = keep["flow"]
    over = int(np.count_nonzero(old > cap))
    f = np.minimum(old, cap).astype(np.float64)
    moved = np.abs(np.bincount(t, weights=f, minlength=net.n_nodes)
                   - np.bincount(h, weights=f, minlength=net.n_nodes) - s).sum()
    moved /= max(1.0, float(np.abs(s).sum()))
    keep["changed"] = (over / net.n_nodes, moved)
    limit = WARM_MAX_MOVED if max_moved is None else max_moved
    return over > WARM_MAX_OVER * net.n_nodes or moved > limit


def _lemon_arrays(net: Network):
    """Arcs with costs >= 0: each negative-cost arc reversed (saturated, the reverse arc
    carries what is not sent)."""
    neg = net.costs < 0
    t = np.where(neg, net.heads, net.tails)
    h = np.where(neg, net.tails, net.heads)
    k = np.abs(net.costs)
    s = net.supply.copy()
    np.add.at(s, net.tails[neg], -net.caps[neg])
    np.add.at(s, net.heads[neg], net.caps[neg])
    return (np.ascontiguousarray(t), np.ascontiguousarray(h), net.caps,
            np.ascontiguousarray(k), s)


def _unreverse(net: Network, flow: np.ndarray) -> np.ndarray:
    neg = net.costs < 0
    return np.where(neg, net.caps - flow, flow)


def solve_ortools(net: Network) -> tuple[np.ndarray, None]:
    """OR-Tools' SimpleMinCostFlow (cost scaling; negative costs allowed): flow, no potentials."""
    from ortools.graph.python import min_cost_flow

    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(
        net.tails.astype(np.int32), net.heads.astype(np.int32), net.caps, net.costs)
    smcf.set_nodes_supplies(np.arange(net.n_nodes, dtype=np.int32), net.supply)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise RuntimeError(status.name)
    flow = np.asarray(smcf.flows(np.arange(net.n_arcs, dtype=np.int64)), dtype=np.int64)
    return flow, None


def solve_network(net: Network, solver: str = "lemon", keep: dict | None = None,
                  rebuild: bool = False, while_waiting=None):
    """while_waiting: see solve_lemon (run after the solve by the other solvers)."""
    if solver not in NETWORK_SOLVERS:
        raise ValueError(f"network solver must be one of {NETWORK_SOLVERS}, not {solver!r}")
    if solver == "lemon":
        return solve_lemon(net, keep, rebuild, while_waiting=while_waiting)
    out = solve_ortools(net)
    if while_waiting is not None:
        while_waiting()
    return out


def engine(solver: str) -> str:
    """What solved (or solves) a network: `solver` as network_start says it, and for LEMON
    whether the compiled library or pylmcf (no library) — fresh solves and kept graphs
    alike."""
    if solver != "lemon":
        return "OR-Tools SimpleMinCostFlow (cost scaling)"
    from . import lemon_native

    return lemon_native.engine()


def network_cost(net: Network, flow: np.ndarray) -> int:
    """sum cost x flow in scaled units (exact integer arithmetic)."""
    return int(np.dot(net.costs.astype(object), flow.astype(object)))


# back to the LP ------------------------------------------------------------
def lp_point(inst: Instance, lp: LP, net: Network, flow: np.ndarray) -> np.ndarray:
    v, o = lp.vars, net.offsets
    I, T = inst.n_pairs, inst.horizon
    f = flow.astype(np.float64) / net.Q
    point = np.zeros(v.n)
    point[:v.nx] = f[:v.nx]
    n_stock = I * T
    s = f[o["slice1"]:o["slice1"] + n_stock] + f[o["slice2"]:o["slice2"] + n_stock] + net.lb / net.Q
    point[v.s_start:v.u_start] = s
    point[v.u_start:v.r_start] = f[o["unmet"]:o["unmet"] + len(v.u_flat)]
    point[v.r_start:] = np.maximum(v.ub[v.r_start:] - s[v.r_flat], 0.0)
    return point


def _prepare(lp: LP):
    """What the LP's later steps need that does not depend on the network's answer, done
    while the network simplex runs in a forked child (off the critical path: on the 1M
    tier the slower block's network alone decides the wall time): the LP's matrix
    assembled (build_lp defers it) and its row index per nonzero (the products A v and
    A^T y of the KKT check and the shadow prices)."""
    def run():
        lp.csr.rows  # noqa: B018 - computed once and kept by the Csr

    return run


@dataclass
class NetworkStart:
    point: np.ndarray
    col_status: np.ndarray | None = None  # int8 HighsBasisStatus codes, or None
    row_status: np.ndarray | None = None
    flow: np.ndarray | None = None
    potentials: np.ndarray | None = None
    duals: np.ndarray | None = None  # KKT-verified row duals (model/certificate.py), or None
    kkt: object = None  # their KKTReport


def network_start(inst: Instance, lp: LP, solver: str = "lemon",
                  keep: dict | None = None, certify: bool = True,
                  rebuild: bool = False) -> tuple[NetworkStart | None, dict]:
    """Solve the network; map its flow to an LP point and its tree to an LP basis.
    keep: see solve_lemon (a session's retained network). certify: with exact scaling,
    first try the network's own optimality certificate (model/certificate.py): when its
    point and duals pass KKT, `start.duals` is set and no basis is built (HiGHS is not
    needed)."""
    import time

    net, info = build_network(inst, lp, None if keep is None else keep.get("scale"))
    if net is None:
        return None, info
    if keep is not None:
        keep["scale"] = (net.Q, net.C, net.big)
    fan_in = int(np.bincount(net.heads[:lp.vars.nx], minlength=net.n_nodes).max(initial=0))
    if fan_in > FAN_IN_LIMIT:
        info["network"] = (f"star-shaped: {fan_in:,} lanes into one node-day (> {FAN_IN_LIMIT:,}); "
                           "solved by dual simplex")
        return None, info
    t = time.perf_counter()
    try:
        flow, pot = solve_network(net, solver, keep, rebuild, while_waiting=_prepare(lp))
    except RuntimeError as e:  # infeasible network: the LP says why
        info.update(network_status=f"{str(e) or 'INFEASIBLE'}", network_solver=solver)
        return None, info
    info.update(network_status="OPTIMAL", network_solver=solver,
                network_solve_seconds=time.perf_counter() - t,
                network_engine=engine(solver))
    if keep is not None and "warm" in keep:
        info["network_warm"] = keep.pop("warm")
        if keep.pop("fell_back", False):
            info["network_cold_fallback"] = ("LEMON's repair of its last tree gave up and it "
                                             "solved cold (its own counters)")
        if keep.pop("rebuilt", False):
            over, moved = keep["changed"]
            info["network_rebuilt"] = (f"restart predicted costly (arcs over their new capacity "
                                       f"{over:.1%} of the nodes, flow to move {moved:.1%} of "
                                       "the supply): solved fresh, not from the last tree")
    start = NetworkStart(point=lp_point(inst, lp, net, flow), flow=flow, potentials=pot)
    if certify:
        from .certificate import certified

        t = time.perf_counter()
        start.duals, start.kkt = certified(lp, net, flow, pot, start.point)
        info["network_certificate_seconds"] = time.perf_counter() - t
        if start.duals is not None:
            info["network_basis"] = "not needed: the network's point and duals pass KKT"
            return start, info
    from .basis import lp_basis

    t = time.perf_counter()
    basis, why = lp_basis(inst, lp, net, flow, pot, start.point)
    info["network_basis_seconds"] = time.perf_counter() - t
    if basis is not None:
        start.col_status, start.row_status = basis
    info["network_basis"] = why or "spanning tree"
    return start, info


def network_point(inst: Instance, lp: LP, solver: str = "lemon") -> tuple[np.ndarray | None, dict]:
    """An optimal (or, with rounded data, near-optimal) point of `lp`, or None."""
    net, info = build_network(inst, lp)
    if net is None:
        return None, info
    try:
        flow, _ = solve_network(net, solver)
    except RuntimeError as e:
        info.update(network_status=str(e) or "INFEASIBLE", network_solver=solver)
        return None, info
    info.update(network_status="OPTIMAL", network_solver=solver)
    return lp_point(inst, lp, net, flow), info
