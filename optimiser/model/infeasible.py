"""Explaining an infeasible instance (SPEC section 3).

The hard requirements — hard readiness floors, contract minimums, the budget,
and storage limits (which bind when initial stock or scheduled arrivals exceed
max_stock) — are each given an elastic variable, and the least total violation
is found (a phase-one LP: only the violations are priced, one per unit). The
non-zero elastics say which requirement must give way, where, when and by how much.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from .backends import SolverOptions, get_backend
from .build import LP, Variables

INFEASIBILITY_SCHEMA = pa.schema([
    ("requirement", pa.string()), ("name", pa.string()), ("supplier", pa.string()),
    ("node", pa.string()), ("commodity", pa.string()), ("day", pa.int32()),
    ("required", pa.float64()), ("achievable", pa.float64()), ("violation", pa.float64()),
])


def explain_infeasibility(lp: LP, options: SolverOptions) -> tuple[pa.Table, dict]:
    inst = lp.instance
    T = inst.horizon
    v = lp.vars
    ss = slice(v.s_start, v.u_start)
    hard_floor = np.flatnonzero(v.lb[ss] > 0)  # flat (i*T+t) with a hard floor
    storage = np.flatnonzero(np.isfinite(v.ub[ss]))
    csl = lp.blocks["contract"]
    cmin_rows = np.flatnonzero(lp.row_lo[csl] > 0)
    bsl = lp.blocks["budget"]
    has_budget = bsl.stop > bsl.start

    n0, m0 = v.n, lp.A.shape[0]
    ne = len(hard_floor) + len(storage) + len(cmin_rows) + int(has_budget)
    # new rows: s + e >= floor (hard floors), s - e <= max (storage); contract min rows get +e;
    # budget row gets -e
    nf, ns_ = len(hard_floor), len(storage)
    e_floor = n0 + np.arange(nf)
    e_store = n0 + nf + np.arange(ns_)
    e_cmin = n0 + nf + ns_ + np.arange(len(cmin_rows))
    e_budget = n0 + ne - 1
    rows = [np.arange(nf), np.arange(nf), nf + np.arange(ns_), nf + np.arange(ns_)]
    cols = [v.s_start + hard_floor, e_floor, v.s_start + storage, e_store]
    vals = [np.ones(nf), np.ones(nf), np.ones(ns_), -np.ones(ns_)]
    extra = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(nf + ns_, n0 + ne))
    # elastic columns in existing rows
    er = [csl.start + cmin_rows]
    ec = [e_cmin]
    ev = [np.ones(len(cmin_rows))]
    if has_budget:
        er.append(np.array([bsl.start]))
        ec.append(np.array([e_budget]))
        ev.append(np.array([-1.0]))
    base = sp.hstack([lp.A, sp.csr_matrix((np.concatenate(ev), (np.concatenate(er),
                                                                np.concatenate(ec) - n0)),
                                          shape=(m0, ne))], format="csr")
    A = sp.vstack([base, extra], format="csr")
    lb = np.concatenate([v.lb, np.zeros(ne)])
    ub = np.concatenate([v.ub, np.full(ne, np.inf)])
    lb[v.s_start + hard_floor] = 0.0
    ub[v.s_start + storage] = np.inf
    cost = np.concatenate([np.zeros(n0), np.ones(ne)])
    row_lo = np.concatenate([lp.row_lo, v.lb[ss][hard_floor], np.full(ns_, -np.inf)])
    row_hi = np.concatenate([lp.row_hi, np.full(nf, np.inf), v.ub[ss][storage]])
    ev_vars = Variables(n=n0 + ne, x_start=v.x_start, x_lane=v.x_lane, x_day=v.x_day,
                        x_offset=v.x_offset, s_start=v.s_start, u_start=v.u_start,
                        u_flat=v.u_flat, r_start=v.r_start, r_flat=v.r_flat, lb=lb, ub=ub,
                        cost=cost)
    elp = LP(instance=inst, vars=ev_vars, A=A, row_lo=row_lo, row_hi=row_hi, blocks={},
             block_meta={})
    backend = get_backend("highs" if get_backend_ok("highs") else "glop")
    sol = backend.solve(elp, SolverOptions(solver=backend.NAME, time_limit=options.time_limit,
                                           threads=options.threads))
    if sol.values is None:
        return pa.Table.from_pylist([], schema=INFEASIBILITY_SCHEMA), {
            "explained": False, "reason": f"elastic solve ended {sol.status}"}
    val = sol.values
    thr = 1e-7
    recs: list[dict] = []
    s_val = val[ss]
    for kind, flats, elastic, bound in (("readiness_floor", hard_floor, e_floor, v.lb),
                                        ("storage", storage, e_store, v.ub)):
        for k in np.flatnonzero(val[elastic] > thr):
            f = int(flats[k])
            i, t = divmod(f, T)
            recs.append(dict(requirement=kind, name=f"{inst.pair_label(i)} day {t}",
                             node=inst.node_names[inst.nc_node[i]],
                             commodity=inst.commodities[inst.nc_commodity[i]], day=t,
                             required=float(bound[v.s_start + f]), achievable=float(s_val[f]),
                             violation=float(val[elastic[k]])))
    pairs = lp.block_meta["contract"]["pair"]
    for k, row in enumerate(cmin_rows):
        e = val[e_cmin[k]]
        if e > thr:
            p = int(pairs[row])
            recs.append(dict(requirement="contract_min", name=inst.supplier_label(p),
                             supplier=inst.supplier_names[inst.sp_supplier[p]],
                             commodity=inst.commodities[inst.sp_commodity[p]],
                             required=float(inst.contract_min[p]),
                             achievable=float(inst.contract_min[p] - e), violation=float(e)))
    if has_budget and val[e_budget] > thr:
        recs.append(dict(requirement="budget", name="budget", required=float(inst.budget),
                         achievable=float(inst.budget + val[e_budget]),
                         violation=float(val[e_budget])))
    table = pa.Table.from_pylist(recs, schema=INFEASIBILITY_SCHEMA)
    totals: dict[str, float] = {}
    for r in recs:
        totals[r["requirement"]] = totals.get(r["requirement"], 0.0) + r["violation"]
    return table, {"explained": True, "total_violation": float(sum(totals.values())),
                   "by_requirement": totals, "items": len(recs)}


def get_backend_ok(name: str) -> bool:
    try:
        get_backend(name)
    except Exception:
        return False
    return True
