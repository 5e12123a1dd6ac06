"""A plain-Python replay of the scenario model, written from docs/SCENARIOS.md.

Loops over days, pairs and lanes, reading the Instance and the plan's x/u directly
(not the kernel's prepared arrays), and drawing its random numbers from the same
counter-based functions (called from Python). The kernel must agree with it.
"""

from __future__ import annotations

import math

import numpy as np

from optimiser.scenarios import rng

TOL = 1e-6


def replay(inst, x, u, params, seed: int, scenario: int):
    """-> (kpis dict, stock [I, T]) for one scenario."""
    p = params
    T, I, L = inst.horizon, inst.n_pairs, inst.n_lanes
    S, N = len(inst.supplier_names), len(inst.node_names)
    key = np.uint64(rng.scenario_key(np.uint64(seed), scenario))
    demand_on = p.demand_sigma > 0
    surge_on = p.surge_prob > 0 and p.surge_days > 0 and p.surge_multiplier != 1
    outage_on = p.outage_prob > 0 and p.outage_days > 0
    ship_on = p.loss_prob > 0 or (p.delay_prob > 0 and p.delay_max_days > 0)
    price = inst.lane_price
    has_demand = (inst.demand > 0).any(axis=1)

    stock = [float(v) for v in inst.initial_stock]
    arrivals = [[0.0] * I for _ in range(T)]
    z = [0.0] * I
    surge_left = [0] * N
    outage_left = [0] * S
    out = np.zeros((I, T))
    k = dict(demand=0.0, unmet=0.0, shortfall_days=0, below_floor=0.0, breach_days=0)
    # cost terms summed separately, each in the order of the replay, added at the end
    c = dict(ship=0.0, short=0.0, hold=0.0, ready=0.0)
    min_ratio = math.inf
    any_floor = False

    def ship(lane, t, q):
        delay = 0
        if ship_on:
            b = np.uint64(rng.draw_bits(key, rng.STREAM_SHIP, lane, t))
            if rng.hi_uniform(b) < p.loss_prob:
                return
            if rng.lo_uniform(b) < p.delay_prob:
                uu = rng.uniform(key, rng.STREAM_DELAY, lane, t)
                delay = min(p.delay_max_days, 1 + int(uu * p.delay_max_days))
        a = t + int(inst.lane_lead[lane]) + delay
        if a < T:
            arrivals[a][int(inst.lane_dest[lane])] += q

    for t in range(T):
        for s in range(S):
            if outage_on and outage_left[s] == 0 and \
                    rng.uniform(key, rng.STREAM_OUTAGE, s, t) < p.outage_prob:
                outage_left[s] = p.outage_days
        for n in range(N):
            if surge_on and surge_left[n] == 0 and \
                    rng.uniform(key, rng.STREAM_SURGE, n, t) < p.surge_prob:
                surge_left[n] = p.surge_days
        # 1. suppliers
        for lane in range(L):
            if not inst.lane_from_supplier[lane] or x[lane, t] <= 0:
                continue
            if outage_on and outage_left[int(inst.sp_supplier[inst.lane_origin[lane]])] > 0:
                continue
            q = float(x[lane, t])
            c["ship"] += q * (price[lane] + inst.lane_cost[lane])
            ship(lane, t, q)
        # 2-3. arrivals, consumption
        short = False
        for i in range(I):
            st = stock[i] + (arrivals[t][i] + inst.pipeline[i, t])
            d = float(inst.demand[i, t])
            if demand_on and has_demand[i]:
                e = rng.normal(key, rng.STREAM_DEMAND, i, t)
                z[i] = e if t == 0 else p.demand_phi * z[i] + math.sqrt(1 - p.demand_phi ** 2) * e
                d = d * rng.exp(p.demand_sigma * z[i] - 0.5 * p.demand_sigma ** 2)
            if surge_on and surge_left[int(inst.nc_node[i])] > 0:
                d = d * p.surge_multiplier
            target = max(0.0, d - u[i, t])
            met = min(st, target)
            unmet = d - met
            stock[i] = st - met
            k["demand"] += d
            k["unmet"] += unmet
            c["short"] += inst.shortfall_penalty[i] * unmet
            if unmet > TOL * max(1.0, inst.demand[i, t]):
                short = True
        k["shortfall_days"] += short
        # 4. node dispatches
        for i in range(I):
            lanes = [lane for lane in range(L) if not inst.lane_from_supplier[lane]
                     and inst.lane_origin[lane] == i and x[lane, t] > 0]
            if not lanes:
                continue
            total = 0.0
            for lane in lanes:  # left to right, in lane order
                total += float(x[lane, t])
            if total <= stock[i]:
                scale = 1.0
                stock[i] -= total
            else:
                scale = stock[i] / total
                stock[i] = 0.0
            for lane in lanes:
                q = x[lane, t] * scale
                if q > 0:
                    c["ship"] += q * inst.lane_cost[lane]
                    ship(lane, t, q)
        # 5. end of day
        breach = False
        for i in range(I):
            s_, f = stock[i], inst.floor[i, t]
            c["hold"] += inst.holding_cost[i] * s_
            if f > 0:
                any_floor = True
                min_ratio = min(min_ratio, s_ / f)
                if s_ < f:
                    k["below_floor"] += f - s_
                    c["ready"] += inst.readiness_penalty[i] * (f - s_)
                    if f - s_ > TOL * max(1.0, f):
                        breach = True
            out[i, t] = s_
        k["breach_days"] += breach
        outage_left = [max(0, v - 1) for v in outage_left]
        surge_left = [max(0, v - 1) for v in surge_left]
    k["cost"] = ((c["ship"] + c["short"]) + c["hold"]) + c["ready"]
    k["fill_rate"] = 1.0 - k["unmet"] / k["demand"] if k["demand"] > 0 else 1.0
    k["min_floor_ratio"] = min_ratio if any_floor else math.nan
    return k, out


# ---------------------------------------------------------------- small cases
def small_case(T: int = 12, seed: int = 0):
    """A small instance exercising every path, and a hand-made (not optimal) plan.

    Two suppliers (one with two commodities, one lane of lead 0), a hub that
    forwards to two consumers on two lanes (so node dispatches get scaled), a
    parallel air lane, pipeline arrivals, soft and hard floors, and plan unmet.
    Returns (instance, x [L, T], u [I, T]).
    """
    from optimiser import make_instance

    gen = np.random.default_rng(seed)
    sup = [dict(supplier="S1", commodity="a", unit_price=2.0, daily_capacity=1e9),
           dict(supplier="S1", commodity="b", unit_price=3.0, daily_capacity=1e9),
           dict(supplier="S2", commodity="a", unit_price=2.5, daily_capacity=1e9)]
    nodes = [dict(node="hub", commodity="a", initial_stock=50.0, floor=20.0, holding_cost=0.1,
                  readiness_penalty=5.0),
             dict(node="hub", commodity="b", initial_stock=10.0, holding_cost=0.2),
             dict(node="c1", commodity="a", initial_stock=5.0, floor=3.0, readiness_hard=True,
                  shortfall_penalty=100.0, readiness_penalty=7.0),
             dict(node="c2", commodity="a", initial_stock=0.0, shortfall_penalty=50.0),
             dict(node="c2", commodity="b", initial_stock=8.0, floor=2.0, holding_cost=0.05)]
    lanes = [dict(origin="S1", destination="hub", commodity="a", lead_time_days=2, unit_cost=0.5),
             dict(origin="S1", destination="hub", commodity="b", lead_time_days=1, unit_cost=0.3),
             dict(origin="S2", destination="hub", commodity="a", lead_time_days=0, unit_cost=0.2),
             dict(origin="S2", destination="c2", commodity="a", lead_time_days=3, unit_cost=1.0),
             dict(origin="hub", destination="c1", commodity="a", lead_time_days=1, unit_cost=0.4),
             dict(origin="hub", destination="c2", commodity="a", lead_time_days=2, unit_cost=0.6),
             dict(origin="hub", destination="c2", commodity="a", mode="air", lead_time_days=1,
                  unit_cost=2.0),
             dict(origin="hub", destination="c2", commodity="b", lead_time_days=1, unit_cost=0.1)]
    demand = []
    for t in range(T):
        demand.append(dict(node="c1", commodity="a", day=t, quantity=float(gen.integers(3, 9))))
        demand.append(dict(node="c2", commodity="a", day=t, quantity=float(gen.integers(0, 6))))
        if t % 3 == 0:
            demand.append(dict(node="c2", commodity="b", day=t, quantity=4.0))
        if t % 4 == 1:
            demand.append(dict(node="hub", commodity="a", day=t, quantity=2.0))
    pipeline = [dict(node="hub", commodity="a", day=3, quantity=15.0),
                dict(node="c1", commodity="a", day=T - 1, quantity=4.0)]
    inst = make_instance("small", T, suppliers=sup, nodes=nodes, lanes=lanes, demand=demand,
                         pipeline=pipeline)
    L, I = inst.n_lanes, inst.n_pairs
    x = np.round(gen.uniform(0, 12, size=(L, T)) * (gen.random((L, T)) < 0.7), 1)
    for lane in range(L):  # the LP has no dispatch that cannot arrive
        x[lane, T - int(inst.lane_lead[lane]):] = 0.0
    u = np.zeros((I, T))
    c1 = [i for i in range(I) if inst.pair_label(i) == "c1/a"][0]
    u[c1, 5] = 1.5  # deliberate rationing: honoured by the replay
    return inst, x, u
