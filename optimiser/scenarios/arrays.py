"""The plan and instance as the flat arrays the replay kernel consumes.

Built once per evaluation; picklable (numpy arrays and ints only), so the same
`ReplayArrays` can be shipped to other processes or machines with a chunk range.
Day-major layouts ([T, I]) keep each day's reads contiguous; the plan's
dispatches become per-day sparse lists (only x > 0).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from ..instance import Instance
from .inputs import DISPATCH_LISTS, NO_F2, NO_F3, ONE_PLAN, Dispatches, Network, ScenarioModel
from .kernels import OCTAVES, group_sums
from .params import PARAMETERS, ScenarioParams
from .rng import MAX_DAY, MAX_ENTITY


@dataclass(frozen=True, eq=False)
class ReplayArrays:
    """Everything the replay kernel reads of an instance and a plan; `network()` and
    `dispatches()` group the fields as the kernel takes them (inputs.Network,
    inputs.Dispatches)."""

    T: int
    n_suppliers: int
    n_nodes: int
    max_lead: int  # longest lead time that can still deliver inside the horizon
    sup_ptr: np.ndarray  # [T+1] supplier dispatch entries of day t: sup_ptr[t]:sup_ptr[t+1]
    sup_lane: np.ndarray  # [Es]
    sup_q: np.ndarray  # [Es]
    grp_ptr: np.ndarray  # [T+1] node dispatch groups (one per origin pair) of day t
    grp_pair: np.ndarray  # [G] origin pair of the group
    grp_total: np.ndarray  # [G] planned total out of that pair that day
    grp_start: np.ndarray  # [G+1] entries of the group: grp_start[g]:grp_start[g+1]
    node_lane: np.ndarray  # [En]
    node_q: np.ndarray  # [En]
    lane_lead: np.ndarray  # [L]
    lane_dest: np.ndarray  # [L] pair id
    lane_unit: np.ndarray  # [L] unit price (supplier lanes) + unit transport cost
    lane_supplier: np.ndarray  # [L] supplier id, -1 for lanes out of nodes
    demand: np.ndarray  # [T, I]
    unmet_plan: np.ndarray  # [T, I]
    pipeline: np.ndarray  # [T, I]
    floor: np.ndarray  # [T, I]
    init: np.ndarray  # [I]
    hold: np.ndarray  # [I]
    short_pen: np.ndarray  # [I]
    ready_pen: np.ndarray  # [I]
    pair_node: np.ndarray  # [I]
    pair_has_demand: np.ndarray  # [I] bool
    pair_com: np.ndarray  # [I] commodity id of each pair
    pair_live: np.ndarray  # [I] bool: replayed (False: skipped whole, see reliability.replay.restrict)
    n_com: int  # commodities
    fan_e_lo: np.ndarray  # [T*I] int32: lowest resolved float32 exponent of each fan cell
    fan_upper: np.ndarray  # [T*I] upper bound on end-of-day stock in any scenario

    @property
    def n_pairs(self) -> int:
        return int(self.init.shape[0])

    @property
    def n_lanes(self) -> int:
        return int(self.lane_lead.shape[0])

    @property
    def cells(self) -> int:
        """(node-commodity pairs + lanes) x days: the unit of the throughput figures."""
        return (self.n_pairs + self.n_lanes) * self.T

    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self)
                   if isinstance(getattr(self, f.name), np.ndarray))

    def network(self) -> Network:
        """The instance's arrays as replay_kernel reads them: every array a read-only view.
        The kernel never writes them, and numba types a read-only array apart from a
        writable one, so arrays that arrive read-only from Arrow beside writable ones
        would each compile a signature of their own (a ~2-minute compile per mix)."""
        return Network._make(_readonly(getattr(self, f)) for f in Network._fields)

    def dispatches(self) -> Dispatches:
        """The plan's arrays as replay_kernel reads them: one plan for every scenario."""
        return Dispatches(per_lane=False, **{f: getattr(self, f) for f in DISPATCH_LISTS},
                          **{f: getattr(self, f) for f in ONE_PLAN},
                          sup_qk=NO_F2, grp_totk=NO_F2, node_qk=NO_F2, unmet_k=NO_F3)


def kernel_model(p: ScenarioParams) -> ScenarioModel:
    """The scenario parameters as replay_kernel reads them, each as its declared type
    (params.PARAMETERS: floats as float64, counts as int64, whatever the caller passed:
    one compiled signature)."""
    return ScenarioModel._make(PARAMETERS[f][1](getattr(p, f)) for f in ScenarioModel._fields)


def _readonly(a):
    """A read-only view of an array (no copy), anything else as it is."""
    if not isinstance(a, np.ndarray):
        return a
    v = a.view()
    v.flags.writeable = False
    return v


def _c(a, dtype=np.float64) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=dtype)


def dispatch_order(lane: np.ndarray, day: np.ndarray, from_sup: np.ndarray,
                   lane_origin: np.ndarray, T: int):
    """The kernel's order of dispatch entries (entry k: `lane[k]` on `day[k]`), one
    owner for `prepare` and the closed loop's per-segment plans: supplier entries sorted
    by (day, lane); node entries sorted by (day, origin pair, lane) and grouped by (day,
    origin pair). -> (sup_idx, sup_ptr [T+1], node_idx, gstart, grp_start, grp_ptr
    [T+1]): sup_idx and node_idx index the entries in that order, gstart the first node
    entry of each group (grp_start = gstart + [end])."""
    sup = from_sup[lane]
    si = np.flatnonzero(sup)
    si = si[np.lexsort((lane[si], day[si]))]
    sup_ptr = np.searchsorted(day[si], np.arange(T + 1)).astype(np.int64)
    ni = np.flatnonzero(~sup)
    ni = ni[np.lexsort((lane[ni], lane_origin[lane[ni]], day[ni]))]
    n_day, n_orig = day[ni], lane_origin[lane[ni]]
    new = np.ones(len(ni), dtype=bool)
    new[1:] = (n_day[1:] != n_day[:-1]) | (n_orig[1:] != n_orig[:-1])
    gstart = np.flatnonzero(new)
    grp_start = np.append(gstart, len(ni)).astype(np.int64)
    grp_ptr = np.searchsorted(n_day[gstart], np.arange(T + 1)).astype(np.int64)
    return si, sup_ptr, ni, gstart, grp_start, grp_ptr


def prepare(inst: Instance, x: np.ndarray, u: np.ndarray) -> ReplayArrays:
    """Flatten an instance and a plan's dispatches x [L, T] and unmet u [I, T]."""
    T, I, L = inst.horizon, inst.n_pairs, inst.n_lanes
    if T >= MAX_DAY or max(I, L, len(inst.supplier_names), len(inst.node_names)) >= MAX_ENTITY:
        raise ValueError("instance too large for the scenario RNG counters")
    x = np.asarray(x, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    if x.shape != (L, T) or u.shape != (I, T):
        raise ValueError(f"plan arrays have shapes {x.shape}, {u.shape}; expected {(L, T)}, {(I, T)}")
    lead = inst.lane_lead.astype(np.int64)
    from_sup = inst.lane_from_supplier.astype(bool)
    # dispatches: only x > 0 (one that cannot arrive inside the horizon is still
    # dispatched and paid for; its arrival drops out like any late one)
    lane, day = np.nonzero(x > 0)
    q = x[lane, day]
    si, sup_ptr, ni, gstart, grp_start, grp_ptr = dispatch_order(
        lane, day, from_sup, inst.lane_origin, T)
    s_lane, s_q = lane[si], q[si]
    n_lane, n_q = lane[ni], q[ni]
    grp_pair = inst.lane_origin[n_lane][gstart].astype(np.int64)
    grp_total = group_sums(n_q, grp_start)  # left to right, in lane order
    lane_supplier = np.where(from_sup, inst.sp_supplier[np.where(from_sup, inst.lane_origin, 0)], -1)
    deliverable = lead[lead < T]
    max_lead = int(deliverable.max()) if len(deliverable) else 0
    upper = _stock_upper_bound(inst, x, lead)
    return ReplayArrays(
        T=T, n_suppliers=len(inst.supplier_names), n_nodes=len(inst.node_names), max_lead=max_lead,
        sup_ptr=sup_ptr, sup_lane=_c(s_lane, np.int64), sup_q=_c(s_q),
        grp_ptr=grp_ptr, grp_pair=_c(grp_pair, np.int64), grp_total=_c(grp_total),
        grp_start=grp_start, node_lane=_c(n_lane, np.int64), node_q=_c(n_q),
        lane_lead=_c(lead, np.int64), lane_dest=_c(inst.lane_dest, np.int64),
        lane_unit=_c(inst.lane_price + inst.lane_cost),
        lane_supplier=_c(lane_supplier, np.int64),
        demand=_c(inst.demand.T), unmet_plan=_c(u.T), pipeline=_c(inst.pipeline.T),
        floor=_c(inst.floor.T), init=_c(inst.initial_stock), hold=_c(inst.holding_cost),
        short_pen=_c(inst.shortfall_penalty), ready_pen=_c(inst.readiness_penalty),
        pair_node=_c(inst.nc_node, np.int64), pair_has_demand=_c((inst.demand > 0).any(axis=1), bool),
        pair_com=_c(inst.nc_commodity, np.int64), pair_live=np.ones(I, dtype=bool),
        n_com=len(inst.commodities),
        fan_e_lo=_fan_e_lo(upper), fan_upper=_c(upper.ravel()),
    )


def _stock_upper_bound(inst: Instance, x: np.ndarray, lead: np.ndarray) -> np.ndarray:
    """[T, I] bound on end-of-day stock in any scenario: initial stock + pipeline + every
    unit planned to arrive by that day (scaling and outages only remove units, delays only
    postpone them, losses remove them, consumption only lowers stock)."""
    T, I = inst.horizon, inst.n_pairs
    inflow = np.zeros((T, I))
    lane, day = np.nonzero(x > 0)
    arr = day + lead[lane]
    ok = arr < T
    np.add.at(inflow, (arr[ok], inst.lane_dest[lane[ok]]), x[lane[ok], day[ok]])
    ub = inst.initial_stock[None, :] + np.cumsum(inflow + inst.pipeline.T, axis=0)
    return ub * (1.0 + 1e-6) + 1e-300  # float32 rounding of stock stays inside the bound


def _fan_e_lo(upper: np.ndarray) -> np.ndarray:
    # float32 values in [2**(e-1), 2**e) have biased exponent e - 1 + 127; the top octave
    # is the one holding U (U < 2**e_hi), OCTAVES octaves are resolved below it.
    e_hi = np.frexp(upper.ravel())[1].astype(np.int64)
    return np.clip(e_hi + 126 - (OCTAVES - 1), 1, 254).astype(np.int32)
