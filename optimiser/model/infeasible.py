"""Explaining an infeasible instance (docs/MODEL.md, docs/OUTPUTS.md).

The hard requirements — hard readiness floors, contract minimums, the budget,
and storage limits (which bind when initial stock or scheduled arrivals exceed
max_stock) — are each given an elastic variable, and the least total violation
is found (a phase-one LP: only the violations are priced, one per unit). The
non-zero elastics say which requirement must give way, where, when and by how much.
`group_items` turns the per-day rows into items a planner can act on: consecutive days
grouped, the largest first, each with why it cannot hold and what would fix it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from ..outputs import INFEASIBILITY
from .backends import SolverOptions, backends_with
from .build import LP

INFEASIBILITY_SCHEMA = INFEASIBILITY.schema


@dataclass
class ElasticLP:
    """An LP whose hard requirements may give way, and where its elastic columns are.

    Its first n0 columns are the original LP's; elastic k of each kind relaxes the k-th
    entry of the matching index array (flat i*T+t stock positions, contract rows)."""

    lp: LP
    n0: int
    hard_floor: np.ndarray  # flat stock positions with a hard floor
    storage: np.ndarray  # flat stock positions with a finite max_stock
    cmin_rows: np.ndarray  # contract rows (within the block) with a minimum > 0
    e_floor: np.ndarray  # column of each hard floor's elastic
    e_store: np.ndarray
    e_cmin: np.ndarray
    e_budget: int | None  # the budget's elastic (None: not relaxed, or no budget)


def elastic_lp(lp: LP, *, budget: bool = True, price: float | None = None) -> ElasticLP:
    """The LP with each hard requirement allowed to give way by an elastic variable >= 0,
    the one relaxation of the engine (the infeasibility explanation and the closed loop's
    infeasible replans): hard floors (new rows s + e >= floor, the floor bound dropped),
    storage limits (s - e <= max, the bound dropped), contract minimums (+e in their row)
    and, with `budget`, the budget (-e in its row).

    price None: a phase-one LP, only the elastics priced (one per unit), so its optimum
    is the least total violation. price p: the LP's own costs kept and every elastic
    priced at p (a planner's plan that gives way only where it must)."""
    inst = lp.instance
    v = lp.vars
    ss = slice(v.s_start, v.u_start)
    hard_floor = np.flatnonzero(v.lb[ss] > 0)  # flat (i*T+t) with a hard floor
    storage = np.flatnonzero(np.isfinite(v.ub[ss]))
    csl = lp.blocks["contract"]
    cmin_rows = np.flatnonzero(lp.row_lo[csl] > 0)
    bsl = lp.blocks["budget"]
    has_budget = budget and bsl.stop > bsl.start

    n0, m0 = v.n, lp.A.shape[0]
    ne = len(hard_floor) + len(storage) + len(cmin_rows) + int(has_budget)
    # new rows: s + e >= floor (hard floors), s - e <= max (storage); contract min rows get +e;
    # budget row gets -e
    nf, ns_ = len(hard_floor), len(storage)
    e_floor = n0 + np.arange(nf)
    e_store = n0 + nf + np.arange(ns_)
    e_cmin = n0 + nf + ns_ + np.arange(len(cmin_rows))
    e_budget = n0 + ne - 1 if has_budget else None
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
    cost = (np.concatenate([np.zeros(n0), np.ones(ne)]) if price is None
            else np.concatenate([v.cost, np.full(ne, float(price))]))
    row_lo = np.concatenate([lp.row_lo, v.lb[ss][hard_floor], np.full(ns_, -np.inf)])
    row_hi = np.concatenate([lp.row_hi, np.full(nf, np.inf), v.ub[ss][storage]])
    ev_vars = dataclasses.replace(v, n=n0 + ne, lb=lb, ub=ub, cost=cost)
    elp = LP(instance=inst, vars=ev_vars, A=A, row_lo=row_lo, row_hi=row_hi, blocks={},
             block_meta={})
    return ElasticLP(lp=elp, n0=n0, hard_floor=hard_floor, storage=storage,
                     cmin_rows=cmin_rows, e_floor=e_floor, e_store=e_store, e_cmin=e_cmin,
                     e_budget=e_budget)


def explain_infeasibility(lp: LP, options: SolverOptions) -> tuple[pa.Table, dict]:
    """The least total violation of the hard requirements (a phase-one elastic LP) as one
    row per requirement, place and day that must give way, and its totals."""
    inst = lp.instance
    T = inst.horizon
    v = lp.vars
    ss = slice(v.s_start, v.u_start)
    el = elastic_lp(lp)
    backend = next(backends_with(EXACT_VERTEX=True), None)  # elastics exactly zero or not
    if backend is None:
        return pa.Table.from_pylist([], schema=INFEASIBILITY_SCHEMA), {
            "explained": False, "reason": "no simplex backend is available"}
    sol = backend.solve(el.lp, SolverOptions(solver=backend.NAME, time_limit=options.time_limit,
                                           threads=options.threads))
    if sol.values is None:
        return pa.Table.from_pylist([], schema=INFEASIBILITY_SCHEMA), {
            "explained": False, "reason": f"elastic solve ended {sol.status}"}
    val = sol.values
    thr = 1e-7
    recs: list[dict] = []
    s_val = val[ss]
    for kind, flats, elastic, bound in (("readiness_floor", el.hard_floor, el.e_floor, v.lb),
                                        ("storage", el.storage, el.e_store, v.ub)):
        for k in np.flatnonzero(val[elastic] > thr):
            f = int(flats[k])
            i, t = divmod(f, T)
            recs.append(dict(requirement=kind, name=f"{inst.pair_label(i)} day {t}",
                             node=inst.node_names[inst.nc_node[i]],
                             commodity=inst.commodities[inst.nc_commodity[i]], day=t,
                             required=float(bound[v.s_start + f]), achievable=float(s_val[f]),
                             violation=float(val[elastic[k]])))
    pairs = lp.block_meta["contract"]["pair"]
    for k, row in enumerate(el.cmin_rows):
        e = val[el.e_cmin[k]]
        if e > thr:
            p = int(pairs[row])
            recs.append(dict(requirement="contract_min", name=inst.supplier_label(p),
                             supplier=inst.supplier_names[inst.sp_supplier[p]],
                             commodity=inst.commodities[inst.sp_commodity[p]],
                             required=float(inst.contract_min[p]),
                             achievable=float(inst.contract_min[p] - e), violation=float(e)))
    if el.e_budget is not None and val[el.e_budget] > thr:
        e = val[el.e_budget]
        recs.append(dict(requirement="budget", name="budget", required=float(inst.budget),
                         achievable=float(inst.budget + e), violation=float(e)))
    table = pa.Table.from_pylist(recs, schema=INFEASIBILITY_SCHEMA)
    totals: dict[str, float] = {}
    for r in recs:
        totals[r["requirement"]] = totals.get(r["requirement"], 0.0) + r["violation"]
    return table, {"explained": True, "total_violation": float(sum(totals.values())),
                   "by_requirement": totals}


# items a planner can act on ------------------------------------------------------
def group_items(inst, table: pa.Table) -> tuple[pa.Table, list[dict]]:
    """Group the per-day rows into items (consecutive days of one requirement at one place),
    largest violation first, each with `why` and `fix`; the table gains the `item` column."""
    n = table.num_rows
    if n == 0:
        return table.append_column("item", pa.array([], pa.int32())), []
    cols = table.to_pydict()
    keys = [(cols["requirement"][j], cols["node"][j], cols["supplier"][j], cols["commodity"][j])
            for j in range(n)]
    order = sorted(range(n), key=lambda j: (tuple("" if v is None else v for v in keys[j]),
                                            -1 if cols["day"][j] is None else cols["day"][j]))
    groups: list[list[int]] = []
    for j in order:
        day = cols["day"][j]
        if groups:
            last = groups[-1][-1]
            prev = cols["day"][last]
            if keys[last] == keys[j] and day is not None and prev is not None and day == prev + 1:
                groups[-1].append(j)
                continue
        groups.append([j])
    items = []
    for g in groups:
        req, node, sup, com = keys[g[0]]
        days = [cols["day"][j] for j in g]
        worst = max(g, key=lambda j: cols["violation"][j])
        item = {"requirement": req, "node": node, "supplier": sup, "commodity": com,
                "first_day": days[0], "last_day": days[-1],
                "violation": float(cols["violation"][worst]),
                "required": float(cols["required"][worst]),
                "achievable": float(min(cols["achievable"][j] for j in g)) if req != "budget"
                else float(cols["achievable"][worst])}
        item["why"], item["fix"] = explain_item(inst, item)
        items.append((item, g))
    items.sort(key=lambda ig: -ig[0]["violation"])
    item_of = np.zeros(n, dtype=np.int32)
    for k, (_, g) in enumerate(items):
        item_of[g] = k
    start = getattr(inst, "start_date", None)
    out = []
    for item, _ in items:
        if start is not None and item["first_day"] is not None:
            import datetime as dt

            from ..outputs import start_date_of
            d0 = start_date_of(inst)
            item["first_date"] = (d0 + dt.timedelta(days=item["first_day"])).isoformat()
            item["last_date"] = (d0 + dt.timedelta(days=item["last_day"])).isoformat()
        out.append(item)
    return table.append_column("item", pa.array(item_of, pa.int32())), out


def _days(a, b) -> str:
    return f"day {a}" if a == b else f"days {a}-{b}"


def _num(v: float) -> str:
    return f"{float(v) + 0.0:,.6g}"  # + 0.0: never "-0"


def explain_item(inst, item: dict) -> tuple[str, str]:
    """(why the requirement cannot hold, what would fix it) for one grouped item."""
    req, v = item["requirement"], item["violation"]
    a, b = item["first_day"], item["last_day"]
    if req == "readiness_floor":
        return _why_floor(inst, item)
    if req == "storage":
        i = _pair(inst, item["node"], item["commodity"])
        init = float(inst.initial_stock[i]) if i is not None else 0.0
        mx = float(inst.max_stock[i]) if i is not None else item["required"]
        pipe = float(inst.pipeline[i, :b + 1].sum()) if i is not None else 0.0
        why = (f"initial stock {_num(init)} and scheduled arrivals {_num(pipe)} by day {b} "
               f"exceed the storage limit {_num(mx)} of {item['node']}/{item['commodity']} on "
               f"{_days(a, b)} even with every unit moved or consumed as early as possible")
        fix = (f"raise max_stock of {item['node']}/{item['commodity']} to at least "
               f"{_num(mx + v)}, or lower its initial stock or scheduled arrivals by {_num(v)}")
        return why, fix
    if req == "contract_min":
        p = _supplier_pair(inst, item["supplier"], item["commodity"])
        reach = _dispatchable(inst, p) if p is not None else 0.0
        label = f"{item['supplier']}/{item['commodity']}"
        if p is not None and reach < item["required"] - 1e-9:
            why = (f"the contract minimum {_num(item['required'])} of {label} exceeds what can be "
                   f"dispatched within the horizon: at most {_num(reach)} (daily capacity on the "
                   "days a lane can still deliver before the horizon ends)")
        else:
            why = (f"taking the contract minimum {_num(item['required'])} of {label} would break "
                   "another hard requirement (the budget or a storage limit)")
        fix = (f"lower contract_min of {label} to {_num(item['achievable'])}, or raise its "
               f"capacity (or storage, budget) so that {_num(v)} more can be taken")
        return why, fix
    if req == "budget":
        need = item["required"] + v
        why = (f"the hard requirements (contract minimums, hard floors) cost at least "
               f"{_num(need)} in procurement, above the budget {_num(item['required'])}")
        fix = (f"raise the budget to at least {_num(need)}, or lower the contract minimums or "
               "make floors soft")
        return why, fix
    return "", ""


def _pair(inst, node, com):
    hit = np.flatnonzero((inst.node_names[inst.nc_node] == node)
                         & (inst.commodities[inst.nc_commodity] == com))
    return int(hit[0]) if len(hit) else None


def _supplier_pair(inst, sup, com):
    hit = np.flatnonzero((inst.supplier_names[inst.sp_supplier] == sup)
                         & (inst.commodities[inst.sp_commodity] == com))
    return int(hit[0]) if len(hit) else None


def _dispatchable(inst, p: int) -> float:
    """Most units supplier pair p can dispatch on days a lane can still arrive by T-1."""
    T = inst.horizon
    lanes = np.flatnonzero(inst.lane_from_supplier & (inst.lane_origin == p))
    lane_cap = np.zeros(T)
    for lane in lanes:
        last = T - 1 - int(inst.lane_lead[lane])
        if last >= 0:
            lane_cap[:last + 1] += inst.lane_capacity[lane]
    return float(np.minimum(inst.capacity[p], lane_cap).sum())


def _why_floor(inst, item) -> tuple[str, str]:
    a, b, v = item["first_day"], item["last_day"], item["violation"]
    node, com = item["node"], item["commodity"]
    i = _pair(inst, node, com)
    label = f"{node}/{com}"
    lower = (f"lower the floor of {label} on {_days(a, b)} to at most "
             f"{_num(max(item['achievable'], 0.0))}, or make it soft (readiness_hard false)")
    if i is None:
        return "", lower
    incoming = np.flatnonzero((inst.lane_dest == i) & (inst.lane_capacity > 0))
    init = float(inst.initial_stock[i])
    if len(incoming) == 0:
        why = (f"no lane delivers {com} to {node}: only its initial stock {_num(init)} and "
               f"scheduled arrivals can hold the floor {_num(item['required'])} on {_days(a, b)}")
        return why, f"{lower}; or add {_num(v)} of initial stock, or a lane into {node}"
    lead = inst.lane_lead[incoming]
    earliest = int(lead.min())
    if a < earliest:
        why = (f"no lane can deliver {com} to {node} before day {earliest} (shortest lead time "
               f"{earliest} days), and initial stock {_num(init)} with scheduled arrivals "
               f"falls short of the floor {_num(item['required'])} on {_days(a, b)} by up to "
               f"{_num(v)}")
        return why, f"{lower}; or add {_num(v)} of initial stock at {node}"
    why = (f"supply and lane capacity that can reach {node} by day {b} (lead times "
           f"{int(lead.min())}-{int(lead.max())} days), less consumption, fall short of the "
           f"floor {_num(item['required'])} on {_days(a, b)} by up to {_num(v)}")
    return why, (f"{lower}; or add {_num(v)} of initial stock at {node}, or raise the capacity "
                 f"(or contracts) of the suppliers and lanes feeding {label} before day {b}")
