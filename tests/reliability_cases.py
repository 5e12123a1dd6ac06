"""Small instances for the reliability tests, built in memory (or as rows for a directory)."""

from __future__ import annotations

from optimiser.tables import make_instance


def one_pair_rows(T=1, demand=1000.0, floor=100.0, initial=0.0, lead=0, max_stock=None,
                  capacity=1e6, price=1.0):
    node = {"node": "D", "commodity": "A", "floor": floor, "initial_stock": initial,
            "shortfall_penalty": 1000.0, "readiness_penalty": 10.0, "holding_cost": 0.01}
    if max_stock is not None:
        node["max_stock"] = max_stock
    return {
        "suppliers": [{"supplier": "S", "commodity": "A", "unit_price": price,
                       "daily_capacity": capacity}],
        "nodes": [node],
        "lanes": [{"origin": "S", "destination": "D", "commodity": "A",
                   "lead_time_days": lead}],
        "demand": [{"node": "D", "commodity": "A", "day": d, "quantity": demand}
                   for d in range(T)],
    }


def one_pair(T=1, **kw):
    return make_instance("one-pair", T, **one_pair_rows(T=T, **kw))


def network_rows(T=8):
    """Two commodities (two LP blocks), a depot feeding a front, floors at both."""
    sups, nodes, lanes, demand = [], [], [], []
    for k, (price, dem) in enumerate(((2.0, 50.0), (5.0, 20.0))):
        c = f"K{k}"
        sups.append({"supplier": "S", "commodity": c, "unit_price": price,
                     "daily_capacity": 400.0})
        nodes += [{"node": "DEPOT", "commodity": c, "floor": 2 * dem, "initial_stock": 3 * dem,
                   "holding_cost": 0.01, "readiness_penalty": 50.0},
                  {"node": "FRONT", "commodity": c, "floor": dem, "initial_stock": 2 * dem,
                   "holding_cost": 0.02, "shortfall_penalty": 500.0, "readiness_penalty": 50.0}]
        lanes += [{"origin": "S", "destination": "DEPOT", "commodity": c, "lead_time_days": 1,
                   "unit_cost": 0.1},
                  {"origin": "DEPOT", "destination": "FRONT", "commodity": c,
                   "lead_time_days": 1, "unit_cost": 0.2}]
        demand += [{"node": "FRONT", "commodity": c, "day": d, "quantity": dem}
                   for d in range(T)]
    return {"suppliers": sups, "nodes": nodes, "lanes": lanes, "demand": demand}


def network(T=8):
    return make_instance("network", T, **network_rows(T))


def replay_case(params, T=14):
    """A small network (scenario_reference.small_case) prepared for the reliability
    replays: (inst, x, u, arrays, virtual arrays, H, events, w_ready, w_service)."""
    import numpy as np

    from optimiser.reliability.replay import make_events, virtual
    from optimiser.scenarios import prepare

    from .scenario_reference import small_case

    inst, x, u = small_case(T=T)
    a = prepare(inst, x, u)
    ready = (inst.floor > 0).any(axis=1)
    service = (inst.demand > 0).any(axis=1)
    ev = make_events(inst, ready, service, u)
    va, H = virtual(inst, a, x, params, ready | service)
    rng = np.random.default_rng(4)
    w_r = rng.random((inst.horizon, len(ev.ready))) * 3 + 1e-3
    w_s = rng.random((inst.horizon, len(ev.service))) * 3 + 1e-3
    return inst, x, u, a, va, H, ev, w_r, w_s



def lp_session(inst, method: str, workers: int = 2, log=None):
    """A ReliabilityLP of `inst` started from its expected-demand plan (HiGHS, 1 thread):
    (lp, that plan, candidate pairs, planning floors at the instance floors, hard floors
    where the plan holds them)."""
    import numpy as np

    from optimiser.reliability.lp import ReliabilityLP
    from optimiser.reliability.targets import protected_pairs
    from optimiser.solve import solve

    base = solve(inst, solver="highs", threads=1)
    cand = protected_pairs(inst)
    lp = ReliabilityLP(inst, cand, base.u, workers=workers, start=(base.x, base.s, base.u),
                       method=method, log=log)
    P = np.where(cand[:, None], inst.floor, 0.0)
    hard = np.where(cand[:, None], np.maximum(np.minimum(inst.floor, base.s), 0.0), 0.0)
    return lp, base, cand, P, hard


def lp_objective(lp) -> float:
    """The objective of a ReliabilityLP's last solve, summed over its blocks."""
    return float(sum(b.sol.objective for b in lp.blocks))


def raise_floors(rng, P, res, cand, scale):
    """The loop's kind of raise: the plan's stock plus an arbitrary decimal buffer on some
    candidate (pair, day)s."""
    import numpy as np

    buf = np.where(cand[:, None] & (rng.random(P.shape) < 0.3),
                   rng.uniform(0.0, scale, P.shape), 0.0)
    return np.where(buf > 0, np.maximum(P, res.s + buf), P)
