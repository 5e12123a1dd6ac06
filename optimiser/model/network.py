"""The LP of one commodity (no budget) as a minimum-cost network flow.

Without a budget, every row of SPEC section 3 is a flow-conservation or capacity
constraint on a time-expanded network, so OR-Tools' SimpleMinCostFlow (cost
scaling, integer data) finds an optimal flow several times faster than a general
LP solver. Its point is then handed to HiGHS (setSolution), whose simplex turns it
into an exact optimal vertex with correct duals in a few hundred iterations — the
network solve is a warm start, never the final word, so the plan's accuracy and
its shadow prices are HiGHS's.

Nodes: N(i,t) per node-commodity pair and day; P(p,t) per supplier pair and day;
A(p) per supplier pair (the contract); SRC and SINK. Arcs, in the LP's terms:

* A(p) -> P(p,t): capacity[p,t], cost unit_price — what is ordered on day t;
* SRC -> A(p): contract_max - contract_min; A(p) is given contract_min as supply
  (a lower bound moved into the supplies);
* lane arcs, in the LP's x order: P(p,t) or N(o,t) -> N(d,t+L), lane capacity, unit_cost;
* stock arcs N(i,t) -> N(i,t+1) (-> SINK after the last day): the end-of-day stock;
  a soft floor f splits it in two: a first slice of f at holding - readiness_penalty
  (the penalty avoided per unit held up to the floor; a constant sum of penalty x f
  is added back), the rest at holding; a hard floor is a lower bound moved into
  the supplies; capacity max_stock;
* SRC -> N(i,t): the unmet consumption, up to demand[i,t], at shortfall_penalty;
* supplies: initial stock on day 0, pipeline, minus demand; SRC -> SINK balances.

Quantities and costs are scaled to integers: exactly when the data allow (all
quantities integral at some 10^k, k <= 3; costs at 10^k, k <= 6), else rounded
(then the polish has more to do). If the network solve fails for any reason the
caller solves the LP cold.
"""

from __future__ import annotations

import numpy as np

from ..instance import Instance
from .build import LP

_SCALES = (1, 10, 100, 1000)
_COST_SCALES = (1, 10, 100, 1000, 10_000, 100_000, 1_000_000)
_INT_LIMIT = 2**52  # keep scaled values exactly representable and far from int64 overflow


def _scale_for(values: np.ndarray, scales) -> tuple[int, bool]:
    v = values[np.isfinite(values)]
    for k in scales:
        w = v * k
        if np.all(np.abs(w - np.round(w)) <= 1e-9 * np.maximum(1.0, np.abs(w))):
            return k, True
    return scales[-1], False


def network_point(inst: Instance, lp: LP) -> tuple[np.ndarray | None, dict]:
    """An optimal (or, with rounded data, near-optimal) point of `lp`, or None."""
    from ortools.graph.python import min_cost_flow

    if inst.budget is not None:
        return None, {"network": "not a network: the budget couples all procurement"}
    T, I, P = inst.horizon, inst.n_pairs, inst.n_supplier_pairs
    v = lp.vars
    soft_floor = np.where(inst.readiness_hard[:, None], 0.0, inst.floor)
    hard_floor = np.where(inst.readiness_hard[:, None], inst.floor, 0.0)
    quantities = np.concatenate([inst.capacity.ravel(), inst.demand.ravel(),
                                 inst.pipeline.ravel(), inst.initial_stock, inst.floor.ravel(),
                                 inst.max_stock, inst.contract_min, inst.contract_max,
                                 inst.lane_capacity])
    costs = np.concatenate([inst.unit_price, inst.lane_cost, inst.holding_cost,
                            inst.shortfall_penalty, inst.readiness_penalty])
    Q, q_exact = _scale_for(quantities, _SCALES)
    C, c_exact = _scale_for(costs, _COST_SCALES)

    def qi(a):
        return np.round(np.asarray(a, dtype=np.float64) * Q)

    nN, nP = I * T, P * T
    A0 = nN + nP
    SRC, SINK = A0 + P, A0 + P + 1
    n_nodes = SINK + 1
    supply = np.zeros(n_nodes)
    total = (qi(inst.initial_stock).sum() + qi(inst.pipeline).sum() + qi(inst.demand).sum()
             + np.minimum(qi(inst.contract_max), qi(inst.capacity).sum(axis=1)).sum())
    BIG = float(total + 1)
    # cost x flow must stay far inside int64: coarsen the cost scale if needed (then the
    # point is near-optimal and the HiGHS polish does a little more work; still exact)
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

    def arcs(t_, h_, c_, k_):
        tails.append(np.asarray(t_, dtype=np.int64))
        heads.append(np.asarray(h_, dtype=np.int64))
        caps.append(np.broadcast_to(np.asarray(c_, dtype=np.float64), np.shape(t_)))
        cost.append(np.broadcast_to(np.asarray(k_, dtype=np.float64), np.shape(t_)))
        return sum(len(t) for t in tails) - len(tails[-1])

    # lane arcs first, in the LP's x order, so arc k is x variable k
    lane, day = v.x_lane, v.x_day
    fs = inst.lane_from_supplier[lane]
    org = inst.lane_origin[lane]
    tail = np.where(fs, nN + org * T + day, org * T + day)
    head = inst.lane_dest[lane] * T + day + inst.lane_lead[lane]
    arcs(tail, head, cap(inst.lane_capacity[lane]), ci(inst.lane_cost[lane]))
    # procurement: A(p) -> P(p,t)
    p_idx = np.repeat(np.arange(P), T)
    t_idx = np.tile(np.arange(T), P)
    arcs(A0 + p_idx, nN + p_idx * T + t_idx, cap(inst.capacity.ravel()),
         ci(inst.unit_price[p_idx]))
    # contracts: SRC -> A(p), contract_min as supply at A(p)
    cmin = qi(inst.contract_min)
    # no more than the horizon's capacity can leave A(p): a tight arc keeps SRC's supply small
    amax = np.minimum(cap(inst.contract_max), qi(inst.capacity).sum(axis=1))
    arcs(np.full(P, SRC), A0 + np.arange(P), np.maximum(amax - cmin, 0.0), np.zeros(P))
    supply[A0:A0 + P] += cmin
    supply[SRC] -= cmin.sum()
    # stock arcs
    i_idx = np.repeat(np.arange(I), T)
    t_all = np.tile(np.arange(T), I)
    flat = i_idx * T + t_all
    nxt = np.where(t_all < T - 1, flat + 1, SINK)
    lb = qi(hard_floor.ravel())
    mx = cap(np.repeat(inst.max_stock, T)) - lb
    f = np.minimum(qi(soft_floor.ravel()), mx)
    hold = ci(inst.holding_cost[i_idx])
    slice1 = arcs(flat, nxt, f, hold - ci(inst.readiness_penalty[i_idx]))
    slice2 = arcs(flat, nxt, mx - f, hold)
    np.add.at(supply, flat, -lb)
    np.add.at(supply, nxt, lb)
    # unmet consumption
    uf = v.u_flat
    unmet = arcs(np.full(len(uf), SRC), uf, qi(inst.demand.ravel()[uf]),
                 ci(inst.shortfall_penalty[uf // T]))
    # supplies: initial stock, pipeline, demand; SRC feeds unmet and contracts, SINK absorbs
    supply[:nN] += qi(inst.pipeline.ravel()) - qi(inst.demand.ravel())
    supply[np.arange(I) * T] += qi(inst.initial_stock)
    src_out = qi(inst.demand.ravel()[uf]).sum() + np.maximum(amax - cmin, 0.0).sum()
    supply[SRC] += src_out
    arcs([SRC], [SINK], src_out, 0.0)
    supply[SINK] -= supply.sum()

    tails_a = np.concatenate(tails)
    caps_a = np.concatenate(caps)
    if caps_a.min(initial=0) < 0 or np.abs(supply).max() > _INT_LIMIT:
        return None, {"network": "negative capacity after moving lower bounds"}
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(
        tails_a.astype(np.int32), np.concatenate(heads).astype(np.int32),
        caps_a.astype(np.int64), np.concatenate(cost).astype(np.int64))
    smcf.set_nodes_supplies(np.arange(n_nodes, dtype=np.int32), supply.astype(np.int64))
    status = smcf.solve()
    info = {"network_status": status.name, "quantity_scale": Q, "cost_scale": C,
            "exact_scaling": bool(q_exact and c_exact), "network_arcs": int(len(tails_a))}
    if status != smcf.OPTIMAL:
        return None, info
    flow = np.asarray(smcf.flows(np.arange(len(tails_a), dtype=np.int64)),
                      dtype=np.float64) / Q
    point = np.zeros(v.n)
    point[:v.nx] = flow[:v.nx]
    n_stock = I * T
    s = flow[slice1:slice1 + n_stock] + flow[slice2:slice2 + n_stock] + lb / Q
    point[v.s_start:v.u_start] = s
    point[v.u_start:v.r_start] = flow[unmet:unmet + len(uf)]
    point[v.r_start:] = np.maximum(inst.floor.ravel()[v.r_flat] - s[v.r_flat], 0.0)
    return point, info
