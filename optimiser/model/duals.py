"""Duals checked by the KKT conditions, and turned into shadow prices.

Convention (GLOP's, and highspy's): c = A^T y + d. For a minimisation, y_i >= 0
when row i sits at its lower bound, <= 0 at its upper bound; d_j >= 0 when
variable j sits at its lower bound, <= 0 at its upper bound. Reduced costs are
recomputed from y here rather than taken from the solver.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..outputs import SHADOW_PRICES
from .build import LP


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """sum a*b by numpy's own (pairwise) summation, not BLAS: on vectors of tens of
    thousands OpenBLAS's dot starts threads, which on a loaded 2-core machine measured
    4-8 ms CPU (20 ms wall) against 0.06 ms for this, per call."""
    return float(np.multiply(a, b).sum())


@dataclass(frozen=True)
class KKTReport:
    ok: bool
    primal_residual: float  # worst row/bound violation, relative
    dual_sign: float  # worst wrong-signed multiplier, relative to max |c|
    complementarity: float  # worst |multiplier| x slack, relative
    gap: float  # |primal - dual objective| / max(1, |primal|)

    def as_dict(self) -> dict:
        return {"ok": self.ok, "primal_residual": self.primal_residual,
                "dual_sign": self.dual_sign, "complementarity": self.complementarity,
                "gap": self.gap}


def kkt_check(lp: LP, v: np.ndarray, y: np.ndarray, tol: float = 1e-6,
              primal_tol: float | None = None) -> KKTReport:
    """primal_tol: looser bound on the primal residual for first-order solvers (PDLP),
    whose plans are repaired and verified separately by the checker."""
    c, lb, ub = lp.vars.cost, lp.vars.lb, lp.vars.ub
    lo, hi = lp.row_lo, lp.row_hi
    A = getattr(lp, "csr", None) or lp.A  # any LP-like object with a matrix A works
    act = A @ v
    # which bounds are finite, and the bounds with 0 for infinite ones: once each
    flo, fhi, flb, fub = np.isfinite(lo), np.isfinite(hi), np.isfinite(lb), np.isfinite(ub)
    lo0, hi0 = np.where(flo, lo, 0.0), np.where(fhi, hi, 0.0)
    lb0, ub0 = np.where(flb, lb, 0.0), np.where(fub, ub, 0.0)
    scale_c = max(1.0, float(np.abs(c).max(initial=0.0)))
    rscale = 1.0 + np.maximum(np.abs(lo0), np.abs(hi0))
    primal = max(float(np.max(np.maximum(lo - act, 0) / rscale, initial=0.0)),
                 float(np.max(np.maximum(act - hi, 0) / rscale, initial=0.0)),
                 float(np.max(np.maximum(lb - v, 0) / (1 + np.abs(lb)), initial=0.0)),
                 float(np.max(np.maximum(v - np.where(fub, ub, np.inf), 0)
                              / (1 + np.abs(ub0)), initial=0.0)))
    d = c - A.T @ y
    ypos, dpos = y > 0, d > 0
    # sign: a positive multiplier needs a finite lower bound, a negative one a finite upper
    bad_y = np.where(ypos, np.where(flo, 0, y), np.where(fhi, 0, -y))
    bad_d = np.where(dpos, np.where(flb, 0, d), np.where(fub, 0, -d))
    dual_sign = max(float(np.max(bad_y, initial=0)), float(np.max(bad_d, initial=0))) / scale_c
    # complementarity: multiplier x distance to the bound it leans on
    slack_y = np.where(ypos, act - np.where(flo, lo, act), np.where(fhi, hi, act) - act)
    slack_d = np.where(dpos, v - np.where(flb, lb, v), np.where(fub, ub, v) - v)
    primal_obj = dot(c, v)
    denom = max(1.0, abs(primal_obj))
    comp = max(float(np.max(np.abs(y * slack_y), initial=0)),
               float(np.max(np.abs(d * slack_d), initial=0))) / denom
    dual_obj = float(np.sum(np.where(ypos, y * lo0, y * hi0))
                     + np.sum(np.where(dpos, d * lb0, d * ub0)))
    gap = abs(primal_obj - dual_obj) / denom
    ok = primal <= (tol if primal_tol is None else primal_tol) and dual_sign <= tol and comp <= tol and gap <= tol
    return KKTReport(ok, primal, dual_sign, comp, gap)


def shadow_prices(lp: LP, v: np.ndarray, y: np.ndarray, rel: float = 1e-9) -> pa.Table:
    """The constraints that limit the plan and what one more unit of each is worth.

    value = how much the objective falls if the limit is relaxed by one unit
    (capacity, max or budget raised; contract minimum lowered). Only value > 0 rows.
    """
    inst = lp.instance
    T = inst.horizon
    d = lp.vars.cost - lp.csr.T @ y
    act = lp.csr @ v
    thr = rel * max(1.0, float(np.abs(lp.vars.cost).max(initial=0.0)))
    parts: list[dict] = []

    def add(kind, name, value, limit, used, **cols):
        parts.append({"constraint": kind, "name": name, "value": value, "limit": limit,
                      "used": used, **cols})

    # supplier capacity rows (p, t)
    sl = lp.blocks["supplier_capacity"]
    meta = lp.block_meta["supplier_capacity"]
    val = -y[sl]
    k = np.flatnonzero(val > thr)
    p, day = meta["pair"][k], meta["day"][k]
    add("supplier_capacity", _names(inst.supplier_labels[p], " day ", day),
        val[k], lp.row_hi[sl][k], act[sl][k],
        supplier=inst.supplier_names[inst.sp_supplier[p]],
        commodity=inst.commodities[inst.sp_commodity[p]], day=day)
    # lane capacity: upper bounds of x
    nx = lp.vars.nx
    dx = -d[:nx]
    k = np.flatnonzero((dx > thr) & np.isfinite(lp.vars.ub[:nx]))
    lane, day = lp.vars.x_lane[k], lp.vars.x_day[k]
    add("lane_capacity", _names(inst.lane_labels[lane], " day ", day),
        dx[k], lp.vars.ub[k], v[k], origin=inst.lane_origin_name[lane],
        destination=inst.lane_dest_name[lane], commodity=inst.commodities[inst.lane_commodity[lane]],
        mode=inst.lane_mode[lane], day=day)
    # contracts
    sl = lp.blocks["contract"]
    pairs = lp.block_meta["contract"]["pair"]
    yc = y[sl]
    for kind, sel, value, limit in (("contract_max", yc < -thr, -yc, lp.row_hi[sl]),
                                    ("contract_min", yc > thr, yc, lp.row_lo[sl])):
        k = np.flatnonzero(sel)
        p = pairs[k]
        add(kind, inst.supplier_labels[p],
            value[k], limit[k], act[sl][k], supplier=inst.supplier_names[inst.sp_supplier[p]],
            commodity=inst.commodities[inst.sp_commodity[p]])
    # budget
    sl = lp.blocks["budget"]
    if sl.stop > sl.start and -y[sl.start] > thr:
        add("budget", pa.array(["budget"]), np.array([-y[sl.start]]),
            lp.row_hi[sl], act[sl])
    # storage (max_stock) and hard floors: bounds of s
    ss = slice(lp.vars.s_start, lp.vars.u_start)
    ds = d[ss]
    for kind, sel, value, limit in (
            ("storage", (-ds > thr) & np.isfinite(lp.vars.ub[ss]), -ds, lp.vars.ub[ss]),
            ("readiness_floor", (ds > thr) & (lp.vars.lb[ss] > 0), ds, lp.vars.lb[ss])):
        k = np.flatnonzero(sel)
        i, day = k // T, k % T
        add(kind, _names(inst.pair_labels[i], " day ", day),
            value[k], limit[k], v[ss][k], node=inst.node_names[inst.nc_node[i]],
            commodity=inst.commodities[inst.nc_commodity[i]], day=day)
    return _to_table(parts)


SHADOW_SCHEMA = SHADOW_PRICES.schema


def _names(prefix: np.ndarray, sep: str, day: np.ndarray) -> pa.Array:
    """prefix + sep + day, built by Arrow (no fixed-width numpy strings)."""
    if len(prefix) == 0:
        return pa.array([], pa.string())
    return pc.binary_join_element_wise(pa.array(prefix, pa.string()),
                                       pa.array(np.asarray(day, dtype=np.int64)).cast(pa.string()),
                                       sep)


def _to_table(parts: list[dict]) -> pa.Table:
    cols = {f.name: [] for f in SHADOW_SCHEMA}
    for part in parts:
        n = len(part["value"])
        if n == 0:
            continue
        for f in SHADOW_SCHEMA:
            val = part.get(f.name)
            if val is None:
                cols[f.name].append(pa.nulls(n, f.type))
            else:
                if isinstance(val, (pa.Array, pa.ChunkedArray)):
                    cols[f.name].append(val.cast(f.type))
                    continue
                if np.ndim(val) == 0:
                    val = [val] * n
                cols[f.name].append(pa.array(np.asarray(val, dtype=object) if f.type == pa.string()
                                             else np.asarray(val), type=f.type))
    arrays = [pa.concat_arrays(c) if c else pa.array([], type=f.type)
              for f, c in zip(SHADOW_SCHEMA, cols.values())]
    t = pa.Table.from_arrays(arrays, schema=SHADOW_SCHEMA)
    if t.num_rows:
        t = t.sort_by([("value", "descending")])
    return t
