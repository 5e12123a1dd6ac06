"""The scenario replay (docs/SCENARIOS.md) vectorised with numpy across scenarios (day loop in Python).

A peer for the numba kernel in benchmarks/bench_evaluate.py: the same model, the same
counter-based draws (the splitmix64 hash and Acklam's inverse normal written with numpy
uint64/float64 arrays), so its KPIs agree with the kernel's to rounding (sums run in
another order). Memory: O(scenarios x (pairs x ring + entries of one day)).
"""

from __future__ import annotations

import numpy as np

from optimiser import kpis
from optimiser.kpis import N_KPI
from optimiser.scenarios import rng
from optimiser.scenarios.arrays import ReplayArrays
from optimiser.scenarios.kernels import COUNT_TOL
from optimiser.scenarios.params import ScenarioParams

_U = np.uint64


def _mix(z):
    z = (z ^ (z >> _U(30))) * rng.M1
    z = (z ^ (z >> _U(27))) * rng.M2
    return z ^ (z >> _U(31))


def _keys(seed, start, n):
    sc = np.arange(start, start + n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return _mix(_mix(np.uint64(seed) ^ rng.SALT) + rng.GAMMA2 * (sc + _U(1)))


def _bits(keys, stream, entity, day):
    """keys [n] x entity [m] -> bits [n, m]."""
    c = (_U(stream) << _U(56)) | (np.asarray(entity, dtype=np.uint64) << _U(24)) | _U(day)
    with np.errstate(over="ignore"):
        return _mix(keys[:, None] + rng.GAMMA * c[None, :])


def _u53(b):
    return ((b >> _U(11)).astype(np.float64) + 0.5) * rng.TWO_M53


def _ppf(p):
    a = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
         1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
    b = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
         6.680131188771972e+01, -1.328068155288572e+01)
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
         -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
         3.754408661907416e+00)
    q = p - 0.5
    r = q * q
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
         / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0))
    lo, hi = p < 0.02425, p > 0.97575
    if lo.any() or hi.any():
        t = np.where(lo, p, 1.0 - p)
        qq = np.sqrt(-2.0 * np.log(np.where(lo | hi, t, 0.5)))
        tail = ((((((c[0] * qq + c[1]) * qq + c[2]) * qq + c[3]) * qq + c[4]) * qq + c[5])
                / ((((d[0] * qq + d[1]) * qq + d[2]) * qq + d[3]) * qq + 1.0))
        x = np.where(lo, tail, np.where(hi, -tail, x))
    return x


def replay_numpy(a: ReplayArrays, p: ScenarioParams, seed: int, start: int, n: int) -> np.ndarray:
    """KPIs [n, N_KPI] of scenarios start..start+n-1 (columns as KPI_NAMES)."""
    T, I = a.T, a.n_pairs
    R = a.max_lead + p.delay_max_days + 1
    keys = _keys(seed, start, n)
    stock = np.repeat(a.init[None, :], n, axis=0)
    ring = np.zeros((n, R, I))
    z = np.zeros((n, I))
    outage_left = np.zeros((n, a.n_suppliers), dtype=np.int64)
    surge_left = np.zeros((n, a.n_nodes), dtype=np.int64)
    k = np.zeros((n, N_KPI))
    min_ratio = np.full(n, np.inf)
    dem_pairs = np.flatnonzero(a.pair_has_demand)
    sq = np.sqrt(1 - p.demand_phi ** 2)
    any_floor = (a.floor > 0).any()

    def ship(lanes, t, q, slot0):  # q [n, E]
        delay = np.zeros(q.shape, dtype=np.int64)
        alive = q > 0
        if p.shipment_noise:
            b = _bits(keys, rng.STREAM_SHIP, lanes, t)
            lost = ((b >> _U(32)).astype(np.float64) + 0.5) * rng.TWO_M32 < p.loss_prob
            late = ~lost & (((b & rng.LO32).astype(np.float64) + 0.5) * rng.TWO_M32 < p.delay_prob)
            if late.any():
                dd = 1 + (_u53(_bits(keys, rng.STREAM_DELAY, lanes, t)) * p.delay_max_days).astype(np.int64)
                delay = np.where(late, np.minimum(dd, p.delay_max_days), 0)
            alive &= ~lost
        off = a.lane_lead[lanes][None, :] + delay
        alive &= t + off < T
        r_, e_ = np.nonzero(alive)
        np.add.at(ring, (r_, (slot0 + off[r_, e_]) % R, a.lane_dest[lanes][e_]), q[r_, e_])

    for t in range(T):
        slot0 = t % R
        if p.outages:
            draw = _u53(_bits(keys, rng.STREAM_OUTAGE, np.arange(a.n_suppliers), t)) < p.outage_prob
            outage_left = np.where((outage_left == 0) & draw, p.outage_days, outage_left)
        if p.surges:
            draw = _u53(_bits(keys, rng.STREAM_SURGE, np.arange(a.n_nodes), t)) < p.surge_prob
            surge_left = np.where((surge_left == 0) & draw, p.surge_days, surge_left)
        # 1. suppliers
        e0, e1 = a.sup_ptr[t], a.sup_ptr[t + 1]
        if e1 > e0:
            lanes = a.sup_lane[e0:e1]
            q = np.repeat(a.sup_q[e0:e1][None, :], n, axis=0)
            if p.outages:
                q = np.where(outage_left[:, a.lane_supplier[lanes]] > 0, 0.0, q)
            k[:, kpis.K_COST] += q @ a.lane_unit[lanes]
            ship(lanes, t, q, slot0)
        # 2-3. arrivals, consumption
        st = stock + (ring[:, slot0, :] + a.pipeline[t][None, :])
        ring[:, slot0, :] = 0.0
        d = np.repeat(a.demand[t][None, :], n, axis=0)
        if p.demand_noise and len(dem_pairs):
            e = _ppf(_u53(_bits(keys, rng.STREAM_DEMAND, dem_pairs, t)))
            z[:, dem_pairs] = e if t == 0 else p.demand_phi * z[:, dem_pairs] + sq * e
            d[:, dem_pairs] *= np.exp(p.demand_sigma * z[:, dem_pairs] - 0.5 * p.demand_sigma ** 2)
        if p.surges:
            d *= np.where(surge_left[:, a.pair_node] > 0, p.surge_multiplier, 1.0)
        target = np.maximum(d - a.unmet_plan[t][None, :], 0.0)
        met = np.minimum(st, target)
        unmet = d - met
        stock = st - met
        k[:, kpis.K_DEMAND] += d.sum(1)
        k[:, kpis.K_UNMET] += unmet.sum(1)
        k[:, kpis.K_COST] += unmet @ a.short_pen
        k[:, kpis.K_SHORTFALL_DAYS] += (unmet > COUNT_TOL * np.maximum(1.0, a.demand[t])[None, :]).any(1)
        # 4. node dispatches
        g0, g1 = a.grp_ptr[t], a.grp_ptr[t + 1]
        if g1 > g0:
            gp, tot = a.grp_pair[g0:g1], a.grp_total[g0:g1]
            s_g = stock[:, gp]
            ok = tot[None, :] <= s_g
            scale = np.where(ok, 1.0, s_g / tot[None, :])
            stock[:, gp] = np.where(ok, s_g - tot[None, :], 0.0)
            e0, e1 = a.grp_start[g0], a.grp_start[g1]
            gid = np.repeat(np.arange(g1 - g0), np.diff(a.grp_start[g0:g1 + 1]))
            lanes = a.node_lane[e0:e1]
            q = a.node_q[e0:e1][None, :] * scale[:, gid]
            k[:, kpis.K_COST] += q @ a.lane_unit[lanes]
            ship(lanes, t, q, slot0)
        # 5. end of day
        f = a.floor[t]
        k[:, kpis.K_COST] += stock @ a.hold
        below = np.where(f[None, :] > 0, np.maximum(f[None, :] - stock, 0.0), 0.0)
        k[:, kpis.K_BELOW_FLOOR] += below.sum(1)
        k[:, kpis.K_COST] += below @ a.ready_pen
        k[:, kpis.K_BREACH_DAYS] += (below > COUNT_TOL * np.maximum(1.0, f)[None, :]).any(1)
        if (f > 0).any():
            min_ratio = np.minimum(min_ratio, (stock[:, f > 0] / f[f > 0]).min(1))
        outage_left = np.maximum(outage_left - 1, 0)
        surge_left = np.maximum(surge_left - 1, 0)
    dem = k[:, kpis.K_DEMAND]
    k[:, kpis.K_FILL_RATE] = np.where(dem > 0, 1.0 - k[:, kpis.K_UNMET] / np.where(dem > 0, dem, 1.0), 1.0)
    k[:, kpis.K_MIN_FLOOR_RATIO] = min_ratio if any_floor else np.nan
    return k
