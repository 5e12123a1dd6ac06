"""Numba kernels of scenario evaluation (SPEC section 5). Arrays and scalars in,
arrays out; validation and bookkeeping live in the Python wrappers.

`replay_kernel` replays scenarios start..start+n-1 of a plan, one scenario per
`prange` iteration, each on its own small scratch (stock [I], an arrival ring
[R, I] with R = longest lead + delay_max_days + 1, AR(1) state [I], surge and
outage counters): nothing of size scenarios x lanes x days is materialised.
The plan's dispatches arrive as per-day sparse lists (only x > 0), so the work
per day is proportional to the plan's shipments, not to every lane.

Each scenario is computed sequentially in a fixed order, so its results are bit
for bit the same whatever the thread count, chunking or machine (fastmath is
off project-wide; no reduction crosses scenarios inside a kernel).

`fan_accumulate` bins end-of-day stock into per-(day, pair) log-linear
histograms (integer counts, merged by addition: exact across partitions) and
`fan_percentiles` reads percentiles back out of them.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .._numba import jit, pjit
from .rng import (
    STREAM_DELAY,
    STREAM_DEMAND,
    STREAM_OUTAGE,
    STREAM_SHIP,
    STREAM_SURGE,
    bits_to_uniform,
    draw_bits,
    hi_uniform,
    lo_uniform,
    norm_ppf,
    scenario_key,
)

# columns of the KPI array, in order (scenarios.arrow adds `scenario` in front)
KPI_NAMES = ("demand", "unmet", "fill_rate", "shortfall_days", "below_floor",
             "breach_days", "min_floor_ratio", "cost")
N_KPI = len(KPI_NAMES)

# a day counts as a shortfall / breach day when some pair's unmet (shortfall below
# floor) exceeds COUNT_TOL * max(1, planned demand (floor)) units: LP round-off in
# a plan's stock does not make days count.
COUNT_TOL = 1e-6


@jit
def group_sums(values, starts):
    """Sums of values[starts[g]:starts[g+1]], each added left to right (a defined order)."""
    out = np.zeros(starts.shape[0] - 1)
    for g in range(out.shape[0]):
        acc = 0.0
        for e in range(starts[g], starts[g + 1]):
            acc += values[e]
        out[g] = acc
    return out


@jit(inline="always")
def _ship(ring, R, I, slot0, key, lane, t, q, lead, dest, T,
          ship_on, loss_p, delay_p, delay_max):
    """Send q units on `lane` departing day t: lost, late or on time. Returns units lost."""
    delay = 0
    if ship_on:
        b = draw_bits(key, STREAM_SHIP, lane, t)
        if hi_uniform(b) < loss_p:
            return q
        if lo_uniform(b) < delay_p:
            delay = 1 + int(bits_to_uniform(draw_bits(key, STREAM_DELAY, lane, t)) * delay_max)
            if delay > delay_max:
                delay = delay_max
    off = lead + delay
    if t + off < T:  # arrivals past the horizon drop out
        slot = slot0 + off
        if slot >= R:
            slot -= R
        ring[slot * I + dest] += q
    return 0.0


@pjit
def replay_kernel(start, n, seed,
                  sigma, phi, surge_p, surge_m, surge_d, outage_p, outage_d,
                  delay_p, delay_max, loss_p,
                  T, n_suppliers, n_nodes,
                  sup_ptr, sup_lane, sup_q,  # supplier dispatches by day (CSR over days)
                  grp_ptr, grp_pair, grp_total, grp_start,  # node dispatch groups by day
                  node_lane, node_q,  # node dispatch entries, grouped
                  lane_lead, lane_dest, lane_unit, lane_supplier,
                  demand, unmet_plan, pipeline, floor,  # [T, I]
                  init, hold, short_pen, ready_pen, pair_node, pair_has_demand,
                  max_lead,
                  kpi_out, stock_out, record):
    """Replay scenarios start..start+n-1. kpi_out [n, N_KPI]; stock_out [n, T, I] if record."""
    I = init.shape[0]
    R = max_lead + delay_max + 1
    demand_on = sigma > 0.0
    surge_on = surge_p > 0.0 and surge_d > 0 and surge_m != 1.0
    outage_on = outage_p > 0.0 and outage_d > 0
    ship_on = loss_p > 0.0 or (delay_p > 0.0 and delay_max > 0)
    sq = math.sqrt(1.0 - phi * phi)
    half_var = 0.5 * sigma * sigma
    for j in numba.prange(n):
        key = scenario_key(seed, start + j)
        stock = init.copy()
        ring = np.zeros(R * I)
        z = np.zeros(I)
        surge_left = np.zeros(n_nodes, dtype=np.int64)
        node_mult = np.ones(n_nodes)
        outage_left = np.zeros(n_suppliers, dtype=np.int64)
        tot_demand = 0.0
        tot_unmet = 0.0
        short_days = 0
        below_tot = 0.0
        breach_days = 0
        min_ratio = np.inf
        any_floor = False
        c_ship = 0.0  # price + transport of what was dispatched, in dispatch order
        c_short = 0.0
        c_hold = 0.0
        c_ready = 0.0
        slot0 = 0
        for t in range(T):
            # outages and surges start on the day drawn and last *_days days
            if outage_on:
                for s in range(n_suppliers):
                    if outage_left[s] == 0:
                        if bits_to_uniform(draw_bits(key, STREAM_OUTAGE, s, t)) < outage_p:
                            outage_left[s] = outage_d
            if surge_on:
                for nd in range(n_nodes):
                    if surge_left[nd] == 0:
                        if bits_to_uniform(draw_bits(key, STREAM_SURGE, nd, t)) < surge_p:
                            surge_left[nd] = surge_d
                    node_mult[nd] = surge_m if surge_left[nd] > 0 else 1.0
            # 1. supplier dispatches (nothing while in outage)
            for e in range(sup_ptr[t], sup_ptr[t + 1]):
                lane = sup_lane[e]
                if outage_on and outage_left[lane_supplier[lane]] > 0:
                    continue
                q = sup_q[e]
                c_ship += q * lane_unit[lane]
                _ship(ring, R, I, slot0, key, lane, t, q, lane_lead[lane], lane_dest[lane], T,
                      ship_on, loss_p, delay_p, delay_max)
            # 2. arrivals (pipeline included), 3. consumption, 4. node dispatches,
            # 5. end of day -- one pass over the pairs: a pair's node dispatches depend on
            # its own stock only and land on later days (lead >= 1), so doing steps 3-5
            # pair by pair is the same as doing each step for every pair in turn.
            base = slot0 * I
            day_short = False
            day_breach = False
            g = grp_ptr[t]
            g_end = grp_ptr[t + 1]
            for i in range(I):
                st = stock[i] + (ring[base + i] + pipeline[t, i])
                ring[base + i] = 0.0
                d_plan = demand[t, i]
                d = d_plan
                if demand_on and pair_has_demand[i]:
                    e_t = norm_ppf(bits_to_uniform(draw_bits(key, STREAM_DEMAND, i, t)))
                    z[i] = e_t if t == 0 else phi * z[i] + sq * e_t
                    d = d * math.exp(sigma * z[i] - half_var)
                if surge_on:
                    d = d * node_mult[pair_node[i]]
                target = d - unmet_plan[t, i]
                if target < 0.0:
                    target = 0.0
                met = st if st < target else target
                unmet = d - met
                st = st - met
                tot_demand += d
                tot_unmet += unmet
                c_short += short_pen[i] * unmet
                if unmet > COUNT_TOL * max(1.0, d_plan):
                    day_short = True
                # 4. node dispatches out of pair i, scaled by min(1, stock / planned total)
                if g < g_end and grp_pair[g] == i:
                    total = grp_total[g]
                    if total <= st:
                        scale = 1.0
                        st = st - total
                    else:
                        scale = st / total
                        st = 0.0
                    for e in range(grp_start[g], grp_start[g + 1]):
                        q = node_q[e] * scale
                        if q > 0.0:
                            lane = node_lane[e]
                            c_ship += q * lane_unit[lane]
                            _ship(ring, R, I, slot0, key, lane, t, q, lane_lead[lane],
                                  lane_dest[lane], T, ship_on, loss_p, delay_p, delay_max)
                    g += 1
                # 5. end of day: holding, floor
                stock[i] = st
                f = floor[t, i]
                c_hold += hold[i] * st
                if f > 0.0:
                    any_floor = True
                    r = st / f
                    if r < min_ratio:
                        min_ratio = r
                    if st < f:
                        below = f - st
                        below_tot += below
                        c_ready += ready_pen[i] * below
                        if below > COUNT_TOL * max(1.0, f):
                            day_breach = True
                if record:
                    stock_out[j, t, i] = st
            if day_short:
                short_days += 1
            if day_breach:
                breach_days += 1
            if outage_on:
                for s in range(n_suppliers):
                    if outage_left[s] > 0:
                        outage_left[s] -= 1
            if surge_on:
                for nd in range(n_nodes):
                    if surge_left[nd] > 0:
                        surge_left[nd] -= 1
            slot0 += 1
            if slot0 == R:
                slot0 = 0
        kpi_out[j, 0] = tot_demand
        kpi_out[j, 1] = tot_unmet
        kpi_out[j, 2] = 1.0 - tot_unmet / tot_demand if tot_demand > 0.0 else 1.0
        kpi_out[j, 3] = short_days
        kpi_out[j, 4] = below_tot
        kpi_out[j, 5] = breach_days
        kpi_out[j, 6] = min_ratio if any_floor else np.nan
        kpi_out[j, 7] = ((c_ship + c_short) + c_hold) + c_ready


# ---------------------------------------------------------------- fan charts
# Log-linear bins per cell (day, pair), relative to the cell's upper bound U
# (stock can never exceed initial stock + pipeline + everything planned to have
# arrived by then): bin 0 holds exact zeros, bin 1 holds (0, 2**(e_hi - OCTAVES)),
# then OCTAVES octaves below 2**e_hi with 2**MANT_BITS bins each (relative width
# <= 2**-MANT_BITS). Values are binned from their float32 bit pattern: no log.
MANT_BITS = 5
OCTAVES = 12
N_BINS = 2 + OCTAVES * (1 << MANT_BITS)
TILE = 64


@pjit
def fan_accumulate(stock, e_lo, counts, vmin, vmax):
    """Add stock [n, C] (float32, C = T*I cells) to counts [C, N_BINS] and min/max [C].

    e_lo [C] is the biased float32 exponent of the lowest resolved octave of each cell.
    Parallel over tiles of cells: every count is owned by one thread.
    """
    n, C = stock.shape
    bits = stock.view(np.int32)
    M = 1 << MANT_BITS
    n_tiles = (C + TILE - 1) // TILE
    for tile in numba.prange(n_tiles):
        c0 = tile * TILE
        c1 = min(C, c0 + TILE)
        for s in range(n):
            for c in range(c0, c1):
                v = stock[s, c]
                if v < vmin[c]:
                    vmin[c] = v
                if v > vmax[c]:
                    vmax[c] = v
                if v <= 0.0:
                    b = 0
                else:
                    w = bits[s, c]
                    octave = ((w >> 23) & 0xFF) - e_lo[c]
                    if octave < 0:
                        b = 1
                    elif octave >= OCTAVES:
                        b = N_BINS - 1
                    else:
                        b = 2 + octave * M + ((w >> (23 - MANT_BITS)) & (M - 1))
                counts[c, b] += 1


@jit
def _bin_edges(b, e_lo_c):
    if b == 0:
        return 0.0, 0.0
    if b == 1:
        return 0.0, 2.0 ** (e_lo_c - 127)
    M = 1 << MANT_BITS
    octave = (b - 2) // M
    m = (b - 2) % M
    base = 2.0 ** (e_lo_c + octave - 127)
    return base * (1.0 + m / M), base * (1.0 + (m + 1) / M)


@jit
def _order_stat(cnt, e_lo_c, k, n, lo, hi):
    """Approximate k-th smallest (0-based) of n values binned in cnt; exact at the ends."""
    if k <= 0:
        return lo
    if k >= n - 1:
        return hi
    cum = 0
    for b in range(cnt.shape[0]):
        c = cnt[b]
        if c > 0 and k < cum + c:
            a, z = _bin_edges(b, e_lo_c)
            v = a + (k - cum + 0.5) / c * (z - a)
            return min(max(v, lo), hi)
        cum += c
    return hi


@pjit
def fan_percentiles(counts, e_lo, vmin, vmax, qs, out):
    """out [C, len(qs)]: percentiles (numpy's 'linear' definition) read from the histograms."""
    C = counts.shape[0]
    for c in numba.prange(C):
        n = 0
        for b in range(counts.shape[1]):
            n += counts[c, b]
        if n == 0:
            for k in range(qs.shape[0]):
                out[c, k] = np.nan
            continue
        lo = np.float64(vmin[c])
        hi = np.float64(vmax[c])
        for k in range(qs.shape[0]):
            r = qs[k] * (n - 1)
            k0 = int(math.floor(r))
            frac = r - k0
            v0 = _order_stat(counts[c], e_lo[c], k0, n, lo, hi)
            if frac > 0.0:
                v1 = _order_stat(counts[c], e_lo[c], k0 + 1, n, lo, hi)
                v0 = v0 + frac * (v1 - v0)
            out[c, k] = v0
