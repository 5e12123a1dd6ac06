"""The LP of docs/MODEL.md written with the peers: linopy, PuLP and Pyomo.

Each builder takes the Instance (its numpy arrays, as any user of the engine's
data would) and writes the model the way that library is meant to be used:
linopy with labelled arrays (the lane sums as padded label arrays, linopy's own
fast path), PuLP and Pyomo with Python loops over rows. Contracts are two rows
(>= min, <= max) where the engine has one ranged row; the optimum is the same.
Each `solve_*` returns the solver's optimal objective, so the suite can prove
that the peer's model is the engine's LP.
"""

from __future__ import annotations

import warnings
from collections import defaultdict

import numpy as np


# shared index arithmetic (numpy) -------------------------------------------
def _x_index(inst):
    """(lane, day) of every dispatch variable, lane-major like the engine."""
    T = inst.horizon
    mask = np.arange(T)[None, :] < (T - inst.lane_lead)[:, None]
    lane, day = np.nonzero(mask)
    return mask, lane, day


def _padded(keys: np.ndarray, labels: np.ndarray, coeffs: np.ndarray, n: int):
    """Group terms by key 0..n-1 into padded [n, width] (labels -1 where empty)."""
    order = np.argsort(keys, kind="stable")
    keys, labels, coeffs = keys[order], labels[order], coeffs[order]
    count = np.bincount(keys, minlength=n)
    width = max(int(count.max()) if len(count) else 0, 1)
    start = np.zeros(n, dtype=np.int64)
    np.cumsum(count[:-1], out=start[1:])
    pos = np.arange(len(keys)) - start[keys]
    V = np.full((n, width), -1, dtype=np.int64)
    C = np.zeros((n, width))
    V[keys, pos] = labels
    C[keys, pos] = coeffs
    return V, C, count > 0


# linopy -------------------------------------------------------------------
def build_linopy(inst):
    """A linopy Model of the LP (nothing handed to a solver yet)."""
    import linopy
    import pandas as pd
    import xarray as xr

    # legacy semantics (an absent slot adds nothing) is what this formulation relies on
    warnings.filterwarnings("ignore", message=".*has absent slots")
    T, L, I, P = inst.horizon, inst.n_lanes, inst.n_pairs, inst.n_supplier_pairs
    lanes, days = pd.RangeIndex(L, name="lane"), pd.RangeIndex(T, name="day")
    pairs, sps = pd.RangeIndex(I, name="pair"), pd.RangeIndex(P, name="sp")
    lt, it, pt = ("lane", "day"), ("pair", "day"), ("sp", "day")

    index = {"lane": lanes, "day": days, "pair": pairs, "sp": sps}

    def da(a, dims):
        dims = (dims,) if isinstance(dims, str) else dims
        return xr.DataArray(a, dims=dims, coords={d: index[d] for d in dims})

    xmask, lane, day = _x_index(inst)
    hard = inst.readiness_hard[:, None]
    m = linopy.Model()
    x = m.add_variables(lower=0, upper=da(np.broadcast_to(inst.lane_capacity[:, None], (L, T)), lt),
                        coords=[lanes, days], mask=da(xmask, lt), name="x")
    s = m.add_variables(lower=da(np.where(hard, inst.floor, 0.0), it),
                        upper=da(np.broadcast_to(inst.max_stock[:, None], (I, T)), it),
                        coords=[pairs, days], name="s")
    u = m.add_variables(lower=0, upper=da(inst.demand, it), coords=[pairs, days],
                        mask=da(inst.demand > 0, it), name="u")
    rmask = (inst.floor > 0) & ~hard
    r = m.add_variables(lower=0, upper=da(inst.floor, it), coords=[pairs, days],
                        mask=da(rmask, it), name="r")

    def expr(V, C, dims, coords):
        ds = xr.Dataset({"vars": (dims, V), "coeffs": (dims, C)}, coords=coords)
        return linopy.LinearExpression(ds, m)

    xl = x.labels.values[lane, day]
    node = ~inst.lane_from_supplier[lane]
    keys = np.concatenate([inst.lane_dest[lane] * T + day + inst.lane_lead[lane],
                           inst.lane_origin[lane[node]] * T + day[node]])
    V, C, _ = _padded(keys, np.concatenate([xl, xl[node]]),
                      np.concatenate([-np.ones(len(xl)), np.ones(int(node.sum()))]), I * T)
    w = V.shape[1]
    flow = expr(V.reshape(I, T, w), C.reshape(I, T, w), (*it, "_term"),
                {"pair": pairs, "day": days})
    rhs = inst.pipeline - inst.demand
    rhs[:, 0] += inst.initial_stock
    m.add_constraints(s - s.shift(day=1) + flow - u == da(rhs, it), name="balance")
    m.add_constraints(s + r >= da(inst.floor, it), mask=da(rmask, it), name="readiness")

    sup = inst.lane_from_supplier[lane]
    V, C, has = _padded(inst.lane_origin[lane[sup]] * T + day[sup], xl[sup],
                        np.ones(int(sup.sum())), P * T)
    w = V.shape[1]
    m.add_constraints(expr(V.reshape(P, T, w), C.reshape(P, T, w), (*pt, "_term"),
                           {"sp": sps, "day": days}) <= da(inst.capacity, pt),
                      mask=da(has.reshape(P, T), pt), name="supplier_capacity")
    V, C, _ = _padded(inst.lane_origin[lane[sup]], xl[sup], np.ones(int(sup.sum())), P)
    contract = expr(V, C, ("sp", "_term"), {"sp": sps})
    if (inst.contract_min > 0).any():
        m.add_constraints(contract >= da(inst.contract_min, "sp"),
                          mask=da(inst.contract_min > 0, "sp"), name="contract_min")
    if np.isfinite(inst.contract_max).any():
        m.add_constraints(contract <= da(np.where(np.isfinite(inst.contract_max),
                                                  inst.contract_max, 0.0), "sp"),
                          mask=da(np.isfinite(inst.contract_max), "sp"), name="contract_max")
    if inst.budget is not None:
        price = np.broadcast_to(inst.lane_price[:, None], (L, T))
        m.add_constraints((da(price, lt) * x).sum() <= inst.budget, name="budget")
    cx = np.broadcast_to((inst.lane_price + inst.lane_cost)[:, None], (L, T))
    m.add_objective((da(cx, lt) * x).sum()
                    + (da(np.broadcast_to(inst.holding_cost[:, None], (I, T)), it) * s).sum()
                    + (da(np.broadcast_to(inst.shortfall_penalty[:, None], (I, T)), it) * u).sum()
                    + (da(np.broadcast_to(inst.readiness_penalty[:, None], (I, T)), it) * r).sum())
    return m


def linopy_to_highs(m):
    """Hand a linopy model to HiGHS (the model resident in the solver, not solved)."""
    from linopy.io import to_highspy

    h = to_highspy(m, set_names=False)
    h.setOptionValue("output_flag", False)
    return h


def run_highs(h) -> float | None:
    h.run()
    info = h.getInfo()
    ok = h.getModelStatus().name == "kOptimal" if hasattr(h.getModelStatus(), "name") else True
    return float(info.objective_function_value) if ok else None


# plain Python rows (PuLP, Pyomo) -------------------------------------------
def _python_rows(inst):
    """Variables and rows as Python dicts and lists, built by loops (the peers' idiom)."""
    T = inst.horizon
    lead, cap = inst.lane_lead.tolist(), inst.lane_capacity.tolist()
    price = (inst.lane_price + inst.lane_cost).tolist()
    sup = inst.lane_from_supplier.tolist()
    origin, dest = inst.lane_origin.tolist(), inst.lane_dest.tolist()
    xkeys = [(l, t) for l in range(inst.n_lanes) for t in range(T - lead[l])]
    arrive, depart, out_sp = defaultdict(list), defaultdict(list), defaultdict(list)
    for l, t in xkeys:
        arrive[dest[l], t + lead[l]].append((l, t))
        if sup[l]:
            out_sp[origin[l], t].append((l, t))
        else:
            depart[origin[l], t].append((l, t))
    demand, floor = inst.demand.tolist(), inst.floor.tolist()
    hard = inst.readiness_hard.tolist()
    return {"xkeys": xkeys, "cap": cap, "price": price, "arrive": arrive, "depart": depart,
            "out_sp": out_sp, "demand": demand, "floor": floor, "hard": hard,
            "ukeys": [(i, t) for i in range(inst.n_pairs) for t in range(T) if demand[i][t] > 0],
            "rkeys": [(i, t) for i in range(inst.n_pairs) for t in range(T)
                      if floor[i][t] > 0 and not hard[i]]}


def _rhs(inst, i, t):
    v = float(inst.pipeline[i, t] - inst.demand[i, t])
    return v + float(inst.initial_stock[i]) if t == 0 else v


# PuLP ---------------------------------------------------------------------
def build_pulp(inst):
    import pulp

    R = _python_rows(inst)
    T, I = inst.horizon, inst.n_pairs
    inf = float("inf")
    prob = pulp.LpProblem("bench", pulp.LpMinimize)
    x = {k: pulp.LpVariable(f"x_{k[0]}_{k[1]}", 0, None if R["cap"][k[0]] == inf else R["cap"][k[0]])
         for k in R["xkeys"]}
    ms = inst.max_stock.tolist()
    s = {(i, t): pulp.LpVariable(f"s_{i}_{t}", R["floor"][i][t] if R["hard"][i] else 0,
                                 None if ms[i] == inf else ms[i])
         for i in range(I) for t in range(T)}
    u = {(i, t): pulp.LpVariable(f"u_{i}_{t}", 0, R["demand"][i][t]) for i, t in R["ukeys"]}
    r = {(i, t): pulp.LpVariable(f"r_{i}_{t}", 0, R["floor"][i][t]) for i, t in R["rkeys"]}
    hold, short, ready = (inst.holding_cost.tolist(), inst.shortfall_penalty.tolist(),
                          inst.readiness_penalty.tolist())
    prob += pulp.lpSum([R["price"][k[0]] * v for k, v in x.items()]
                       + [hold[k[0]] * v for k, v in s.items()]
                       + [short[k[0]] * v for k, v in u.items()]
                       + [ready[k[0]] * v for k, v in r.items()])
    for i in range(I):
        for t in range(T):
            terms = [(s[i, t], 1.0)]
            if t:
                terms.append((s[i, t - 1], -1.0))
            terms += [(x[k], -1.0) for k in R["arrive"].get((i, t), ())]
            terms += [(x[k], 1.0) for k in R["depart"].get((i, t), ())]
            if (i, t) in u:
                terms.append((u[i, t], -1.0))
            prob += pulp.LpAffineExpression(terms) == _rhs(inst, i, t)
    for (i, t), v in r.items():
        prob += s[i, t] + v >= R["floor"][i][t]
    capacity = inst.capacity.tolist()
    per_sp = defaultdict(list)
    for (p, t), ks in R["out_sp"].items():
        prob += pulp.lpSum(x[k] for k in ks) <= capacity[p][t]
        per_sp[p] += ks
    cmin, cmax = inst.contract_min.tolist(), inst.contract_max.tolist()
    for p, ks in per_sp.items():
        if cmin[p] > 0:
            prob += pulp.lpSum(x[k] for k in ks) >= cmin[p]
        if cmax[p] != inf:
            prob += pulp.lpSum(x[k] for k in ks) <= cmax[p]
    if inst.budget is not None:
        up = inst.unit_price.tolist()
        prob += pulp.lpSum(up[p] * x[k] for p, ks in per_sp.items() for k in ks) <= inst.budget
    return prob


def solve_pulp(prob) -> tuple[float | None, str]:
    import pulp

    solver = pulp.HiGHS(msg=False) if pulp.HiGHS(msg=False).available() else pulp.PULP_CBC_CMD(msg=False)
    prob.solve(solver)
    ok = pulp.LpStatus[prob.status] == "Optimal"
    return (float(pulp.value(prob.objective)) if ok else None), type(solver).__name__


# Pyomo --------------------------------------------------------------------
def build_pyomo(inst):
    import pyomo.environ as pyo

    R = _python_rows(inst)
    T, I = inst.horizon, inst.n_pairs
    inf = float("inf")
    ms = inst.max_stock.tolist()
    m = pyo.ConcreteModel()
    m.x = pyo.Var(R["xkeys"], bounds=lambda _, l, t: (0, None if R["cap"][l] == inf else R["cap"][l]))
    m.s = pyo.Var([(i, t) for i in range(I) for t in range(T)],
                  bounds=lambda _, i, t: (R["floor"][i][t] if R["hard"][i] else 0,
                                          None if ms[i] == inf else ms[i]))
    m.u = pyo.Var(R["ukeys"], bounds=lambda _, i, t: (0, R["demand"][i][t]))
    m.r = pyo.Var(R["rkeys"], bounds=lambda _, i, t: (0, R["floor"][i][t]))
    hold, short, ready = (inst.holding_cost.tolist(), inst.shortfall_penalty.tolist(),
                          inst.readiness_penalty.tolist())
    m.obj = pyo.Objective(expr=pyo.quicksum(R["price"][l] * m.x[l, t] for l, t in R["xkeys"])
                          + pyo.quicksum(hold[i] * m.s[i, t] for i in range(I) for t in range(T))
                          + pyo.quicksum(short[i] * m.u[i, t] for i, t in R["ukeys"])
                          + pyo.quicksum(ready[i] * m.r[i, t] for i, t in R["rkeys"]))
    uset = set(R["ukeys"])

    def balance(m, i, t):
        e = m.s[i, t] - (m.s[i, t - 1] if t else 0)
        e = e - pyo.quicksum(m.x[k] for k in R["arrive"].get((i, t), ()))
        e = e + pyo.quicksum(m.x[k] for k in R["depart"].get((i, t), ()))
        if (i, t) in uset:
            e = e - m.u[i, t]
        return e == _rhs(inst, i, t)

    m.balance = pyo.Constraint([(i, t) for i in range(I) for t in range(T)], rule=balance)
    m.readiness = pyo.Constraint(R["rkeys"], rule=lambda m, i, t: m.s[i, t] + m.r[i, t] >= R["floor"][i][t])
    capacity = inst.capacity.tolist()
    m.capacity = pyo.Constraint(list(R["out_sp"]), rule=lambda m, p, t: pyo.quicksum(
        m.x[k] for k in R["out_sp"][p, t]) <= capacity[p][t])
    per_sp = defaultdict(list)
    for (p, _t), ks in R["out_sp"].items():
        per_sp[p] += ks
    cmin, cmax = inst.contract_min.tolist(), inst.contract_max.tolist()
    m.contract_min = pyo.Constraint([p for p in per_sp if cmin[p] > 0], rule=lambda m, p: pyo.quicksum(
        m.x[k] for k in per_sp[p]) >= cmin[p])
    m.contract_max = pyo.Constraint([p for p in per_sp if cmax[p] != inf], rule=lambda m, p: pyo.quicksum(
        m.x[k] for k in per_sp[p]) <= cmax[p])
    if inst.budget is not None:
        up = inst.unit_price.tolist()
        m.budget = pyo.Constraint(expr=pyo.quicksum(
            up[p] * m.x[k] for p, ks in per_sp.items() for k in ks) <= inst.budget)
    return m


def solve_pyomo(m) -> tuple[float | None, str]:
    import pyomo.environ as pyo

    for name in ("appsi_highs", "highs", "cbc", "glpk"):
        try:
            opt = pyo.SolverFactory(name)
            if opt is None or not opt.available(exception_flag=False):
                continue
        except Exception:
            continue
        res = opt.solve(m, load_solutions=True)
        term = str(res.solver.termination_condition).lower()
        if "optimal" not in term:
            return None, name
        return float(pyo.value(m.obj)), name
    return None, "none available"
