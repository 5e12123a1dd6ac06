"""Synthetic instances of any size (``optimiser generate``), fully vectorised.

The network has three tiers: suppliers -> depots -> consumers. About a third of
the nodes are depots: they hold stock of every commodity at readiness floors
(soft), some with storage limits, some with per-day floor overrides and
pipeline arrivals. The rest are consumers with noisy daily demand for a subset
of the commodities. Each (supplier, commodity) may ship only to a few depots
(end-user restrictions), by sea (long lead, cheap, no lane limit) and often
also by air (short lead, dear, small lane capacity). Depots feed each other and
the consumers by road (lead >= 1). Some suppliers ramp up their capacity over
the first weeks (capacity rows), some have contract minimums/maximums.

Capacity is sized so that most demand can be covered and floors are soft, so
the LP solves to optimal. Every random draw comes from one
``numpy.random.Generator(PCG64(seed))`` in a fixed order and tables are written
deterministically: the same arguments give the same bytes.

There is no Python loop over rows or days; only name lists (one per entity)
are built in Python.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

import numpy as np
import pyarrow as pa

from ._atomic import atomic_dir
from .errors import UsageError
from .io import write_instance_tables
from .memory import available_bytes, fmt_bytes
from .schema import BUDGET_LIMIT, FORMAT_NAME, FORMAT_VERSION, MAX_HORIZON_DAYS, TABLES_BY_NAME

__all__ = ["generate_instance", "write_generated", "estimate_variables"]


def _names(prefix: str, n: int) -> pa.Array:
    width = max(2, len(str(max(n - 1, 0))))
    return pa.array([f"{prefix}{i:0{width}d}" for i in range(n)], type=pa.string())


def _table(name: str, cols: dict[str, object]) -> pa.Table:
    """A table in the declared Arrow types, columns in declared order."""
    decl = TABLES_BY_NAME[name]
    fields, arrays = [], []
    for c in decl.columns:
        if c.name in cols:
            v = cols[c.name]
            arrays.append(v if isinstance(v, pa.Array) else pa.array(v, type=c.arrow_type))
            fields.append(pa.field(c.name, c.arrow_type, nullable=c.nullable))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _nullable(values: np.ndarray, present: np.ndarray) -> pa.Array:
    return pa.array(values, type=pa.float64(), mask=~present)


def _pick(rng: np.random.Generator, rows: int, cols: int, count: np.ndarray) -> np.ndarray:
    """Boolean [rows, cols]: in each row, `count[r]` distinct random columns are True."""
    if cols == 0:
        return np.zeros((rows, 0), dtype=bool)
    rank = np.argsort(np.argsort(rng.random((rows, cols)), axis=1), axis=1)
    return rank < np.minimum(count, cols)[:, None]


def _start_date(start_date) -> str | None:
    if start_date is None:
        return None
    if isinstance(start_date, _dt.date):
        return start_date.isoformat()
    try:
        return _dt.date.fromisoformat(str(start_date)).isoformat()
    except ValueError:
        raise UsageError("{start_date}: give an ISO 8601 date such as 2026-12-01",
                         start_date=start_date) from None


def generate_instance(suppliers: int, nodes: int, commodities: int, days: int, seed: int = 0,
                      budget: float | None = None, name: str | None = None,
                      start_date: str | _dt.date | None = None
                      ) -> tuple[dict, dict[str, pa.Table]]:
    """A synthetic instance as (instance.json dict, {table name: pa.Table}).

    Deterministic in its arguments. `start_date` (optional) is written to instance.json;
    the tables keep their day columns. Raises UsageError for sizes < 1, a horizon above
    MAX_HORIZON_DAYS, a negative seed, or sizes whose arrays exceed the memory available.
    """
    for label, v in (("suppliers", suppliers), ("nodes", nodes), ("commodities", commodities),
                     ("days", days)):
        if not isinstance(v, int | np.integer) or v < 1:
            raise UsageError(f"{{{label}}}: must be an integer >= 1", **{label: v})
    if days > MAX_HORIZON_DAYS:
        raise UsageError(f"{{days}}: must be at most {MAX_HORIZON_DAYS:,}", days=days)
    if not isinstance(seed, int | np.integer) or not 0 <= seed < 2**128:
        raise UsageError("{seed}: must be an integer from 0 to 2**128 - 1", seed=seed)
    if budget is not None and (not np.isfinite(budget) or budget < 0 or budget > BUDGET_LIMIT):
        raise UsageError(f"{{budget}}: must be a finite number from 0 to {BUDGET_LIMIT:g}",
                         budget=budget)
    start_iso = _start_date(start_date)
    S, N, K, T = int(suppliers), int(nodes), int(commodities), int(days)
    # the generator's largest arrays: demand noise [consumers x commodities, T] (a few
    # float64 copies), floors [depots x commodities, T], capacity ramps [S x K, T]
    need = 8 * 6 * T * (N + S) * K
    if need > available_bytes():
        raise UsageError(f"generating {S:,} suppliers x {N:,} nodes x {K:,} commodities x {T:,} "
                         f"days needs about {fmt_bytes(need)}, more than the "
                         f"{fmt_bytes(available_bytes())} of memory available; choose smaller sizes")
    rng = np.random.default_rng(np.random.PCG64(seed))

    D = max(1, round(N / 3)) if N > 1 else 1  # depots
    C = N - D  # consumers (0 when N == 1: the only depot also consumes)
    k_names = _names("K", K)
    s_names = _names("S", S)
    d_names = _names("D", D)
    c_names = _names("C", C)
    node_names = pa.concat_arrays([d_names, c_names])

    # commodity economics: base price and a typical daily consumption per consumer
    base_price = rng.uniform(5.0, 500.0, K)
    base_rate = rng.uniform(20.0, 400.0, K)

    # --- consumers x commodities: which are consumed, mean daily demand --------------
    n_cons = max(C, 1)
    consumes = rng.random((n_cons, K)) < 0.7
    consumes[np.arange(n_cons), rng.integers(0, K, n_cons)] = True  # at least one each
    mean_rate = base_rate[None, :] * rng.lognormal(0.0, 0.5, (n_cons, K))
    cons_i, cons_k = np.nonzero(consumes)  # row-major: deterministic order
    cons_rate = mean_rate[cons_i, cons_k]
    total_rate = np.bincount(cons_k, weights=cons_rate, minlength=K)  # per commodity

    # --- daily demand: mean x weekly wave x lognormal noise, some quiet days ---------
    t = np.arange(T)
    wave = 1.0 + 0.15 * np.sin(2 * np.pi * (t[None, :] + rng.integers(0, 7, (len(cons_i), 1))) / 7)
    dem = cons_rate[:, None] * wave * rng.lognormal(-0.045, 0.3, (len(cons_i), T))
    dem[rng.random(dem.shape) < 0.05] = 0.0
    dem = np.round(dem)
    dr, dday = np.nonzero(dem > 0)

    # --- depots: floors of ~5-10 days of their share of consumption ------------------
    share = total_rate[None, :] / D * rng.uniform(0.6, 1.4, (D, K))
    depot_floor = np.round(share * rng.uniform(5.0, 10.0, (D, K)))
    depot_init = np.round(depot_floor * rng.uniform(1.0, 1.6, (D, K)) + share * 7)
    has_max = rng.random((D, K)) < 0.3
    depot_max = np.round(np.maximum(depot_floor * 1.6, depot_init) + share * 20)
    floor_bump = rng.uniform(1.1, 1.5, (D, K))

    # nodes table: depots (all commodities), then consumers (their commodities)
    dep_i = np.repeat(np.arange(D), K)
    dep_k = np.tile(np.arange(K), D)
    node_idx = np.concatenate([dep_i, D + cons_i]) if C else dep_i
    node_k = np.concatenate([dep_k, cons_k]) if C else dep_k
    price_of = base_price[node_k]
    initial = np.concatenate([depot_init.ravel(), np.round(cons_rate * rng.uniform(0, 2, len(cons_i)))]) \
        if C else depot_init.ravel()
    floor_col = np.concatenate([depot_floor.ravel(), np.zeros(len(cons_i))]) if C else depot_floor.ravel()
    max_present = np.concatenate([has_max.ravel(), np.zeros(len(cons_i), bool)]) if C else has_max.ravel()
    max_col = np.concatenate([depot_max.ravel(), np.zeros(len(cons_i))]) if C else depot_max.ravel()
    nodes_t = _table("nodes", {
        "node": node_names.take(pa.array(node_idx)),
        "commodity": k_names.take(pa.array(node_k)),
        "initial_stock": initial,
        "floor": floor_col,
        "max_stock": _nullable(max_col, max_present),
        "holding_cost": np.round(price_of * rng.uniform(0.0005, 0.002, len(node_k)), 4),
        "shortfall_penalty": np.round(price_of * 50.0, 2),
        "readiness_penalty": np.round(price_of * 2.0, 2),
        "readiness_hard": np.zeros(len(node_k), dtype=bool),
    })
    # --- demand rows ---------------------------------------------------------------
    dem_node_idx = (D + cons_i[dr]) if C else np.zeros(len(dr), dtype=np.int64)  # C == 0: the depot
    demand_t = _table("demand", {
        "node": node_names.take(pa.array(dem_node_idx)),
        "commodity": k_names.take(pa.array(cons_k[dr])),
        "day": dday.astype(np.int32),
        "quantity": dem[dr, dday],
    })

    # --- floors overrides: a period of raised readiness at some depots -------------
    raised = rng.random((D, K)) < 0.2
    start = rng.integers(0, T, (D, K))
    length = rng.integers(1, max(2, T // 4 + 1), (D, K))
    in_period = (t[None, None, :] >= start[..., None]) & (t[None, None, :] < (start + length)[..., None])
    fmask = raised[..., None] & in_period
    fd, fk, ft = np.nonzero(fmask)
    fval = np.round(depot_floor[fd, fk] * floor_bump[fd, fk])
    fval = np.where(has_max[fd, fk], np.minimum(fval, depot_max[fd, fk]), fval)
    floors_t = _table("floors", {
        "node": d_names.take(pa.array(fd)), "commodity": k_names.take(pa.array(fk)),
        "day": ft.astype(np.int32), "floor": fval,
    })

    # --- pipeline: arrivals already under way at some depots in the first weeks ----
    pmask = (rng.random((D, K, T)) < 0.04) & (t[None, None, :] < max(1, T // 3))
    pd_, pk, pt = np.nonzero(pmask)
    pipeline_t = _table("pipeline", {
        "node": d_names.take(pa.array(pd_)), "commodity": k_names.take(pa.array(pk)),
        "day": pt.astype(np.int32),
        "quantity": np.round(share[pd_, pk] * rng.uniform(1.0, 5.0, len(pd_))),
    })

    # --- suppliers: each sells some commodities; capacity ~1.5x consumption -------
    sells = rng.random((S, K)) < 0.6
    sells[rng.integers(0, S, K), np.arange(K)] = True  # every commodity has a seller
    sells[np.arange(S), rng.integers(0, K, S)] = True  # every supplier sells something
    sp_s, sp_k = np.nonzero(sells)
    P = len(sp_s)
    weight = rng.uniform(0.5, 1.5, P)
    wsum = np.bincount(sp_k, weights=weight, minlength=K)
    cap = np.round(1.5 * total_rate[sp_k] * weight / wsum[sp_k] + 1.0)
    price = np.round(base_price[sp_k] * rng.lognormal(0.0, 0.2, P), 2)
    has_cmax = rng.random(P) < 0.3
    cmax = np.round(cap * T * rng.uniform(0.3, 0.8, P))
    has_cmin = rng.random(P) < 0.15
    sea_lead_max = max(1, min(30, T // 3))
    cmin = np.where(has_cmin, np.round(cap * max(T - sea_lead_max, 0) * rng.uniform(0.02, 0.1, P)), 0.0)
    cmin = np.where(has_cmax, np.minimum(cmin, cmax), cmin)
    suppliers_t = _table("suppliers", {
        "supplier": s_names.take(pa.array(sp_s)), "commodity": k_names.take(pa.array(sp_k)),
        "unit_price": price, "daily_capacity": cap,
        "contract_min": cmin, "contract_max": _nullable(cmax, has_cmax),
    })

    # --- capacity ramp-ups: some pairs start at 20-60% and reach full capacity ----
    ramps = rng.random(P) < 0.4
    ramp_days = rng.integers(1, max(2, min(60, T // 2) + 1), P)
    ramp_from = rng.uniform(0.2, 0.6, P)
    cmask = ramps[:, None] & (t[None, :] < ramp_days[:, None])
    cp, ct = np.nonzero(cmask)
    cval = np.floor(cap[cp] * (ramp_from[cp] + (1 - ramp_from[cp]) * ct / ramp_days[cp]))
    capacity_t = _table("capacity", {
        "supplier": s_names.take(pa.array(sp_s[cp])), "commodity": k_names.take(pa.array(sp_k[cp])),
        "day": ct.astype(np.int32), "capacity": cval,
    })

    # --- lanes ----------------------------------------------------------------------
    # supplier -> depots (end-user restriction: each pair ships to 1..4 depots)
    allowed = _pick(rng, P, D, rng.integers(1, 5, P))
    lp, ld = np.nonzero(allowed)
    n_sd = len(lp)
    sea_lead = rng.integers(max(1, sea_lead_max // 2), sea_lead_max + 1, n_sd)
    air = rng.random(n_sd) < 0.5
    air_lead = rng.integers(1, 4, n_sd)
    air_lead = np.minimum(air_lead, np.maximum(sea_lead - 1, 0))
    sea_cost = np.round(base_price[sp_k[lp]] * rng.uniform(0.01, 0.04, n_sd), 4)
    air_cost = np.round(base_price[sp_k[lp]] * rng.uniform(0.15, 0.4, n_sd), 4)
    air_cap = np.round(cap[lp] * rng.uniform(0.05, 0.2, n_sd) + 1.0)
    ai = np.flatnonzero(air)
    # depot -> depot: each depot sends every commodity to 1..2 other depots
    if D > 1:
        dd = _pick(rng, D, D - 1, rng.integers(1, 3, D))
        dd_o, dd_j = np.nonzero(dd)
        dd_d = dd_j + (dd_j >= dd_o)  # skip self
    else:
        dd_o = dd_d = np.zeros(0, dtype=np.int64)
    dd_o_r, dd_d_r = np.repeat(dd_o, K), np.repeat(dd_d, K)
    dd_k = np.tile(np.arange(K), len(dd_o))
    n_dd = len(dd_k)
    # depot -> consumer: each consumer is served by 1..2 depots, for what it consumes
    if C:
        serve = _pick(rng, C, D, rng.integers(1, 3, C))  # [C, D]
        sv_c, sv_d = np.nonzero(serve[cons_i])  # per consumer row
        dc_o = sv_d
        dc_c = cons_i[sv_c]
        dc_k = cons_k[sv_c]
        dc_rate = cons_rate[sv_c]
    else:
        dc_o = dc_c = dc_k = np.zeros(0, dtype=np.int64)
        dc_rate = np.zeros(0)
    n_dc = len(dc_o)

    origin = pa.concat_arrays([
        s_names.take(pa.array(sp_s[lp])), s_names.take(pa.array(sp_s[lp[ai]])),
        d_names.take(pa.array(dd_o_r)), d_names.take(pa.array(dc_o))])
    destination = pa.concat_arrays([
        d_names.take(pa.array(ld)), d_names.take(pa.array(ld[ai])),
        d_names.take(pa.array(dd_d_r)), c_names.take(pa.array(dc_c))])
    commodity = k_names.take(pa.array(np.concatenate([sp_k[lp], sp_k[lp[ai]], dd_k, dc_k])))
    n_air = len(ai)
    mode = pa.DictionaryArray.from_arrays(
            pa.array(np.repeat(np.arange(4, dtype=np.int8), [n_sd, n_air, n_dd, n_dc])),
            pa.array(["sea", "air", "road", "road"])).cast(pa.string())
    road_lead_dd = rng.integers(1, 4, n_dd)
    road_lead_dc = rng.integers(1, 3, n_dc)
    lead = np.concatenate([sea_lead, air_lead[ai], road_lead_dd, road_lead_dc]).astype(np.int32)
    road_cost_dd = np.round(base_price[dd_k] * rng.uniform(0.005, 0.02, n_dd), 4)
    road_cost_dc = np.round(base_price[dc_k] * rng.uniform(0.005, 0.02, n_dc), 4)
    unit_cost = np.concatenate([sea_cost, air_cost[ai], road_cost_dd, road_cost_dc])
    dd_cap = np.round(total_rate[dd_k] / D * rng.uniform(0.5, 1.5, n_dd) + 1.0)
    dc_cap = np.round(dc_rate * rng.uniform(3.0, 5.0, n_dc))
    dc_has_cap = rng.random(n_dc) < 0.5
    lane_cap = np.concatenate([np.zeros(n_sd), air_cap[ai], dd_cap, dc_cap])
    lane_cap_present = np.concatenate([np.zeros(n_sd, bool), np.ones(n_air, bool),
                                       np.ones(n_dd, bool), dc_has_cap])
    lanes_t = _table("lanes", {
        "origin": origin, "destination": destination, "commodity": commodity, "mode": mode,
        "lead_time_days": lead, "unit_cost": unit_cost,
        "daily_capacity": _nullable(lane_cap, lane_cap_present),
    })

    meta = {
        "format": FORMAT_NAME, "version": FORMAT_VERSION,
        "name": name or f"generated-s{S}-n{N}-k{K}-t{T}-seed{seed}",
        "horizon_days": T,
        "budget": None if budget is None else float(budget),
        **({"start_date": start_iso} if start_iso else {}),
        "description": (f"synthetic instance: {S} suppliers, {D} depots, {C} consumers, "
                        f"{K} commodities, {T} days, seed {seed} (optimiser generate)"),
    }
    tables = {"suppliers": suppliers_t, "nodes": nodes_t, "lanes": lanes_t, "demand": demand_t,
              "capacity": capacity_t, "floors": floors_t, "pipeline": pipeline_t}
    return meta, tables


def estimate_variables(meta: dict, tables: dict[str, pa.Table]) -> int:
    """LP variable count (docs/MODEL.md) from the tables (no Instance needed):
    sum over lanes of max(0, T - lead) + I*T + #(demand > 0) + #(floor > 0, soft)."""
    import pyarrow.compute as pc

    T = int(meta["horizon_days"])
    lead = tables["lanes"].column("lead_time_days").to_numpy()
    n = int(np.maximum(T - lead.astype(np.int64), 0).sum())
    nodes = tables["nodes"]
    n += nodes.num_rows * T
    d = tables.get("demand")
    if d is not None:
        n += int(pc.sum(pc.greater(d.column("quantity"), 0)).as_py() or 0)
    floor = np.repeat(nodes.column("floor").to_numpy()[:, None], T, axis=1)
    f = tables.get("floors")
    if f is not None and f.num_rows:
        key_n = pc.binary_join_element_wise(nodes.column("node"), nodes.column("commodity"), "\x00")
        key_f = pc.binary_join_element_wise(f.column("node"), f.column("commodity"), "\x00")
        rows = pc.index_in(key_f, key_n).to_numpy()
        floor[rows, f.column("day").to_numpy()] = f.column("floor").to_numpy()
    hard = nodes.column("readiness_hard").to_numpy(zero_copy_only=False) \
        if "readiness_hard" in nodes.column_names else np.zeros(nodes.num_rows, bool)
    n += int(((floor > 0) & ~hard[:, None]).sum())
    return n


def write_generated(out: str | os.PathLike, suppliers: int, nodes: int, commodities: int,
                    days: int, seed: int = 0, budget: float | None = None, fmt: str = "arrow",
                    force: bool = False, name: str | None = None,
                    start_date: str | _dt.date | None = None) -> tuple[dict, dict[str, pa.Table]]:
    """Generate and write an instance directory atomically. Returns (meta, tables)."""
    if fmt not in ("arrow", "parquet"):
        raise UsageError("{fmt}: choose arrow or parquet", fmt=fmt)
    meta, tables = generate_instance(suppliers, nodes, commodities, days, seed, budget, name,
                                     start_date)
    with atomic_dir(Path(out), force=force) as tmp:
        write_instance_tables(meta, tables, tmp, fmt)
    return meta, tables
