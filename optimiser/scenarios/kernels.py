"""Numba kernels of scenario evaluation (docs/SCENARIOS.md). Arrays and scalars in,
arrays out; validation and bookkeeping live in the Python wrappers.

`replay_kernel(start, n, seed, model, net, plan, out, seg)` takes its inputs as named
tuples read by field name (ScenarioModel, Network, Dispatches, Outputs, Segment: declared
in scenarios/inputs.py) and writes the KPI columns through the named indices of
optimiser/kpis.py.

`replay_kernel` replays scenarios start..start+n-1 in blocks of LANES (32) scenarios,
one block per `prange` iteration, all scenarios of a block in lockstep: the state
(stock [I, K], an arrival ring [R, I, K] with R = longest lead + delay_max_days + 1,
AR(1) state [I, K], surge and outage counters, the KPI accumulators) has the scenario
innermost, so the plan's data (the per-day sparse dispatch lists, only x > 0) is read
once per block and every step is a branch-free loop over the K scenarios that LLVM
vectorises (hashes, Acklam's central rational function, consumption, scaling, floors).
Nothing of size scenarios x lanes x days is materialised; the scratch is allocated once
per block.

Each scenario still performs exactly its own operations in the reference order: where
the reference skips something (a supplier in outage, a lost shipment, a node dispatch
scaled to 0, a pair not below its floor) the kernel adds +0.0 instead, which leaves
every value bit for bit unchanged (no accumulator or ring cell is ever -0.0). So the
results are the same whatever the thread count, block, chunk or machine (fastmath is
off project-wide; no reduction crosses scenarios; lanes past the requested range
replay scenarios nobody asked for and are dropped).

The reliability replays (optimiser/reliability/replay.py) run the same kernel without
its KPI accumulators (Outputs.kpis False) and reduce each protected pair's end-of-day
stock inside the day loop (Outputs.red, `_reduce_pair`) instead of recording the stock of
every pair and re-reading it.

`fan_accumulate` bins end-of-day stock into per-(day, pair) log-linear
histograms (integer counts, merged by addition: exact across partitions) and
`fan_percentiles` reads percentiles back out of them.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .._numba import jit, pjit
from ..kpis import (  # noqa: F401  (KPI_NAMES, COMMODITY_KPI_NAMES: re-exported)
    COMMODITY_KPI_NAMES,
    K_BELOW_FLOOR,
    K_BREACH_DAYS,
    K_COST,
    K_DEMAND,
    K_FILL_RATE,
    K_MIN_FLOOR_RATIO,
    K_SHORTFALL_DAYS,
    K_UNMET,
    KPI_NAMES,
    N_CKPI,
    N_KPI,
)
from .rng import (
    LO32,
    P_HIGH,
    P_LOW,
    S11,
    S32,
    STREAM_DELAY,
    STREAM_DEMAND,
    STREAM_OUTAGE,
    STREAM_SHIP,
    STREAM_SURGE,
    bits_to_uniform,
    draw_bits,
    exp_parts,
    hi_threshold,
    hi_uniform,
    lo_uniform,
    norm_ppf,
    norm_ppf_central,
    pow2_bits,
    scenario_key,
    u53_threshold,
)

# scenarios replayed in lockstep by one prange iteration of `replay_kernel`: the
# innermost dimension of its state, one or two SIMD vectors of float64
LANES = 32

# rows of the per-block work array of replay_kernel (each LANES long)
W_TOT_DEMAND = 0 * LANES
W_TOT_UNMET = 1 * LANES
W_BELOW_TOT = 2 * LANES
W_MIN_RATIO = 3 * LANES
W_C_SHIP = 4 * LANES
W_C_SHORT = 5 * LANES
W_C_HOLD = 6 * LANES
W_C_READY = 7 * LANES
W_N_SHORT = 8 * LANES
W_N_BREACH = 9 * LANES
W_SHORT_DAYS = 10 * LANES
W_BREACH_DAYS = 11 * LANES
W_QK = 12 * LANES
W_UU = 13 * LANES
W_EV = 14 * LANES
W_DK = 15 * LANES
W_SCALE = 16 * LANES
W_UP = 17 * LANES  # the plan's unmet of (pair, day), per scenario
W_GT = 18 * LANES  # a node dispatch group's planned total, per scenario
N_W = 19

# rows of the per-block per-commodity accumulators (each n_com * LANES long)
CW_DEMAND, CW_UNMET, CW_BELOW, CW_MIN_RATIO, CW_SHORT_DAYS, CW_BREACH_DAYS, CW_N_SHORT, \
    CW_N_BREACH = range(8)
N_CW = 8

# bits of the per-(scenario, pair) indicator array: the pair broke its floor on some day
# (stock < floor - COUNT_TOL * max(1, floor)); some day's consumption fell short by more
# than the plan's own rationing (target - met > COUNT_TOL * max(1, planned demand))
FLAG_BREACH = 1
FLAG_SHORT = 2

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


@jit
def group_sums_lanes(values, starts):
    """group_sums of each column of values [E, LANES] -> [G, LANES] (same order of adds)."""
    out = np.zeros((starts.shape[0] - 1, values.shape[1]))
    for g in range(out.shape[0]):
        for e in range(starts[g], starts[g + 1]):
            for k in range(values.shape[1]):
                out[g, k] += values[e, k]
    return out


@pjit
def replay_kernel(start, n, seed, model, net, plan, out, seg):
    """Replay scenarios start..start+n-1 of `seed` under `model` (ScenarioModel), the
    instance `net` (Network) and the plan `plan` (Dispatches), into `out` (Outputs), over
    the days of `seg` (Segment; `open_loop(T)`: the whole horizon, no carried state).

    out.kpi [n, N_KPI], out.kpi_c [n, n_com, N_CKPI] (per commodity; net.pair_com [I] is each
    pair's commodity), columns as optimiser/kpis.py (K_UNMET, ...), unless not out.kpis
    (then no KPI accumulator is kept: the stock and every draw are the same); with
    out.red.on, the reliability replay's reduction of end-of-day stock (inputs.Reduction,
    `_reduce_pair`: breach flags, prices, the compact record of breaching blocks, the fan's
    float32 stock of the first red.fan_n scenarios), open loop only; if out.flags,
    out.pair_flags [n, I] uint8 gets FLAG_BREACH | FLAG_SHORT per pair; if out.record,
    end-of-day stock into out.stock [n_blocks, T*I, LANES] (block-major: block b's scenario
    start + 32b + k, day t, pair i at [b, t*I + i, k]; each block's writes are one
    contiguous sweep; lanes past n hold scenarios nobody asked for).

    A pair with net.pair_live False is skipped whole on every day (no consumption, no
    dispatch, no flag, nothing recorded): reliability.replay.restrict sets it for pairs
    the results asked for do not depend on, having dropped every dispatch into them.

    Scenarios go in blocks of K (= LANES) replayed in lockstep: every state array has the
    scenario innermost ([entity, K]), and every step is a branch-free loop over the K
    scenarios, so the plan's data is read once per block and the loops vectorise. Each
    scenario still does exactly its own operations in the reference order: a skipped
    dispatch (outage, loss, scaled to zero) becomes an added +0.0, which changes no bit.

    Closed loop (optimiser/simulate): only days seg.t_lo..seg.t_hi-1 are replayed; with
    seg.keep the whole state of block b (stock, arrival ring, AR(1) state, surge
    multipliers, every accumulator; surge and outage counters; per-pair flags) is read from
    seg.st_f[b] / seg.st_i[b] at the start (unless t_lo == 0) and written back at the end
    (layout: state_sizes). KPIs are written only when t_hi == T. With plan.per_lane the plan
    differs per scenario: quantities come from sup_qk [Es, n'], grp_totk [G, n'], node_qk
    [En, n'] and unmet_k [T, I, n'] (column 32b + k: scenario start + 32b + k; n' >= 32 *
    blocks; entries are the union of the plans; a plan without one adds +0.0) instead of
    sup_q, grp_total, node_q and unmet_plan. With seg.track the state also holds every supplier
    pair's dispatched units (seg.lane_sp [L]: supplier pair of a lane, -1 from a node) and
    the shipments in transit by planned arrival day and outcome (on time, 1..D days late,
    lost; D = delay_max_days), which is what a replanner is told about.
    """
    # the named inputs as the locals the replay below reads (outside the prange loop: its
    # body sees plain arrays and scalars)
    sigma, phi = model.demand_sigma, model.demand_phi
    surge_p, surge_m, surge_d = model.surge_prob, model.surge_multiplier, model.surge_days
    outage_p, outage_d = model.outage_prob, model.outage_days
    delay_p, delay_max, loss_p = model.delay_prob, model.delay_max_days, model.loss_prob
    T, n_suppliers, n_nodes, n_com = net.T, net.n_suppliers, net.n_nodes, net.n_com
    max_lead = net.max_lead
    lane_lead, lane_dest, lane_unit = net.lane_lead, net.lane_dest, net.lane_unit
    lane_supplier = net.lane_supplier
    demand, pipeline, floor = net.demand, net.pipeline, net.floor
    init, hold, short_pen, ready_pen = net.init, net.hold, net.short_pen, net.ready_pen
    pair_node, pair_has_demand, pair_com = net.pair_node, net.pair_has_demand, net.pair_com
    pair_live = net.pair_live
    per_lane = plan.per_lane
    sup_ptr, sup_lane, sup_q = plan.sup_ptr, plan.sup_lane, plan.sup_q
    grp_ptr, grp_pair, grp_total = plan.grp_ptr, plan.grp_pair, plan.grp_total
    grp_start, node_lane, node_q = plan.grp_start, plan.node_lane, plan.node_q
    unmet_plan = plan.unmet_plan
    sup_qk, grp_totk, node_qk, unmet_k = plan.sup_qk, plan.grp_totk, plan.node_qk, plan.unmet_k
    kpi_out, kpi_c_out, flags_out = out.kpi, out.kpi_c, out.pair_flags
    record, stock_out, flags = out.record, out.stock, out.flags
    kpis_on = out.kpis
    red = out.red
    red_on, r_price, r_keep, fan_n = red.on, red.price, red.keep, red.fan_n
    slot_r, slot_s, slot_f, red_h = red.slot_r, red.slot_s, red.slot_f, red.h
    lim_r, floor_r, w_r = red.lim_r, red.floor_r, red.w_r
    serve, stol, margin, w_s = red.serve, red.stol, red.margin, red.w_s
    br_out, bs_out, pr_out, ps_out = red.br, red.bs, red.pr, red.ps
    sr_out, mr_out, ss_out, ms_out, fan_out = red.sr, red.mr, red.ss, red.ms, red.fan
    Ir = br_out.shape[1] if red_on else 0
    Is = bs_out.shape[1] if red_on else 0
    F = fan_out.shape[1] // T if red_on and fan_n > 0 else 0
    dem_mode, dem_rec = (red.dem_mode if red_on else 0), red.dem
    ship_rec, out_rec = red.ship, red.outage
    L = lane_lead.shape[0]
    # the training cache of shipment outcomes / outage days (inputs.Reduction): used with
    # dem_mode 1 or 2 when the caller gave arrays of its shape
    ship_cached = dem_mode > 0 and ship_rec.shape[1] == T * L
    out_cached = dem_mode > 0 and out_rec.shape[1] == T * n_suppliers
    t_lo, t_hi, keep, st_f, st_i = seg.t_lo, seg.t_hi, seg.keep, seg.st_f, seg.st_i
    track, lane_sp, n_sp = seg.track, seg.lane_sp, seg.n_sp
    K = LANES
    I = init.shape[0]
    R = max_lead + delay_max + 1
    demand_on = sigma > 0.0
    surge_on = surge_p > 0.0 and surge_d > 0 and surge_m != 1.0
    outage_on = outage_p > 0.0 and outage_d > 0
    ship_on = loss_p > 0.0 or (delay_p > 0.0 and delay_max > 0)
    delay_on = delay_p > 0.0 and delay_max > 0
    sq = math.sqrt(1.0 - phi * phi)
    # u < p tests as integer comparisons of the bits (rng.hi_threshold: the same outcomes)
    thr_loss = hi_threshold(loss_p) if ship_on else np.uint64(0)
    thr_late = hi_threshold(delay_p) if delay_on else np.uint64(0)
    thr_out = u53_threshold(outage_p) if outage_on else np.uint64(0)
    half_var = 0.5 * sigma * sigma
    n_blocks = (n + K - 1) // K
    C = n_com
    D = delay_max
    Rp = max_lead + D + 2  # tracking ring: planned arrival days t-D-1 .. t+max_lead
    NP = (D + 2) * Rp * I * K if track else 0
    for blk in numba.prange(n_blocks):
        j0 = blk * K
        bk = j0  # column of scenario k of this block in the per-lane plan arrays: bk + k
        nk = min(K, n - j0)
        keys = np.empty(K, dtype=np.uint64)
        for k in range(K):  # lanes past nk replay scenarios nobody asked for, unused
            keys[k] = scenario_key(seed, start + j0 + k)
        stock = np.empty(I * K)
        for i in range(I):
            for k in range(K):
                stock[i * K + k] = init[i]
        ring = np.zeros(R * I * K)
        z = np.zeros(I * K)
        surge_left = np.zeros(n_nodes * K, dtype=np.int64)
        node_mult = np.ones(n_nodes * K)
        outage_left = np.zeros(n_suppliers * K, dtype=np.int64)
        # every per-scenario accumulator and temporary in one array (rows of K): the
        # k-loops then touch few distinct arrays and LLVM vectorises them
        w = np.zeros(N_W * K)
        for k in range(K):
            w[W_MIN_RATIO + k] = np.inf
        wc = np.zeros(N_CW * C * K)
        for c in range(C):
            for k in range(K):
                wc[(c * N_CW + CW_MIN_RATIO) * K + k] = np.inf
        pf = np.zeros(I * K if flags else K, dtype=np.int64)
        disp = np.zeros(n_sp * K if track else 0)
        pend = np.zeros(NP)
        # the reliability reduction's per-scenario breach flags and prices (rows of K)
        rfr = np.zeros(Ir * K, dtype=np.bool_)
        rar = np.zeros(Ir * K)
        rfs = np.zeros(Is * K, dtype=np.bool_)
        ras = np.zeros(Is * K)
        fan_blk = F > 0 and j0 < fan_n
        if keep and t_lo > 0:
            _state_io(st_f[blk], st_i[blk], True, stock, ring, z, node_mult, w, wc, disp, pend,
                      surge_left, outage_left, pf)
        off = np.empty(K, dtype=np.int64)
        eb = np.empty(2 * K, dtype=np.int64)
        ebf = eb.view(np.float64)
        slot0 = t_lo % R
        for t in range(t_lo, t_hi):
            if track:  # the planned day t + max_lead reuses the slot of day t - D - 2
                ps = ((t + max_lead) % Rp) * (D + 2) * I * K
                for e in range(ps, ps + (D + 2) * I * K):
                    pend[e] = 0.0
            # 0. outages and surges start on the day drawn and last *_days days
            if outage_on and out_cached and dem_mode == 2:  # 1 on a day in outage
                ob = t * n_suppliers
                for s in range(n_suppliers):
                    for k in range(K):
                        outage_left[s * K + k] = out_rec[blk, ob + s, k]
            elif outage_on:
                for s in range(n_suppliers):
                    for k in range(K):  # branch-free: the draw is pure, made or not
                        idle = outage_left[s * K + k] == 0
                        hit = (draw_bits(keys[k], STREAM_OUTAGE, s, t) >> S11) < thr_out
                        outage_left[s * K + k] = outage_d if idle & hit else \
                            outage_left[s * K + k]
                if out_cached:
                    ob = t * n_suppliers
                    for s in range(n_suppliers):
                        for k in range(K):
                            out_rec[blk, ob + s, k] = outage_left[s * K + k] > 0
            if surge_on and dem_mode != 2:  # surges act on demand only
                for nd in range(n_nodes):
                    for k in range(K):
                        if surge_left[nd * K + k] == 0:
                            if bits_to_uniform(draw_bits(keys[k], STREAM_SURGE, nd, t)) < surge_p:
                                surge_left[nd * K + k] = surge_d
                        node_mult[nd * K + k] = surge_m if surge_left[nd * K + k] > 0 else 1.0
            # 1. supplier dispatches (nothing while in outage: +0.0 paid and shipped)
            for e in range(sup_ptr[t], sup_ptr[t + 1]):
                lane = sup_lane[e]
                unit = lane_unit[lane]
                if per_lane:
                    for k in range(K):
                        w[W_QK + k] = sup_qk[e, bk + k]
                else:
                    q = sup_q[e]
                    for k in range(K):
                        w[W_QK + k] = q
                if outage_on:
                    sb = lane_supplier[lane] * K
                    for k in range(K):
                        w[W_QK + k] = 0.0 if outage_left[sb + k] > 0 else w[W_QK + k]
                for k in range(K):
                    w[W_C_SHIP + k] += w[W_QK + k] * unit
                _ship_block(ring, R, I, slot0, keys, lane, t, w, W_QK, lane_lead[lane],
                            lane_dest[lane], T, ship_on, thr_loss, thr_late, delay_max, off,
                            ship_cached, ship_rec, blk, L)
                if track:
                    db = lane_sp[lane] * K
                    for k in range(K):
                        disp[db + k] += w[W_QK + k]
                    _track_block(pend, Rp, D, I, keys, lane, t, w, W_QK, lane_lead[lane],
                                 lane_dest[lane], T, ship_on, delay_on, loss_p, delay_p)
            # 2. arrivals (pipeline included), 3. consumption, 4. node dispatches,
            # 5. end of day -- one pass over the pairs: a pair's node dispatches depend on
            # its own stock only and land on later days (lead >= 1), so doing steps 3-5
            # pair by pair is the same as doing each step for every pair in turn.
            g = grp_ptr[t]
            g_end = grp_ptr[t + 1]
            for i in range(I):
                if not pair_live[i]:  # a pair no result depends on (restricted replays)
                    continue
                rb = (slot0 * I + i) * K
                sb = i * K
                p_in = pipeline[t, i]
                d_plan = demand[t, i]
                if per_lane:
                    for k in range(K):
                        w[W_UP + k] = unmet_k[t, i, bk + k]
                else:
                    u_plan = unmet_plan[t, i]
                    for k in range(K):
                        w[W_UP + k] = u_plan
                tol = COUNT_TOL * max(1.0, d_plan)
                spen = short_pen[i]
                if dem_mode == 2:  # the block's realised demand, drawn by an earlier replay
                    db = t * I + i
                    for k in range(K):
                        w[W_DK + k] = dem_rec[blk, db, k]
                else:
                    noisy = demand_on and pair_has_demand[i]
                    if noisy:
                        for k in range(K):
                            w[W_UU + k] = bits_to_uniform(draw_bits(keys[k], STREAM_DEMAND, i, t))
                        for k in range(K):
                            w[W_EV + k] = norm_ppf_central(w[W_UU + k])
                        tails = 0
                        for k in range(K):
                            tails += (w[W_UU + k] < P_LOW) | (w[W_UU + k] > P_HIGH)
                        for k in range(K if tails else 0):  # the tails (< 5 % of draws)
                            if w[W_UU + k] < P_LOW or w[W_UU + k] > P_HIGH:  # need a log
                                w[W_EV + k] = norm_ppf(w[W_UU + k])
                        if t == 0:
                            for k in range(K):
                                z[sb + k] = w[W_EV + k]
                        else:
                            for k in range(K):
                                z[sb + k] = phi * z[sb + k] + sq * w[W_EV + k]
                        # exp as rng.exp (the reference's), vectorised: polynomial, then 2**n
                        # from the bits of two powers of two (int64 row, viewed as float64)
                        for k in range(K):
                            pe, n1, n2 = exp_parts(sigma * z[sb + k] - half_var)
                            w[W_DK + k] = pe
                            eb[k] = pow2_bits(n1)
                            eb[K + k] = pow2_bits(n2)
                        for k in range(K):
                            w[W_DK + k] = d_plan * ((w[W_DK + k] * ebf[k]) * ebf[K + k])
                    else:
                        for k in range(K):
                            w[W_DK + k] = d_plan
                    if surge_on:
                        nb = pair_node[i] * K
                        for k in range(K):
                            w[W_DK + k] = w[W_DK + k] * node_mult[nb + k]
                    if dem_mode == 1:
                        db = t * I + i
                        for k in range(K):
                            dem_rec[blk, db, k] = w[W_DK + k]
                # this pair's commodity's accumulators as one view: every index below is
                # a constant row offset + k, so LLVM sees contiguous, non-negative,
                # non-overlapping rows and vectorises the k-loops (an offset read from
                # pair_com inside the index would defeat it)
                cb = pair_com[i]
                wcc = wc[cb * (N_CW * K):(cb + 1) * (N_CW * K)]
                rg = ring[rb:rb + K]
                if kpis_on:
                    for k in range(K):
                        st = stock[sb + k] + (rg[k] + p_in)
                        rg[k] = 0.0
                        d = w[W_DK + k]
                        target = d - w[W_UP + k]
                        target = 0.0 if target < 0.0 else target
                        met = st if st < target else target
                        unmet = d - met
                        stock[sb + k] = st - met
                        w[W_TOT_DEMAND + k] += d
                        w[W_TOT_UNMET + k] += unmet
                        w[W_C_SHORT + k] += spen * unmet
                        w[W_N_SHORT + k] += unmet > tol
                        wcc[CW_DEMAND * K + k] += d
                        wcc[CW_UNMET * K + k] += unmet
                        wcc[CW_N_SHORT * K + k] += unmet > tol
                        w[W_EV + k] = target - met
                else:  # the same stock, no KPI accumulators
                    for k in range(K):
                        st = stock[sb + k] + (rg[k] + p_in)
                        rg[k] = 0.0
                        target = w[W_DK + k] - w[W_UP + k]
                        target = 0.0 if target < 0.0 else target
                        met = st if st < target else target
                        stock[sb + k] = st - met
                        w[W_EV + k] = target - met
                if flags:
                    for k in range(K):
                        pf[sb + k] |= FLAG_SHORT if w[W_EV + k] > tol else 0
                # 4. node dispatches out of pair i, scaled by min(1, stock / planned total)
                if g < g_end and grp_pair[g] == i:
                    if per_lane:
                        for k in range(K):
                            w[W_GT + k] = grp_totk[g, bk + k]
                    else:
                        total = grp_total[g]
                        for k in range(K):
                            w[W_GT + k] = total
                    for k in range(K):
                        st = stock[sb + k]
                        total = w[W_GT + k]
                        full = total <= st
                        w[W_SCALE + k] = 1.0 if full else st / total
                        stock[sb + k] = st - total if full else 0.0
                    for e in range(grp_start[g], grp_start[g + 1]):
                        lane = node_lane[e]
                        unit = lane_unit[lane]
                        if per_lane:
                            for k in range(K):
                                w[W_QK + k] = node_qk[e, bk + k] * w[W_SCALE + k]
                        else:
                            q = node_q[e]
                            for k in range(K):
                                w[W_QK + k] = q * w[W_SCALE + k]
                        for k in range(K):
                            w[W_C_SHIP + k] += w[W_QK + k] * unit
                        _ship_block(ring, R, I, slot0, keys, lane, t, w, W_QK, lane_lead[lane],
                                    lane_dest[lane], T, ship_on, thr_loss, thr_late, delay_max,
                                    off, ship_cached, ship_rec, blk, L)
                        if track:
                            _track_block(pend, Rp, D, I, keys, lane, t, w, W_QK,
                                         lane_lead[lane], lane_dest[lane], T, ship_on,
                                         delay_on, loss_p, delay_p)
                    g += 1
                # 5. end of day: holding, floor
                f = floor[t, i]
                if kpis_on:
                    h = hold[i]
                    for k in range(K):
                        w[W_C_HOLD + k] += h * stock[sb + k]
                if kpis_on and f > 0.0:
                    rp = ready_pen[i]
                    ftol = COUNT_TOL * max(1.0, f)
                    for k in range(K):
                        st = stock[sb + k]
                        r = st / f
                        w[W_MIN_RATIO + k] = r if r < w[W_MIN_RATIO + k] else w[W_MIN_RATIO + k]
                        mr = wcc[CW_MIN_RATIO * K + k]
                        wcc[CW_MIN_RATIO * K + k] = r if r < mr else mr
                        below = f - st if st < f else 0.0
                        w[W_BELOW_TOT + k] += below
                        w[W_C_READY + k] += rp * below
                        w[W_N_BREACH + k] += below > ftol
                        wcc[CW_BELOW * K + k] += below
                        wcc[CW_N_BREACH * K + k] += below > ftol
                if flags and f > 0.0:
                    ftol = COUNT_TOL * max(1.0, f)
                    for k in range(K):
                        st = stock[sb + k]
                        pf[sb + k] |= FLAG_BREACH if f - st > ftol else 0
                if record:
                    ci = t * I + i
                    for k in range(K):
                        stock_out[blk, ci, k] = stock[sb + k]
                if red_on:
                    _reduce_pair(stock, sb, i, t, blk, red_h, slot_r, slot_s, lim_r, floor_r,
                                 w_r, serve, stol, margin, w_s, r_price, r_keep, rfr, rar, rfs,
                                 ras, sr_out, mr_out, ss_out, ms_out)
                    if fan_blk and slot_f[i] >= 0:
                        ci = t * F + slot_f[i]
                        for k in range(K):
                            fan_out[blk, ci, k] = stock[sb + k]
            for k in range(K if kpis_on else 0):  # days on which some pair fell short /
                w[W_SHORT_DAYS + k] += w[W_N_SHORT + k] > 0  # below its floor
                w[W_BREACH_DAYS + k] += w[W_N_BREACH + k] > 0
                w[W_N_SHORT + k] = 0
                w[W_N_BREACH + k] = 0
            for c in range(C if kpis_on else 0):
                wcc = wc[c * (N_CW * K):(c + 1) * (N_CW * K)]
                for k in range(K):
                    wcc[CW_SHORT_DAYS * K + k] += wcc[CW_N_SHORT * K + k] > 0
                    wcc[CW_BREACH_DAYS * K + k] += wcc[CW_N_BREACH * K + k] > 0
                    wcc[CW_N_SHORT * K + k] = 0
                    wcc[CW_N_BREACH * K + k] = 0
            if outage_on:
                for s in range(n_suppliers * K):
                    if outage_left[s] > 0:
                        outage_left[s] -= 1
            if surge_on:
                for s in range(n_nodes * K):
                    if surge_left[s] > 0:
                        surge_left[s] -= 1
            slot0 += 1
            if slot0 == R:
                slot0 = 0
        if keep:
            _state_io(st_f[blk], st_i[blk], False, stock, ring, z, node_mult, w, wc, disp, pend,
                      surge_left, outage_left, pf)
        if t_hi < T:
            continue
        if red_on:
            for k in range(nk):
                j = j0 + k
                for p in range(Ir):
                    br_out[j, p] = rfr[p * K + k]
                for p in range(Is):
                    bs_out[j, p] = rfs[p * K + k]
                if r_price:
                    for p in range(Ir):
                        pr_out[j, p] = rar[p * K + k]
                    for p in range(Is):
                        ps_out[j, p] = ras[p * K + k]
        if flags:
            for k in range(nk):
                for i in range(I):
                    flags_out[j0 + k, i] = pf[i * K + k]
        if not kpis_on:
            continue
        any_floor = False
        any_floor_c = np.zeros(C, dtype=np.bool_)
        for t in range(T):
            for i in range(I):
                if floor[t, i] > 0.0:
                    any_floor = True
                    any_floor_c[pair_com[i]] = True
        for k in range(nk):
            j = j0 + k
            dem = w[W_TOT_DEMAND + k]
            unm = w[W_TOT_UNMET + k]
            kpi_out[j, K_DEMAND] = dem
            kpi_out[j, K_UNMET] = unm
            kpi_out[j, K_FILL_RATE] = 1.0 - unm / dem if dem > 0.0 else 1.0
            kpi_out[j, K_SHORTFALL_DAYS] = w[W_SHORT_DAYS + k]
            kpi_out[j, K_BELOW_FLOOR] = w[W_BELOW_TOT + k]
            kpi_out[j, K_BREACH_DAYS] = w[W_BREACH_DAYS + k]
            kpi_out[j, K_MIN_FLOOR_RATIO] = w[W_MIN_RATIO + k] if any_floor else np.nan
            kpi_out[j, K_COST] = ((w[W_C_SHIP + k] + w[W_C_SHORT + k]) + w[W_C_HOLD + k]) \
                + w[W_C_READY + k]
            for c in range(C):
                dem = wc[(c * N_CW + CW_DEMAND) * K + k]
                unm = wc[(c * N_CW + CW_UNMET) * K + k]
                kpi_c_out[j, c, K_DEMAND] = dem
                kpi_c_out[j, c, K_UNMET] = unm
                kpi_c_out[j, c, K_FILL_RATE] = 1.0 - unm / dem if dem > 0.0 else 1.0
                kpi_c_out[j, c, K_SHORTFALL_DAYS] = wc[(c * N_CW + CW_SHORT_DAYS) * K + k]
                kpi_c_out[j, c, K_BELOW_FLOOR] = wc[(c * N_CW + CW_BELOW) * K + k]
                kpi_c_out[j, c, K_BREACH_DAYS] = wc[(c * N_CW + CW_BREACH_DAYS) * K + k]
                kpi_c_out[j, c, K_MIN_FLOOR_RATIO] = wc[(c * N_CW + CW_MIN_RATIO) * K + k] \
                    if any_floor_c[c] else np.nan


@jit(inline="always")
def _reduce_pair(stock, sb, i, t, blk, h, slot_r, slot_s, lim_r, floor_r, w_r, serve, stol,
                 margin, w_s, price, keep, rfr, rar, rfs, ras, sr, mr, ss, ms):
    """The reliability reduction (inputs.Reduction) of pair i's end-of-day stock on day t,
    for the K scenarios of block blk: the operations of the record-based passes it replaced
    (reliability/replay.py), in the same order per scenario, so the same bits."""
    K = LANES
    j0 = blk * K
    p = slot_r[i]
    if p >= 0:
        hh = h[i]
        lim = lim_r[t, p]
        fl = floor_r[t, p]
        wt = w_r[t, p]
        pb = p * K
        nbad = 0
        for k in range(K):
            s = stock[sb + k] - hh
            bad = s < lim
            rfr[pb + k] |= bad
            nbad += bad
        if price:
            for k in range(K):
                s = stock[sb + k] - hh
                rar[pb + k] += (fl - s if s < lim else 0.0) * wt
        if keep and nbad > 0:
            mr[p, t, blk] = 1
            for k in range(K):
                sr[p, t, j0 + k] = stock[sb + k] - hh
    q = slot_s[i]
    if q >= 0:
        hh = h[i]
        st = stol[t, q]
        sv = serve[t, q]
        mg = margin[t, q]
        wt = w_s[t, q]
        qb = q * K
        nbad = 0
        for k in range(K):
            s = stock[sb + k] - hh
            bad = (s <= st) & sv
            rfs[qb + k] |= bad
            nbad += bad
        if price:
            for k in range(K):
                s = stock[sb + k] - hh
                ras[qb + k] += ((st - s) + mg if (s <= st) & sv else 0.0) * wt
        if keep and nbad > 0:
            ms[q, t, blk] = 1
            for k in range(K):
                ss[q, t, j0 + k] = stock[sb + k] - hh


def state_sizes(I, R, n_nodes, n_suppliers, n_com, n_sp, NP):
    """(float, int) lengths of one block's carried state (each times LANES where it says):
    float: stock I, ring R*I, z I, node_mult n_nodes, w N_W, wc N_CW*n_com, disp n_sp (all
    x LANES), then the tracking ring NP; int: surge_left n_nodes, outage_left n_suppliers,
    pair flags I (x LANES)."""
    K = LANES
    nf = (I + R * I + I + n_nodes + N_W + N_CW * n_com + n_sp) * K + NP
    ni = (n_nodes + n_suppliers + I) * K
    return nf, ni


@jit
def _state_io(sf, si, load, stock, ring, z, node_mult, w, wc, disp, pend, surge_left,
              outage_left, pf):
    """Copy a block's state from (load) or to the flat rows sf (float64) / si (int64)."""
    o = 0
    for a in (stock, ring, z, node_mult, w, wc, disp, pend):
        m = a.shape[0]
        if load:
            a[:] = sf[o:o + m]
        else:
            sf[o:o + m] = a
        o += m
    o = 0
    for b in (surge_left, outage_left, pf):
        m = b.shape[0]
        if load:
            b[:] = si[o:o + m]
        else:
            si[o:o + m] = b
        o += m


@jit(inline="always")
def _track_block(pend, Rp, D, I, keys, lane, t, w, W_QK, lead, dest, T, ship_on, delay_on,
                 loss_p, delay_p):
    """Record w[W_QK + k] units dispatched on `lane` on day t by planned arrival day and
    outcome (0 on time, 1..D days late, D + 1 lost), the same draws as _ship_block."""
    K = LANES
    a = t + lead
    if a >= T:  # planned past the horizon: nothing a replan could use
        return
    base = (a % Rp) * (D + 2)
    for k in range(K):
        o = 0
        if ship_on:
            b = draw_bits(keys[k], STREAM_SHIP, lane, t)
            if hi_uniform(b) < loss_p:
                o = D + 1
            elif delay_on and lo_uniform(b) < delay_p:
                dl = 1 + int(bits_to_uniform(draw_bits(keys[k], STREAM_DELAY, lane, t)) * D)
                o = D if dl > D else dl
        pend[((base + o) * I + dest) * K + k] += w[W_QK + k]


#: a row of the shipment cache not drawn yet (outcomes are -1 lost, 0..D days late)
SHIP_UNDRAWN = -128


@jit(inline="always")
def _ship_codes(keys, lane, t, thr_loss, thr_late, delay_max, code):
    """code[k] = -1 lost, 0 on time, 1..delay_max days late: the shipment on `lane`
    departing day t of each scenario k of the block. The loss and lateness tests are one
    draw's halves compared as integers (rng.hi_threshold); the delay draw is made only for
    the late ones. -> how many are late."""
    K = LANES
    nl = 0
    for k in range(K):
        b = draw_bits(keys[k], STREAM_SHIP, lane, t)
        lost = (b >> S32) < thr_loss
        late = ((b & LO32) < thr_late) & ~lost
        code[k] = -1 if lost else (1 if late else 0)
        nl += late
    if nl > 0:
        for k in range(K):
            if code[k] > 0:
                dl = 1 + int(bits_to_uniform(draw_bits(keys[k], STREAM_DELAY, lane, t))
                             * delay_max)
                code[k] = delay_max if dl > delay_max else dl
    return nl


@jit(inline="always")
def _ship_block(ring, R, I, slot0, keys, lane, t, w, W_QK, lead, dest, T, ship_on, thr_loss,
                thr_late, delay_max, code, cached, rec, blk, L):
    """Send w[W_QK + k] units on `lane` departing day t in each scenario k of the block: lost,
    late or on time. A lost shipment (or qk = 0) adds +0.0 where it would have landed.
    cached: the outcomes come from rec[blk, t * L + lane] (int8 [K], as _ship_codes), drawn
    and written there the first time that lane-day is met."""
    K = LANES
    if not ship_on:
        if t + lead < T:  # arrivals past the horizon drop out
            slot = slot0 + lead
            if slot >= R:
                slot -= R
            rb = (slot * I + dest) * K
            for k in range(K):
                ring[rb + k] += w[W_QK + k]
        return
    if cached:
        c = t * L + lane
        if rec[blk, c, 0] == SHIP_UNDRAWN:
            nl = _ship_codes(keys, lane, t, thr_loss, thr_late, delay_max, code)
            for k in range(K):
                rec[blk, c, k] = code[k]
        else:
            nl = 0
            for k in range(K):
                o = rec[blk, c, k]
                code[k] = o
                nl += o > 0
    else:
        nl = _ship_codes(keys, lane, t, thr_loss, thr_late, delay_max, code)
    # on time: one add per scenario (+0.0 for the others); then the late ones, each to its
    # own day (every ring cell still gets this dispatch's units at most once, in order)
    if t + lead < T:
        slot = slot0 + lead
        if slot >= R:
            slot -= R
        rb = (slot * I + dest) * K
        for k in range(K):
            ring[rb + k] += w[W_QK + k] if code[k] == 0 else 0.0
    if nl > 0:
        for k in range(K):
            o = code[k]
            if o > 0 and t + lead + o < T:
                slot = slot0 + lead + o
                if slot >= R:
                    slot -= R
                ring[(slot * I + dest) * K + k] += w[W_QK + k]


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
def fan_accumulate(stock, m, e_lo, counts, vmin, vmax):
    """Add the first m scenarios of stock (float32 [n_blocks, C, LANES], replay_kernel's
    block-major record: scenario 32b + k of cell c at [b, c, k]; C = T*I cells) to
    counts [C, N_BINS] and min/max [C].

    e_lo [C] is the biased float32 exponent of the lowest resolved octave of each cell.
    Parallel over tiles of cells (every count is owned by one thread): the bins of a cell
    are computed branch-free along its scenarios (vectorised), then counted run by run (a
    cell whose scenarios share a bin, common, costs one increment, not a chain of them).
    """
    C = stock.shape[1]
    K = LANES
    bits = stock.view(np.int32)
    M = 1 << MANT_BITS
    n_tiles = (C + TILE - 1) // TILE
    for tile in numba.prange(n_tiles):
        c0 = tile * TILE
        nc = min(C, c0 + TILE) - c0
        bins = np.empty(m + K, dtype=np.int32)
        lo = np.empty(K, dtype=np.float32)  # per lane, element-wise (a min/max reduction
        hi = np.empty(K, dtype=np.float32)  # across lanes would be one serial chain)
        for cl in range(nc):
            c = c0 + cl
            el = e_lo[c]
            for k in range(K):
                lo[k] = vmin[c]
                hi[k] = vmax[c]
            for s0 in range(0, m, K):
                blk = s0 // K
                kk = m - s0
                for k in range(K):
                    v = stock[blk, c, k]
                    w = bits[blk, c, k]
                    use = k < kk  # lanes past m: scenarios nobody asked for
                    lo[k] = v if use and v < lo[k] else lo[k]
                    hi[k] = v if use and v > hi[k] else hi[k]
                    octave = ((w >> 23) & 0xFF) - el
                    b = 2 + octave * M + ((w >> (23 - MANT_BITS)) & (M - 1))
                    b = 1 if octave < 0 else b
                    b = N_BINS - 1 if octave >= OCTAVES else b
                    bins[s0 + k] = 0 if v <= 0.0 else b
            mn = lo[0]
            mx = hi[0]
            for k in range(1, K):
                mn = lo[k] if lo[k] < mn else mn
                mx = hi[k] if hi[k] > mx else mx
            vmin[c] = mn
            vmax[c] = mx
            cur = bins[0]
            r = 0
            for s in range(m):
                b = bins[s]
                if b != cur:
                    counts[c, cur] += r
                    cur = b
                    r = 0
                r += 1
            counts[c, cur] += r


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
