"""Training and certification replays: the scenario kernel in its reliability mode
(scenarios/inputs.py `Reduction`), reduced per chunk to what the loop needs, by pure
functions (picklable in and out) so chunks run here or as Dask tasks and give the same
bits.

A training chunk (`pass1_chunk`) replays scenarios start..stop-1 once, without KPIs and
without a stock record: inside the kernel's day loop, the end-of-day stock S of each
pair with a target is reduced to breach flags per (scenario, pair) and kind -- readiness
(S < floor - 1e-6 max(1, floor) on some day, against the instance's floor) and service
(stock exhausted, S <= 1e-9 max(1, demand), on a day the plan means to serve
consumption) -- and prices; for the kept shortfalls, S of a (pair, day) goes to a compact
record only for the blocks of 32 scenarios where one breaches (`_keep_sparse` then offers
them to the heaps in scenario order). The same floating-point operations in the same order
as the record-based passes they replaced (reliability/record.py `pass1_chunk_record`: the
kernel's whole float64 stock record reduced by Numba passes, kept as the reference the
tests compare with), so the same bits, at a fraction of the memory traffic.

Certification (`certify_chunk`) replays the plan as it is, with the kernel's own per-pair
breach / shortfall flags and no KPIs, and bins the fan of the first FAN_SCENARIOS
scenarios of its range on the way (`FanHist`; `Runner.fan_of` hands it to
reliability/fan.py), so the fan costs no replay of its own. Training replays the plan
with a virtual stock H_i added to the initial stock of every pair with a target (H_i
above anything the horizon can consume or send out, so such a pair never runs dry and
always dispatches in full):
S - H is then the stock the pair would have had without running out, so how far a
scenario falls below the floor is seen in full, not cut off at zero. From it:

- `needed` [n, t, i]: how much more planned stock would have kept scenario n whole on
  day t (readiness: floor - (S - H); service: how far below zero it went);
- pass 1: each scenario's price per pair, sum_t needed * weight (weight = the LP's
  marginal cost of one more unit of planning floor that day, plus holding);
- the same replay keeps, per (pair, day), the `keep` largest `needed` with their scenario
  (`Shortfalls`, a bounded min-heap per pair and day, parallel over pairs): the loop
  leaves at most keep - 1 breaching scenarios of an event uncovered, so given which
  scenarios each pair is to be covered for, the largest `needed` over them is the largest
  kept one of a covered scenario (`Shortfalls.buffers`) -- the buffer that covers them
  all, the same bits as taking it over the whole record, without replaying the training
  scenarios a second time (maxima merge exactly, in any order).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numba
import numpy as np

from ..scenarios.arrays import ReplayArrays, kernel_model
from ..scenarios.inputs import NO_REDUCTION as _NO_REDUCTION
from ..scenarios.inputs import NO_STOCK, Outputs, Reduction, open_loop
from ..scenarios.kernels import (
    FLAG_BREACH,
    FLAG_SHORT,
    LANES,
    N_BINS,
    SHIP_UNDRAWN,
    fan_accumulate,
    fan_percentiles,
    replay_kernel,
)
from ..scenarios.params import ScenarioParams
from .fan import FAN_SCENARIOS
from .shortfalls import Shortfalls, _keep_sparse

SLICE_BYTES = 32 * 2 ** 20
#: the training scenarios' plan-independent draws (DemandCache) are kept between the loop's
#: training replays (local runs) when they take at most this many bytes
DEMAND_CACHE_BYTES = 512 * 2 ** 20


@dataclass(frozen=True, eq=False)
class Events:
    """What the replays test: the instance floors and the days the plan serves consumption."""

    ready: np.ndarray  # [Ir] pair ids with a readiness target
    service: np.ndarray  # [Is] pair ids with a service target
    floor: np.ndarray  # [T, Ir] instance floor
    ftol: np.ndarray  # [T, Ir] breach tolerance 1e-6 max(1, floor)
    serve: np.ndarray  # [T, Is] bool: the plan means to serve consumption that day
    stol: np.ndarray  # [T, Is] exhaustion tolerance 1e-9 max(1, demand)
    margin: np.ndarray  # [T, Is] 1e-6 max(1, demand): cover a little past exhaustion


def make_events(inst, ready_mask, service_mask, u_plan) -> Events:
    ready = np.flatnonzero(ready_mask)
    service = np.flatnonzero(service_mask)
    F = np.ascontiguousarray(inst.floor[ready].T)
    d = inst.demand[service].T
    target = np.maximum(d - u_plan[service].T, 0.0)
    return Events(ready=ready, service=service, floor=F, ftol=1e-6 * np.maximum(1.0, F),
                  serve=(d > 0) & (target > 1e-6 * np.maximum(1.0, d)),
                  stol=1e-9 * np.maximum(1.0, d), margin=1e-6 * np.maximum(1.0, d))


def virtual(inst, arrays: ReplayArrays, x: np.ndarray, params: ScenarioParams,
            pairs: np.ndarray) -> tuple[ReplayArrays, np.ndarray]:
    """(arrays with H added to the initial stock of `pairs` [I] bool, H [I]): H is a power
    of two above everything the pair could consume or send out over the horizon."""
    mult = math.exp(8.5 * params.demand_sigma) * max(1.0, params.surge_multiplier)
    out = np.zeros(inst.n_pairs)
    node = ~inst.lane_from_supplier
    np.add.at(out, inst.lane_origin[node], x[node].sum(axis=1))
    H = inst.demand.sum(axis=1) * mult + out + inst.initial_stock + 1.0
    H = np.where(pairs, 2.0 ** np.ceil(np.log2(H)), 0.0)
    return dataclasses.replace(arrays, init=np.ascontiguousarray(arrays.init + H)), H


def upstream(inst, pairs: np.ndarray) -> np.ndarray:
    """[I] bool: `pairs` [I] bool and every pair that can send stock to one of them over
    lanes out of nodes, directly or through others -- the pairs whose replay the stock of
    `pairs` depends on. A pair's end-of-day stock depends only on its own consumption, on
    what arrives (from suppliers, and from the pairs with a lane into it, scaled by their
    stock) and on what it sends out (scaled by its own stock), never on what happens
    downstream of it."""
    need = np.asarray(pairs, dtype=bool).copy()
    node = ~np.asarray(inst.lane_from_supplier, dtype=bool)
    org = np.asarray(inst.lane_origin)[node]
    dst = np.asarray(inst.lane_dest)[node]
    while True:
        grow = need.copy()
        grow[org[need[dst]]] = True
        if np.array_equal(grow, need):
            return need
        need = grow


def restrict(arrays: ReplayArrays, need: np.ndarray) -> ReplayArrays:
    """`arrays` replayed only as far as the stock of the pairs in `need` [I] bool (an
    `upstream` closure) goes: the other pairs consume nothing and hold no floor, and the
    dispatches into them (and every dispatch out of them) are dropped, and the kernel
    skips them whole (`pair_live`; their stock is not replayed, nor recorded); a group of
    node dispatches keeps its planned total (what leaves the origin's stock). Each kept
    pair then sees the same arrivals, in the same order, from the same draws (a draw is
    keyed by the pair, lane or supplier it is for, not by its position), so its stock is
    bit for bit what the whole replay gives; the dropped pairs cost nothing. `arrays`
    itself when every pair is needed."""
    need = np.asarray(need, dtype=bool)
    if need.all():
        return arrays
    a, T = arrays, arrays.T
    days = np.arange(T + 1)
    sup_day = np.repeat(np.arange(T), np.diff(a.sup_ptr))
    ks = need[a.lane_dest[a.sup_lane]]
    G = len(a.grp_pair)
    grp_day = np.repeat(np.arange(T), np.diff(a.grp_ptr))
    kg = need[a.grp_pair]
    entry_grp = np.repeat(np.arange(G), np.diff(a.grp_start))
    ke = kg[entry_grp] & need[a.lane_dest[a.node_lane]]
    per = np.bincount(entry_grp[ke], minlength=G)[kg]
    drop = ~need
    demand = a.demand.copy()
    demand[:, drop] = 0.0
    floor = a.floor.copy()
    floor[:, drop] = 0.0
    return dataclasses.replace(
        a, sup_ptr=np.searchsorted(sup_day[ks], days).astype(np.int64),
        sup_lane=np.ascontiguousarray(a.sup_lane[ks]), sup_q=np.ascontiguousarray(a.sup_q[ks]),
        grp_ptr=np.searchsorted(grp_day[kg], days).astype(np.int64),
        grp_pair=np.ascontiguousarray(a.grp_pair[kg]),
        grp_total=np.ascontiguousarray(a.grp_total[kg]),
        grp_start=np.concatenate([[0], np.cumsum(per)]).astype(np.int64),
        node_lane=np.ascontiguousarray(a.node_lane[ke]),
        node_q=np.ascontiguousarray(a.node_q[ke]), demand=demand, floor=floor,
        pair_has_demand=np.ascontiguousarray(a.pair_has_demand & need),
        pair_live=np.ascontiguousarray(a.pair_live & need))


def _slice_size(n: int, row_bytes: int) -> int:
    """Scenarios per slice of a range of n: records of about SLICE_BYTES at most (row_bytes
    per scenario), slices of equal size, each whole rounds of blocks of LANES scenarios
    per thread (no thread idles at the end of a slice)."""
    most = max(LANES, SLICE_BYTES // max(1, row_bytes) // LANES * LANES)
    slices = max(1, _ceil(n, most))
    th = numba.get_num_threads()
    return max(1, _ceil(_ceil(_ceil(n, slices), LANES), th)) * th * LANES


def _ceil(a: int, b: int) -> int:
    return (a + b - 1) // b


def _shift(arrays, shift):
    return np.zeros(arrays.n_pairs) if shift is None else np.ascontiguousarray(shift, float)


def _lim(ev: Events):
    """floor - ftol, the value the breach test compares with (computed once, in numpy)."""
    return np.ascontiguousarray(ev.floor - ev.ftol)


def _slots(I: int, pairs: np.ndarray) -> np.ndarray:
    """[I] int64: the position of pair i in `pairs`, -1 for the others."""
    out = np.full(I, -1, dtype=np.int64)
    out[pairs] = np.arange(len(pairs), dtype=np.int64)
    return out


def fan_pairs(ev: Events) -> np.ndarray:
    """The pairs whose stock the certification fan draws: those with a target, ascending."""
    return np.union1d(ev.ready, ev.service).astype(np.int64)


def _run(arrays: ReplayArrays, params: ScenarioParams, seed: int, start: int, n: int,
         red: Reduction, flags: bool = False) -> np.ndarray:
    """replay_kernel in reliability mode: no KPIs, no stock record, the reduction `red`
    (and per-pair flags [n, I] with `flags`)."""
    a = arrays
    pf = np.zeros((n, a.n_pairs) if flags else (1, 1), dtype=np.uint8)
    out = Outputs(kpi=_NO_KPI, kpi_c=_NO_KPI_C, record=False, stock=NO_STOCK, flags=flags,
                  pair_flags=pf, kpis=False, red=red)
    replay_kernel(np.int64(start), np.int64(n), np.uint64(seed), kernel_model(params),
                  a.network(), a.dispatches(), out, open_loop(a.T))
    return pf


_NO_KPI = np.empty((1, 1))
_NO_KPI_C = np.empty((1, 1, 1))


def pass1_chunk(arrays: ReplayArrays, params: ScenarioParams, seed: int, start: int,
                stop: int, ev: Events, w_ready: np.ndarray | None,
                w_service: np.ndarray | None, shift: np.ndarray | None = None,
                keep: int = 0, demand: DemandCache | None = None) -> tuple:
    """(start, breach_ready [n, Ir], breach_service [n, Is], price_ready, price_service,
    shortfalls); prices are None without weights, shortfalls (`Shortfalls`, the `keep`
    largest per pair and day) None without keep. shift: H of the virtual stock.
    demand: the plan-independent draws of these scenarios (`DemandCache` starting at
    `start`, at least this long): drawn and kept in it for the blocks of LANES scenarios
    it does not hold yet, read from it (no demand, outage or ship draws) for the others.

    One replay in reliability mode (inputs.Reduction): the breach flags and prices are
    reduced inside the kernel's day loop for the pairs with a target; with `keep`, the
    stock of a (pair, day) goes to a compact record only for the blocks of 32 scenarios
    where one breaches, which `_keep_sparse` offers to the heaps in scenario order. The
    same bits as the record-based passes (reliability/record.py)."""
    n, T, I = stop - start, arrays.T, arrays.n_pairs
    Ir, Is = len(ev.ready), len(ev.service)
    br = np.zeros((n, Ir), bool)
    bs = np.zeros((n, Is), bool)
    price = w_ready is not None or w_service is not None
    pr = np.zeros((n, Ir) if price else (1, 1))
    ps = np.zeros((n, Is) if price else (1, 1))
    wr = np.zeros((T, Ir)) if w_ready is None else np.ascontiguousarray(w_ready, float)
    ws = np.zeros((T, Is)) if w_service is None else np.ascontiguousarray(w_service, float)
    H, lim = _shift(arrays, shift), _lim(ev)
    sf = Shortfalls.empty(Ir, Is, T, min(keep, n)) if keep else None
    per = max(n, 1)
    if sf is not None:  # slices of about SLICE_BYTES of compact record
        per = _slice_size(n, 8 * T * max(1, Ir + Is))
        nb = (min(per, n) + LANES - 1) // LANES
        sr = np.empty((Ir, T, nb * LANES))
        ss = np.empty((Is, T, nb * LANES))
        cr = np.zeros((Ir, T), np.int64)
        cs = np.zeros((Is, T), np.int64)
    else:
        sr, ss = _NO_REC, _NO_REC
    base = dict(on=True, price=price, keep=sf is not None, fan_n=0,
                slot_r=_slots(I, ev.ready), slot_s=_slots(I, ev.service),
                slot_f=np.full(I, -1, dtype=np.int64), h=H, lim_r=lim,
                floor_r=np.ascontiguousarray(ev.floor, float), w_r=wr,
                serve=np.ascontiguousarray(ev.serve, np.bool_),
                stol=np.ascontiguousarray(ev.stol, float),
                margin=np.ascontiguousarray(ev.margin, float), w_s=ws, sr=sr, ss=ss,
                fan=_NO_REDUCTION.fan)
    cuts = [start, stop]
    if demand is not None and not (demand.start <= start and stop <= demand.stop
                                   and (start - demand.start) % LANES == 0):
        raise ValueError(f"scenarios {start}..{stop - 1} are not a range of blocks of the "
                         f"cache of {demand.start}..{demand.stop - 1}")
    if demand is not None:  # the blocks the cache holds, then those it does not
        cuts.insert(1, min(stop, max(start, demand.start + demand.blocks * LANES)))
    parts = [(a, min(c1, a + per)) for c0, c1 in zip(cuts, cuts[1:])
             for a in range(c0, c1, per)]
    for a, b in parts:
        mode = 0 if demand is None else (2 if b <= demand.start + demand.blocks * LANES
                                         else 1)
        o = slice(a - start, b - start)
        m = b - a
        nb = (m + LANES - 1) // LANES
        mr = np.zeros((Ir, T, nb) if sf is not None else (1, 1, 1), np.uint8)
        ms = np.zeros((Is, T, nb) if sf is not None else (1, 1, 1), np.uint8)
        red = Reduction(br=br[o], bs=bs[o], pr=pr[o] if price else pr,
                        ps=ps[o] if price else ps, mr=mr, ms=ms, dem_mode=mode,
                        **_cached(demand, a), **base)
        _run(arrays, params, seed, a, m, red)
        if sf is not None:
            _keep_sparse(sr, mr, ss, ms, m, a, lim, ev.floor, ev.serve, ev.stol, ev.margin,
                         sf.ready, sf.ready_ids, cr, sf.service, sf.service_ids, cs)
    if demand is not None:
        demand.blocks = max(demand.blocks, _ceil(stop - demand.start, LANES))
    return (start, br, bs, pr if w_ready is not None else None,
            ps if w_service is not None else None, sf)


_NO_REC = np.zeros((1, 1, 1))


def _cached(demand: DemandCache | None, a: int) -> dict:
    """The Reduction's cache arrays from scenario a (a block's first) of `demand` on
    (placeholders without)."""
    if demand is None:
        return dict(dem=_NO_REDUCTION.dem, ship=_NO_REDUCTION.ship,
                    outage=_NO_REDUCTION.outage)
    b0 = (a - demand.start) // LANES
    ship = demand.ship[b0:] if demand.ship.shape[0] else demand.ship
    return dict(dem=demand.rec[b0:], ship=ship, outage=demand.outage[b0:])


@dataclass(eq=False)
class DemandCache:
    """The draws of scenarios start..stop-1 of `seed` under `params` that do not depend on
    the plan, kept between the training replays (inputs.Reduction, dem_mode): the realised
    demand (after surges) `rec` [blocks, T * I, LANES] float64, the supplier outage days
    `outage` [blocks, T * S, LANES] int8 (1: in outage) and the shipment outcomes `ship`
    [blocks, T * L, LANES] int8 (-1 lost, 0 on time, 1..delay_max_days late) of every
    lane-day, drawn by the first replay that dispatches there (a later plan may dispatch
    where no earlier one did: those are drawn then, the same values). The training replays
    of every iteration after the first read them instead of drawing them again (the same
    values: the first replay's), so they cost about what a replay without noise costs."""

    seed: int
    start: int
    stop: int
    params: ScenarioParams
    source: tuple  # the instance arrays the demand is drawn from (for `fits`)
    rec: np.ndarray
    blocks: int = 0  # the leading blocks of LANES scenarios drawn and kept

    ship: np.ndarray = dataclasses.field(default_factory=lambda: _NO_REDUCTION.ship)
    outage: np.ndarray = dataclasses.field(default_factory=lambda: _NO_REDUCTION.outage)

    @staticmethod
    def nbytes(arrays: ReplayArrays, n: int) -> int:
        return _ceil(n, LANES) * LANES * arrays.T * (
            arrays.n_pairs * 8 + arrays.n_lanes + arrays.n_suppliers)

    @classmethod
    def new(cls, arrays, params, seed, start, stop) -> DemandCache:
        nb, T = _ceil(stop - start, LANES), arrays.T
        rec = np.empty((nb, T * arrays.n_pairs, LANES))
        # outcomes as int8: days late up to 127 (longer delays are drawn every time)
        ship = (np.full((nb, T * arrays.n_lanes, LANES), SHIP_UNDRAWN, np.int8)
                if params.delay_max_days <= 127 else _NO_REDUCTION.ship)
        outage = np.empty((nb, T * arrays.n_suppliers, LANES), np.int8)
        return cls(int(seed), int(start), int(stop), params, _demand_source(arrays), rec,
                   ship=ship, outage=outage)

    def grown(self, arrays: ReplayArrays, stop: int) -> DemandCache:
        """This cache for scenarios start..stop-1 (stop >= self.stop): what it holds kept,
        the rest to draw."""
        out = DemandCache.new(arrays, self.params, self.seed, self.start, stop)
        b = self.blocks
        out.rec[:b] = self.rec[:b]
        out.outage[:b] = self.outage[:b]
        if out.ship.shape[0]:
            out.ship[:b] = self.ship[:b]
        out.blocks = b
        return out

    @property
    def filled(self) -> bool:
        """Whether every scenario start..stop-1 is kept."""
        return self.blocks * LANES >= self.stop - self.start

    def fits(self, arrays, params, seed, start, stop) -> bool:
        """Whether this cache holds (or will hold) scenarios start..stop-1 of `seed` under
        `params` and `arrays`' instance: the same start, stop within its range."""
        return ((self.seed, self.start) == (int(seed), int(start)) and int(stop) <= self.stop
                and self.params == params and all(
                    np.array_equal(x, y) for x, y in zip(self.source, _demand_source(arrays))))


def _demand_source(arrays: ReplayArrays) -> tuple:
    return (np.asarray(arrays.T), np.asarray(arrays.n_nodes), arrays.demand,
            arrays.pair_has_demand, arrays.pair_node, np.asarray(arrays.n_suppliers),
            np.asarray(arrays.n_lanes))


@dataclass(frozen=True, eq=False)
class FanHist:
    """The fan histograms (fan_accumulate's) of some scenarios' end-of-day stock of `pairs`
    [F] (cell t * F + f), mergeable by addition / min / max in any order."""

    pairs: np.ndarray  # [F] int64
    count: int  # scenarios binned
    counts: np.ndarray  # [T * F, N_BINS] uint32
    vmin: np.ndarray  # [T * F] float32
    vmax: np.ndarray  # [T * F] float32

    @classmethod
    def empty(cls, pairs: np.ndarray, T: int) -> FanHist:
        C = T * len(pairs)
        return cls(pairs, 0, np.zeros((C, N_BINS), np.uint32), np.full(C, np.inf, np.float32),
                   np.full(C, -np.inf, np.float32))

    def merge(self, other: FanHist | None) -> FanHist:
        if other is None:
            return self
        return FanHist(self.pairs, self.count + other.count, self.counts + other.counts,
                       np.minimum(self.vmin, other.vmin), np.maximum(self.vmax, other.vmax))

    def percentiles(self, arrays: ReplayArrays, qs=(0.05, 0.5, 0.95)) -> np.ndarray:
        """[F, T, len(qs)]: fan_percentiles of each cell (what fan_values gives for it)."""
        T, F = arrays.T, len(self.pairs)
        out = np.empty((T * F, len(qs)))
        fan_percentiles(self.counts, _fan_e_lo(arrays, self.pairs), self.vmin, self.vmax,
                        np.asarray(qs, float), out)
        return out.reshape(T, F, len(qs)).transpose(1, 0, 2)


def _fan_e_lo(arrays: ReplayArrays, pairs: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(arrays.fan_e_lo.reshape(arrays.T, arrays.n_pairs)[:, pairs]
                                .ravel())


def certify_chunk(arrays: ReplayArrays, params: ScenarioParams, seed: int, start: int,
                  stop: int, ev: Events, fan_stop: int | None = None) -> tuple:
    """(start, breach_ready [n, Ir], short_service [n, Is]) of the plan as it is: the
    kernel's own per-pair indicators (breach: below floor - 1e-6 max(1, floor) on some
    day; short: consumption short of its target beyond the plan's rationing by more than
    1e-6 max(1, demand) on some day), no stock recorded, no KPIs.

    With fan_stop, a fourth item: the fan histograms (`FanHist`) of the pairs with a
    target over scenarios start..min(stop, fan_stop)-1 (None when that is empty), binned
    from the same replay (their stock recorded as float32 for those scenarios only)."""
    n, T, I = stop - start, arrays.T, arrays.n_pairs
    m = 0 if fan_stop is None else max(0, min(stop, fan_stop) - start)
    fp = fan_pairs(ev)
    f = np.empty((n, I), np.uint8)
    hist = FanHist.empty(fp, T) if m and len(fp) else None
    a = start
    if hist is not None:  # the fan's scenarios in slices of about SLICE_BYTES of record
        per = _slice_size(m, 4 * T * len(fp))
        rec = np.empty(((min(per, m) + LANES - 1) // LANES, T * len(fp), LANES), np.float32)
        e_lo = _fan_e_lo(arrays, fp)
        none = np.full(I, -1, dtype=np.int64)
        for a in range(start, start + m, per):
            b = min(start + m, a + per)
            red = _NO_REDUCTION._replace(on=True, fan_n=b - a, slot_r=none, slot_s=none,
                                         slot_f=_slots(I, fp), fan=rec,
                                         br=np.zeros((b - a, 0), bool),
                                         bs=np.zeros((b - a, 0), bool))
            f[a - start:b - start] = _run(arrays, params, seed, a, b - a, red, flags=True)
            fan_accumulate(rec, b - a, e_lo, hist.counts, hist.vmin, hist.vmax)
        a = start + m
    if a < stop:
        f[a - start:] = _run(arrays, params, seed, a, stop - a, _NO_REDUCTION, flags=True)
    out = (start, (f[:, ev.ready] & FLAG_BREACH) != 0, (f[:, ev.service] & FLAG_SHORT) != 0)
    if fan_stop is None:
        return out
    return (*out, None if hist is None else dataclasses.replace(hist, count=m))


class Runner:
    """Runs chunk functions locally (in order) or on Dask (gathered in order)."""

    def __init__(self, chunk: int = 512, map_fn=None, fan: int = FAN_SCENARIOS,
                 need: np.ndarray | None = None):
        self.chunk = max(32, int(chunk))
        self.map_fn = map_fn
        #: [I] bool, the pairs replayed (`upstream` of the pairs with a target; None: all):
        #: every replay is `restrict`ed to them, the same bits for the pairs with a target
        self.need = None if need is None else np.asarray(need, dtype=bool)
        self.scenarios = 0
        self.cells = 0  # (pairs + lanes replayed) x days x scenarios, over every replay
        self.seconds = 0.0
        self.fan = int(fan)  # certification scenarios (the first ones) the fan is drawn from
        self.fans: dict = {}  # (seed, first) -> (arrays, params, FanHist) of each certify
        self.demand: dict = {}  # (seed, start) -> DemandCache of the training chunk there

    def ranges(self, start: int, count: int, scale: int = 1):
        step = self.chunk * scale
        return [(a, min(a + step, start + count)) for a in range(start, start + count, step)]

    def _restricted(self, arrays: ReplayArrays, count: int) -> ReplayArrays:
        """`arrays` restricted to the pairs replayed; counts the cells replayed."""
        need = np.ones(arrays.n_pairs, bool) if self.need is None else self.need
        self.cells += int(need.sum() + need[arrays.lane_dest].sum()) * arrays.T * count
        return restrict(arrays, need)

    def _map(self, fn, items):
        if self.map_fn is None:
            return [fn(*it) for it in items]
        return list(self.map_fn(_star(fn), items))

    def pass1(self, arrays, params, seed, start, count, ev, w_ready=None, w_service=None,
              shift=None, keep=0):
        """-> (breach_ready, breach_service, price_ready, price_service, shortfalls): see
        pass1_chunk; shortfalls (with keep) of every chunk side by side."""
        import time

        t = time.perf_counter()
        arrays = self._restricted(arrays, count)
        ranges = self.ranges(start, count)
        items = [(arrays, params, seed, a, b, ev, w_ready, w_service, shift, keep,
                  self._demand(arrays, params, seed, a, b, count)) for a, b in ranges]
        parts = sorted(self._map(pass1_chunk, items), key=lambda p: p[0])
        self.scenarios += count
        self.seconds += time.perf_counter() - t
        br = np.concatenate([p[1] for p in parts])
        bs = np.concatenate([p[2] for p in parts])
        pr = np.concatenate([p[3] for p in parts]) if w_ready is not None else None
        ps = np.concatenate([p[4] for p in parts]) if w_service is not None else None
        sf = Shortfalls.merge([p[5] for p in parts]) if keep else None
        return br, bs, pr, ps, sf

    def _demand(self, arrays, params, seed, a, b, count):
        """The DemandCache of the training chunk starting at a (local runs within
        DEMAND_CACHE_BYTES for the whole range of `count`), or None: draw it. One cache per
        chunk start, as long as a whole chunk: the loop's growing training sample (prefixes
        of the same scenarios) draws each scenario once, the longer ones only their new
        blocks."""
        if self.map_fn is not None or DemandCache.nbytes(arrays, count) > DEMAND_CACHE_BYTES:
            return None
        key = (int(seed), int(a))
        got = self.demand.get(key)
        if got is not None and got.stop < b and got.fits(arrays, params, seed, a, got.stop):
            got = self.demand[key] = got.grown(arrays, b)
        if got is None or not got.fits(arrays, params, seed, a, b):
            got = self.demand[key] = DemandCache.new(arrays, params, seed, a, b)
        return got

    def certify(self, arrays, params, seed, start, count, ev):
        """-> (breach_ready [count, Ir], short_service [count, Is]); on the way, the fan
        histograms of the pairs with a target over the first min(count, self.fan)
        scenarios, kept for `fan_of` (the certification fan without a replay of its own)."""
        import time

        t = time.perf_counter()
        fan_stop = start + min(count, self.fan)
        run = self._restricted(arrays, count)
        items = [(run, params, seed, a, b, ev, fan_stop)
                 for a, b in self.ranges(start, count, 4)]
        parts = sorted(self._map(certify_chunk, items), key=lambda p: p[0])
        hist = None
        for p in parts:  # integer counts, minima and maxima: exact in any order
            hist = p[3] if hist is None else hist.merge(p[3])
        if hist is not None:
            self.fans[(int(seed), int(start))] = (arrays, params, hist)
        self.scenarios += count
        self.seconds += time.perf_counter() - t
        return np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts])

    def fan_of(self, arrays, params, seed, first, count, pairs):
        """The fan histograms a certification of this plan (`arrays`) under `params` kept
        for scenarios first..first+count-1 of `seed` and `pairs` [F] (ascending), or None
        when no certification binned exactly those."""
        got = self.fans.get((int(seed), int(first)))
        if got is None:
            return None
        a, prm, hist = got
        if (prm != params or hist.count != count or not np.array_equal(hist.pairs, pairs)
                or not same_plan(a, arrays)):
            return None
        return hist


def same_plan(a: ReplayArrays, b: ReplayArrays) -> bool:
    """Whether two ReplayArrays replay the same (every field equal)."""
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            if x.shape != y.shape or x.dtype != y.dtype or not np.array_equal(x, y):
                return False
        elif x != y:
            return False
    return True


class _star:
    """fn(*item) as a picklable one-argument callable (for Executor.map-like maps)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, item):
        return self.fn(*item)
