"""The closed-loop replay between replans: the scenario kernel run over a range of days
from a carried state, with a plan per scenario; and what a replanner reads off that state.

State of a chunk of scenarios (`ChunkState`) is the kernel's own per-block state (flat
float64 / int64 rows, layout `kernels.state_sizes`), plus each scenario's current plan
(x [n, L, T], u [n, I, T]). Nothing is copied out of the kernel but the few arrays a
replan needs: realised stock, shipments still expected (by day), surges and outages under
way, supplier pairs' dispatched units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scenarios.arrays import ReplayArrays, dispatch_order, kernel_model
from ..scenarios.inputs import NO_F1, NO_F2, NO_FLAGS, NO_STOCK, Dispatches, Outputs, Segment
from ..scenarios.kernels import (
    LANES,
    N_CKPI,
    N_CW,
    N_KPI,
    N_W,
    group_sums_lanes,
    replay_kernel,
    state_sizes,
)
from ..scenarios.params import ScenarioParams


@dataclass(frozen=True, eq=False)
class TrackInfo:
    """Sizes of the carried state (the same formulas as the kernel's)."""

    I: int
    R: int  # realised arrival ring
    D: int  # delay_max_days: a shipment overdue by more is known lost
    Rp: int  # tracking ring of planned arrival days
    n_nodes: int
    n_suppliers: int
    n_com: int
    n_sp: int
    nf: int
    ni: int

    @classmethod
    def of(cls, a: ReplayArrays, p: ScenarioParams, n_sp: int) -> TrackInfo:
        I, D = a.n_pairs, int(p.delay_max_days)
        R = a.max_lead + D + 1
        Rp = a.max_lead + D + 2
        NP = (D + 2) * Rp * I * LANES
        nf, ni = state_sizes(I, R, a.n_nodes, a.n_suppliers, a.n_com, n_sp, NP)
        return cls(I, R, D, Rp, a.n_nodes, a.n_suppliers, a.n_com, n_sp, nf, ni)

    def f_offsets(self) -> dict[str, int]:
        K, I = LANES, self.I
        o, out = 0, {}
        for name, m in (("stock", I), ("ring", self.R * I), ("z", I), ("node_mult", self.n_nodes),
                        ("w", N_W), ("wc", N_CW * self.n_com), ("disp", self.n_sp)):
            out[name] = o
            o += m * K
        out["pend"] = o
        return out


def segment_plan(X: np.ndarray, U: np.ndarray, a: ReplayArrays, lane_origin: np.ndarray,
                 from_sup: np.ndarray, t_lo: int, t_hi: int, width: int) -> Dispatches:
    """Per-scenario dispatch lists of days t_lo..t_hi-1 for the kernel's per-lane path.

    X [n, L, T], U [n, I, T] the scenarios' current plans; entries are the union of every
    scenario's x > 0, ordered exactly as `prepare` orders one plan's (so a chunk whose
    plans are all the same replays bit for bit as `evaluate`). Columns padded to `width`.
    """
    n, L, T = X.shape
    seg = X[:, :, t_lo:t_hi]
    lane, dd = np.nonzero((seg > 0).any(axis=0))
    day = dd + t_lo
    q = np.zeros((len(lane), width))
    q[:, :n] = seg[:, lane, dd].T
    si, sup_ptr, ni, gstart, grp_start, grp_ptr = dispatch_order(lane, day, from_sup,
                                                                 lane_origin, T)
    s_lane, s_q = lane[si], q[si]
    n_lane, n_orig = lane[ni], lane_origin[lane[ni]]
    n_q = q[ni]
    n_q = np.ascontiguousarray(n_q)
    uk = np.zeros((T, a.n_pairs, width))
    uk[t_lo:t_hi, :, :n] = U[:, :, t_lo:t_hi].transpose(2, 1, 0)
    return Dispatches(
        per_lane=True, sup_ptr=sup_ptr, sup_lane=np.ascontiguousarray(s_lane, np.int64),
        grp_ptr=grp_ptr, grp_pair=np.ascontiguousarray(n_orig[gstart], np.int64),
        grp_start=grp_start, node_lane=np.ascontiguousarray(n_lane, np.int64),
        sup_q=NO_F1, grp_total=NO_F1, node_q=NO_F1, unmet_plan=NO_F2,
        sup_qk=np.ascontiguousarray(s_q), grp_totk=group_sums_lanes(n_q, grp_start),
        node_qk=n_q, unmet_k=uk)


def run_segment(a: ReplayArrays, p: ScenarioParams, seed: int, start: int, n: int,
                plan: Dispatches, t_lo: int, t_hi: int, st_f: np.ndarray, st_i: np.ndarray,
                lane_sp: np.ndarray, info: TrackInfo, stock_rec: np.ndarray | None):
    """Replay days t_lo..t_hi-1 of scenarios start..start+n-1 from (and into) the state.
    -> (kpis [n, N_KPI], kpis by commodity [n, C, N_CKPI]) -- filled when t_hi == T."""
    kpi = np.full((n, N_KPI), np.nan)
    kpi_c = np.full((n, a.n_com, N_CKPI), np.nan)
    out = Outputs(kpi=kpi, kpi_c=kpi_c, record=stock_rec is not None,
                  stock=NO_STOCK if stock_rec is None else stock_rec, flags=False,
                  pair_flags=NO_FLAGS)
    seg = Segment(t_lo=int(t_lo), t_hi=int(t_hi), keep=True, st_f=st_f, st_i=st_i, track=True,
                  lane_sp=lane_sp, n_sp=int(info.n_sp))
    replay_kernel(np.int64(start), np.int64(n), np.uint64(seed), kernel_model(p), a.network(),
                  plan, out, seg)
    return kpi, kpi_c


@dataclass
class Known:
    """What the replanner of day t knows, for n scenarios."""

    stock: np.ndarray  # [n, I] realised end-of-day stock of day t-1
    expected: np.ndarray  # [n, I, T] shipments in transit, by the day they are expected
    surge_left: np.ndarray  # [n, nodes] days of a surge under way, from day t on
    outage_left: np.ndarray  # [n, suppliers] days of an outage under way, from day t on
    dispatched: np.ndarray  # [n, supplier pairs] units dispatched by suppliers so far


def known_at(t: int, n: int, T: int, st_f: np.ndarray, st_i: np.ndarray, info: TrackInfo,
             max_lead: int) -> Known:
    """Read the replanner's knowledge on day t off the kernel state of n scenarios."""
    K, I, nb = LANES, info.I, st_f.shape[0]
    off = info.f_offsets()

    def per_scen(a2: np.ndarray, m: int) -> np.ndarray:  # [nb, m*K] -> [n, m]
        return a2.reshape(nb, m, K).transpose(0, 2, 1).reshape(nb * K, m)[:n]

    stock = per_scen(st_f[:, off["stock"]:off["stock"] + I * K], I)
    disp = per_scen(st_f[:, off["disp"]:off["disp"] + info.n_sp * K], info.n_sp)
    N, S = info.n_nodes, info.n_suppliers
    surge = per_scen(st_i[:, :N * K], N)
    outage = per_scen(st_i[:, N * K:(N + S) * K], S)
    D, Rp = info.D, info.Rp
    pend = st_f[:, off["pend"]:off["pend"] + (D + 2) * Rp * I * K].reshape(nb, Rp, D + 2, I, K)
    expected = np.zeros((n, I, T))
    for a in range(max(0, t - D), min(T, t + max_lead)):
        slot = pend[:, a % Rp]  # [nb, D+2, I, K]
        if a >= t:
            amt, day = slot.sum(axis=1), a
        else:  # overdue: still expected (today) if late and not yet landed, or lost
            amt, day = slot[:, t - a:].sum(axis=1), t  # outcomes t-a..D late, and lost
        expected[:, :, day] += amt.transpose(0, 2, 1).reshape(nb * K, I)[:n]
    return Known(stock=stock, expected=expected, surge_left=surge, outage_left=outage,
                 dispatched=disp)
