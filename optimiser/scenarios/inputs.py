"""The replay kernel's inputs (kernels.replay_kernel), as named tuples of arrays and
scalars: numba types each as a record of its fields and the kernel reads them by name.

Each is built in one place: Network and Dispatches carry fields of arrays.ReplayArrays,
where their shapes and meanings are declared, and are built there (ReplayArrays.network,
.dispatches); a per-scenario Dispatches by simulate.state.segment_plan; ScenarioModel by
arrays.kernel_model; Segment by `open_loop` here or simulate.state.run_segment; Outputs by
the three callers of the kernel (scenarios.evaluate._replay, simulate.state.run_segment,
reliability.replay._run, which alone sets its `kpis` / `red` fields: a Reduction).
The types of the fields are part of the compiled signature: keep them (ints as int64,
floats as float64, C-contiguous arrays), and evaluation and the closed loop share one
compiled kernel.

numba: constants compiled into kernels -- the kernel reads a field at the position it had
when compiled, so this module is part of the kernels' cache digest (optimiser/_numba.py):
reordering or renaming fields recompiles them.
"""

from __future__ import annotations

from collections import namedtuple
from typing import NamedTuple

import numpy as np

from .kernels import LANES


class ScenarioModel(NamedTuple):
    """The scenario model's parameters (ScenarioParams' fields, docs/SCENARIOS.md)."""

    demand_sigma: float
    demand_phi: float
    surge_prob: float
    surge_multiplier: float
    surge_days: int
    outage_prob: float
    outage_days: int
    delay_prob: float
    delay_max_days: int
    loss_prob: float


#: the instance as flat arrays, prepared once per evaluation
Network = namedtuple("Network", (
    "T", "n_suppliers", "n_nodes", "n_com", "max_lead", "lane_lead", "lane_dest", "lane_unit",
    "lane_supplier", "demand", "pipeline", "floor", "init", "hold", "short_pen", "ready_pen",
    "pair_node", "pair_has_demand", "pair_com", "pair_live"))
#: a plan's per-day sparse dispatch lists (only x > 0; order: arrays.dispatch_order)
DISPATCH_LISTS = ("sup_ptr", "sup_lane", "grp_ptr", "grp_pair", "grp_start", "node_lane")
#: the quantities of one plan for every scenario: sup_q [Es], grp_total [G], node_q [En],
#: and the plan's own unmet [T, I]
ONE_PLAN = ("sup_q", "grp_total", "node_q", "unmet_plan")
#: the same, one plan per scenario (closed loop): sup_qk [Es, n'], grp_totk [G, n'],
#: node_qk [En, n'], unmet_k [T, I, n'], column = scenario - start
PER_LANE = ("sup_qk", "grp_totk", "node_qk", "unmet_k")
#: a plan as the kernel reads it; with per_lane the PER_LANE quantities, else ONE_PLAN's
#: (the other set holds placeholders)
Dispatches = namedtuple("Dispatches", ("per_lane", *DISPATCH_LISTS, *ONE_PLAN, *PER_LANE))


class Reduction(NamedTuple):
    """What a reliability replay (optimiser/reliability/replay.py) reduces end-of-day stock
    to, inside the kernel's day loop, for the pairs with a target only: no stock record.

    S = stock - h[i] of pair i on day t (h: the virtual stock of a training replay, else 0);
    readiness pair p = slot_r[i] >= 0: breach S < lim_r[t, p], needed floor_r[t, p] - S;
    service pair p = slot_s[i] >= 0: breach S <= stol[t, p] on a day serve[t, p], needed
    (stol - S) + margin. Per scenario j of the call (j = scenario - start): br/bs [n, pairs]
    any breach; with `price`, pr/ps [n, pairs] the sum over days, in day order, of needed *
    w_r / w_s [t, p]. With `keep`, block b's S of (pair, day) goes to sr/ss [pairs, T,
    blocks * LANES] (column 32 b + k) and mr/ms [pairs, T, blocks] = 1 when some lane of the
    block breaches there (other blocks' columns are not written). With fan_n > 0, the
    end-of-day stock of fan pair f = slot_f[i] >= 0 of scenarios j < fan_n goes to fan
    [ceil(fan_n / LANES), T * F, LANES] float32 (cell t * F + f, fan_accumulate's layout).
    The realised demand of block b's scenarios (after surges; it depends on the scenario
    and the instance only, not on the plan) with dem_mode 1 is drawn as always and written
    to dem [blocks, T * I, LANES] (column t * I + i), with dem_mode 2 read from it instead
    of drawn (no demand or surge draws); 0: drawn, not written. The same modes keep the
    other draws that do not depend on the plan, when their arrays have these shapes
    (otherwise they are drawn): `outage` [blocks, T * S, LANES] int8, 1 where supplier s is
    in outage on day t (column t * S + s; mode 1 writes, mode 2 reads: no outage draws);
    `ship` [blocks, T * L, LANES] int8, the outcome of a shipment on lane l departing day
    t (column t * L + l: -1 lost, 0 on time, 1..delay_max_days late), filled with
    kernels.SHIP_UNDRAWN by the caller and drawn and written by the first replay that
    dispatches on that lane-day (mode 1 or 2), read by the later ones.
    Open loop only (optimiser/simulate does not use it)."""

    on: bool
    price: bool
    keep: bool
    fan_n: int
    slot_r: np.ndarray  # [I] int64
    slot_s: np.ndarray  # [I] int64
    slot_f: np.ndarray  # [I] int64
    h: np.ndarray  # [I] float64
    lim_r: np.ndarray  # [T, Ir] float64
    floor_r: np.ndarray  # [T, Ir]
    w_r: np.ndarray  # [T, Ir]
    serve: np.ndarray  # [T, Is] bool
    stol: np.ndarray  # [T, Is] float64
    margin: np.ndarray  # [T, Is]
    w_s: np.ndarray  # [T, Is]
    br: np.ndarray  # [n, Ir] bool
    bs: np.ndarray  # [n, Is] bool
    pr: np.ndarray  # [n, Ir] float64
    ps: np.ndarray  # [n, Is]
    sr: np.ndarray  # [Ir, T, blocks * LANES] float64
    mr: np.ndarray  # [Ir, T, blocks] uint8
    ss: np.ndarray  # [Is, T, blocks * LANES]
    ms: np.ndarray  # [Is, T, blocks] uint8
    fan: np.ndarray  # [ceil(fan_n / LANES), T * F, LANES] float32
    dem_mode: int  # 0 draw demand, 1 draw and write it to dem, 2 read it from dem
    dem: np.ndarray  # [blocks, T * I, LANES] float64
    ship: np.ndarray  # [blocks, T * L, LANES] int8
    outage: np.ndarray  # [blocks, T * S, LANES] int8


_F2 = np.zeros((1, 1))
_B2 = np.zeros((1, 1), dtype=np.bool_)
_U3 = np.zeros((1, 1, 1), dtype=np.uint8)
_I1 = np.full(1, -1, dtype=np.int64)
#: Outputs.red of a replay that reduces nothing (every other caller)
NO_REDUCTION = Reduction(on=False, price=False, keep=False, fan_n=0, slot_r=_I1, slot_s=_I1,
                         slot_f=_I1, h=np.zeros(1), lim_r=_F2, floor_r=_F2, w_r=_F2,
                         serve=_B2, stol=_F2, margin=_F2, w_s=_F2, br=_B2, bs=_B2, pr=_F2,
                         ps=_F2, sr=np.zeros((1, 1, 1)), mr=_U3, ss=np.zeros((1, 1, 1)),
                         ms=_U3, fan=np.zeros((1, 1, 1), dtype=np.float32), dem_mode=0,
                         dem=np.zeros((1, 1, 1)), ship=np.zeros((0, 0, 1), dtype=np.int8),
                         outage=np.zeros((0, 0, 1), dtype=np.int8))


class Outputs(NamedTuple):
    """Where the kernel writes (callers allocate)."""

    kpi: np.ndarray  # [n, N_KPI] float64, columns kpis.KPI_NAMES
    kpi_c: np.ndarray  # [n, n_com, N_CKPI] float64, columns kpis.COMMODITY_KPI_NAMES
    record: bool  # write end-of-day stock into `stock`
    stock: np.ndarray  # [n_blocks, T*I, LANES] float32 or float64
    flags: bool  # write per-pair indicators into `pair_flags`
    pair_flags: np.ndarray  # [n, I] uint8
    kpis: bool = True  # accumulate and write kpi / kpi_c (False: they are left unwritten)
    red: Reduction = NO_REDUCTION  # the reliability replay's reduction (red.on)


class Segment(NamedTuple):
    """The days replayed and the carried state (closed loop, optimiser/simulate)."""

    t_lo: int
    t_hi: int
    keep: bool  # read (t_lo > 0) and write each block's state in st_f / st_i
    st_f: np.ndarray  # [blocks, nf] float64 (layout: state_sizes)
    st_i: np.ndarray  # [blocks, ni] int64
    track: bool  # keep dispatched units and shipments in transit in the state
    lane_sp: np.ndarray  # [L] int64 supplier pair of a lane, -1 from a node
    n_sp: int  # supplier pairs


# placeholders for the inputs a call does not use (their types are the used ones')
NO_F1 = np.zeros(1)
NO_F2 = np.zeros((1, LANES))
NO_F3 = np.zeros((1, 1, LANES))
NO_I1 = np.zeros(1, dtype=np.int64)
NO_I2 = np.zeros((1, 1), dtype=np.int64)
NO_STOCK = np.empty((1, 1, 1), dtype=np.float32)  # Outputs.stock when not recording
NO_FLAGS = np.zeros((1, 1), dtype=np.uint8)  # Outputs.pair_flags when not flagging


def open_loop(T: int) -> Segment:
    """Every day 0..T-1 from the initial state, nothing carried (evaluation)."""
    return Segment(t_lo=0, t_hi=int(T), keep=False, st_f=NO_F2, st_i=NO_I2, track=False,
                   lane_sp=NO_I1, n_sp=0)
