"""Training and certification replays: the scenario kernel with its stock record, reduced
per chunk to what the loop needs, by pure functions (picklable in and out) so chunks run
here or as Dask tasks and give the same bits.

A chunk replays scenarios start..stop-1 (`replay_record`: the kernel's own block-major
float64 stock record, no transposed copy, in slices of at most SLICE_BYTES reusing one
buffer) and reduces it in parallel Numba passes over the record (`_pass1_blocks`,
`_keep_blocks`: the same floating-point operations in the same order as the numpy where /
any / einsum / max they replaced, so the same bits, without a pass over memory per
expression) -- end-of-day stock S[n, t, i] to breach flags per (scenario, pair) and kind: readiness (S < floor - 1e-6 max(1, floor) on
some day, against the instance's floor) and service (stock exhausted, S <= 1e-9 max(1,
demand), on a day the plan means to serve consumption).

Certification replays the plan as it is. Training replays it with a virtual stock H_i
added to the initial stock of every pair with a target (H_i above anything the horizon
can consume or send out, so such a pair never runs dry and always dispatches in full):
S - H is then the stock the pair would have had without running out, so how far a
scenario falls below the floor is seen in full, not cut off at zero. From it:

- `needed` [n, t, i]: how much more planned stock would have kept scenario n whole on
  day t (readiness: floor - (S - H); service: how far below zero it went);
- pass 1: each scenario's price per pair, sum_t needed * weight (weight = the LP's
  marginal cost of one more unit of planning floor that day, plus holding);
- the same pass keeps, per (pair, day), the `keep` largest `needed` with their scenario
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

from .._numba import jit, pjit
from ..scenarios.arrays import ReplayArrays
from ..scenarios.evaluate import replay_record
from ..scenarios.kernels import LANES
from ..scenarios.params import ScenarioParams

SLICE_BYTES = 32 * 2 ** 20


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


def _replay_slices(arrays, params, seed, start, stop):
    """Replay start..stop-1 in slices of at most SLICE_BYTES of stock (a multiple of LANES
    scenarios) -> (a, b, rec): rec the kernel's block-major float64 record [blocks, T*I,
    LANES] of scenarios a..b-1 (scenario a + 32 j + k, day t, pair i at [j, t*I + i, k];
    lanes past b - a hold scenarios nobody asked for). One buffer, reused."""
    T, I = arrays.T, arrays.n_pairs
    blocks = max(1, SLICE_BYTES // max(1, 8 * LANES * T * I))
    th = numba.get_num_threads()  # whole rounds of blocks: no thread idles at the end
    per = (blocks - blocks % th if blocks >= th else blocks) * LANES
    rec = np.empty(((min(per, stop - start) + LANES - 1) // LANES, T * I, LANES))
    for a in range(start, stop, per):
        b = min(stop, a + per)
        replay_record(arrays, params, seed, a, b - a, rec)
        yield a, b, rec


def _shift(arrays, shift):
    return np.zeros(arrays.n_pairs) if shift is None else np.ascontiguousarray(shift, float)


def _lim(ev: Events):
    """floor - ftol, the value the breach test compares with (computed once, in numpy)."""
    return np.ascontiguousarray(ev.floor - ev.ftol)


@pjit
def _pass1_blocks(rec, m, H, ready, service, lim_r, floor_r, serve, stol, margin, w_r, w_s,
                  br, bs, pr, ps, price):
    """Reduce the record of m scenarios (see _replay_slices) to breach flags br [m, Ir],
    bs [m, Is] and, with `price`, prices pr [m, Ir], ps [m, Is]: the sum over days, in day
    order, of needed * weight, where S = rec - H of the pair and

    readiness: breach S < lim_r (floor - 1e-6 max(1, floor)), needed floor - S;
    service:   breach S <= stol on a serve day, needed (stol - S) + margin

    (needed 0.0 without a breach). The same floating-point operations in the same order
    as numpy's where / any / einsum("ntp,tp->np") over S: the same bits. Parallel over
    blocks of scenarios."""
    K = rec.shape[2]
    T = lim_r.shape[0]
    I = H.shape[0]
    Ir = ready.shape[0]
    Is = service.shape[0]
    nb = (m + K - 1) // K
    for blk in numba.prange(nb):
        nk = min(K, m - blk * K)
        fr = np.zeros(Ir * K, dtype=np.bool_)
        fs = np.zeros(Is * K, dtype=np.bool_)
        ar = np.zeros(Ir * K)
        as_ = np.zeros(Is * K)
        for t in range(T):
            row = t * I
            for p in range(Ir):
                i = ready[p]
                h = H[i]
                lim = lim_r[t, p]
                f = floor_r[t, p]
                wt = w_r[t, p]
                for k in range(K):
                    s = rec[blk, row + i, k] - h
                    bad = s < lim
                    fr[p * K + k] |= bad
                    if price:
                        ar[p * K + k] += (f - s if bad else 0.0) * wt
            for p in range(Is):
                i = service[p]
                h = H[i]
                st = stol[t, p]
                sv = serve[t, p]
                mg = margin[t, p]
                wt = w_s[t, p]
                for k in range(K):
                    s = rec[blk, row + i, k] - h
                    bad = (s <= st) & sv
                    fs[p * K + k] |= bad
                    if price:
                        as_[p * K + k] += ((st - s) + mg if bad else 0.0) * wt
        for k in range(nk):
            j = blk * K + k
            for p in range(Ir):
                br[j, p] = fr[p * K + k]
                pr[j, p] = ar[p * K + k]
            for p in range(Is):
                bs[j, p] = fs[p * K + k]
                ps[j, p] = as_[p * K + k]


@jit(inline="always")
def _push(vals, ids, cnt, p, t, v, scen):
    """Offer (v, scen) to the min-heap vals[p, t, :cnt] (root = smallest kept): kept when
    the heap has room or v beats its smallest (which then goes). Every value not kept is
    <= the smallest kept, so the heap holds the K largest (ties: whichever came first)."""
    K = vals.shape[2]
    n = cnt[p, t]
    if n < K:
        j = n
        cnt[p, t] = n + 1
        while j > 0:  # sift up
            up = (j - 1) >> 1
            if vals[p, t, up] <= v:
                break
            vals[p, t, j] = vals[p, t, up]
            ids[p, t, j] = ids[p, t, up]
            j = up
        vals[p, t, j] = v
        ids[p, t, j] = scen
    elif v > vals[p, t, 0]:
        j = 0
        while True:  # sift down from the root
            c = 2 * j + 1
            if c >= K:
                break
            if c + 1 < K and vals[p, t, c + 1] < vals[p, t, c]:
                c += 1
            if vals[p, t, c] >= v:
                break
            vals[p, t, j] = vals[p, t, c]
            ids[p, t, j] = ids[p, t, c]
            j = c
        vals[p, t, j] = v
        ids[p, t, j] = scen


@pjit
def _keep_blocks(rec, m, first, H, ready, service, lim_r, floor_r, serve, stol, margin,
                 vr, ir_, cr, vs, is_, cs):
    """Offer `needed` (as in _pass1_blocks: the same operations, the same bits) of every
    scenario of the record that breaks a pair on a day to that (pair, day)'s heap
    (vr/ir_/cr readiness [Ir, T, K], vs/is_/cs service); scenario ids first + j. Parallel
    over pairs (each heap sees its scenarios in order)."""
    K = rec.shape[2]
    T = lim_r.shape[0]
    I = H.shape[0]
    nb = (m + K - 1) // K
    for p in numba.prange(ready.shape[0]):
        i = ready[p]
        h = H[i]
        for t in range(T):
            row = t * I + i
            lim = lim_r[t, p]
            f = floor_r[t, p]
            for blk in range(nb):
                for k in range(min(K, m - blk * K)):
                    s = rec[blk, row, k] - h
                    if s < lim:
                        _push(vr, ir_, cr, p, t, f - s, first + blk * K + k)
    for p in numba.prange(service.shape[0]):
        i = service[p]
        h = H[i]
        for t in range(T):
            if serve[t, p]:
                row = t * I + i
                st = stol[t, p]
                mg = margin[t, p]
                for blk in range(nb):
                    for k in range(min(K, m - blk * K)):
                        s = rec[blk, row, k] - h
                        if s <= st:
                            _push(vs, is_, cs, p, t, (st - s) + mg, first + blk * K + k)


@dataclass
class Shortfalls:
    """Per (pair, day) of each kind, the `keep` largest shortfalls (`needed`) of the
    scenarios replayed and which scenario each came from (-1: an empty slot): enough to
    take the buffer over any set of covered scenarios that leaves at most keep - 1
    breaching ones of each pair out."""

    ready: np.ndarray  # [Ir, T, keep] float64
    ready_ids: np.ndarray  # [Ir, T, keep] int32 scenario index, -1 empty
    service: np.ndarray  # [Is, T, keep]
    service_ids: np.ndarray

    @classmethod
    def empty(cls, n_ready: int, n_service: int, T: int, keep: int) -> Shortfalls:
        k = max(1, int(keep))
        return cls(np.zeros((n_ready, T, k)), np.full((n_ready, T, k), -1, np.int32),
                   np.zeros((n_service, T, k)), np.full((n_service, T, k), -1, np.int32))

    def buffers(self, cover_ready: np.ndarray, cover_service: np.ndarray,
                first: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(buffer_ready [T, Ir], buffer_service [T, Is]): per (day, pair), the largest
        shortfall of a covered scenario (cover_* [n, pairs] bool, row j = scenario first +
        j), 0 where none -- exact when at most keep - 1 breaching scenarios of a pair are
        left uncovered (the loop's rule)."""
        return (_buffers(self.ready, self.ready_ids, cover_ready, first),
                _buffers(self.service, self.service_ids, cover_service, first))

    @staticmethod
    def merge(parts: list[Shortfalls]) -> _Chunks:
        """The kept shortfalls of several chunks: their buffers are the maxima of the
        chunks' (exact in any order), taken chunk by chunk (no concatenated copy)."""
        return _Chunks(list(parts))


@dataclass
class _Chunks:
    parts: list[Shortfalls]

    def buffers(self, cover_ready: np.ndarray, cover_service: np.ndarray,
                first: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """As Shortfalls.buffers, over every chunk."""
        out = [p.buffers(cover_ready, cover_service, first) for p in self.parts]
        bufr, bufs = out[0]
        for r, s in out[1:]:
            np.maximum(bufr, r, out=bufr)
            np.maximum(bufs, s, out=bufs)
        return bufr, bufs


def _buffers(vals, ids, cover, first):
    n_pairs, T = vals.shape[:2]
    if n_pairs == 0:
        return np.zeros((T, 0))
    ok = ids >= 0
    rows = np.where(ok, ids - first, 0)
    covered = ok & cover[rows, np.arange(n_pairs)[:, None, None]]
    return np.ascontiguousarray(np.where(covered, vals, 0.0).max(axis=2, initial=0.0).T)


def pass1_chunk(arrays: ReplayArrays, params: ScenarioParams, seed: int, start: int,
                stop: int, ev: Events, w_ready: np.ndarray | None,
                w_service: np.ndarray | None, shift: np.ndarray | None = None,
                keep: int = 0) -> tuple:
    """(start, breach_ready [n, Ir], breach_service [n, Is], price_ready, price_service,
    shortfalls); prices are None without weights, shortfalls (`Shortfalls`, the `keep`
    largest per pair and day) None without keep. shift: H of the virtual stock."""
    n, T = stop - start, arrays.T
    br = np.zeros((n, len(ev.ready)), bool)
    bs = np.zeros((n, len(ev.service)), bool)
    pr = np.zeros((n, len(ev.ready)))
    ps = np.zeros((n, len(ev.service)))
    price = w_ready is not None or w_service is not None
    wr = np.zeros((T, len(ev.ready))) if w_ready is None else \
        np.ascontiguousarray(w_ready, float)
    ws = np.zeros((T, len(ev.service))) if w_service is None else \
        np.ascontiguousarray(w_service, float)
    H, lim = _shift(arrays, shift), _lim(ev)
    # a chunk never holds more than its own scenarios per (pair, day)
    sf = Shortfalls.empty(len(ev.ready), len(ev.service), T, min(keep, n)) if keep else None
    if sf is not None:
        cr = np.zeros((len(ev.ready), T), np.int64)
        cs = np.zeros((len(ev.service), T), np.int64)
    for a, b, rec in _replay_slices(arrays, params, seed, start, stop):
        o = slice(a - start, b - start)
        _pass1_blocks(rec, b - a, H, ev.ready, ev.service, lim, ev.floor, ev.serve, ev.stol,
                      ev.margin, wr, ws, br[o], bs[o], pr[o], ps[o], price)
        if sf is not None:
            _keep_blocks(rec, b - a, a, H, ev.ready, ev.service, lim, ev.floor, ev.serve,
                         ev.stol, ev.margin, sf.ready, sf.ready_ids, cr, sf.service,
                         sf.service_ids, cs)
    return (start, br, bs, pr if w_ready is not None else None,
            ps if w_service is not None else None, sf)


def certify_chunk(arrays: ReplayArrays, params: ScenarioParams, seed: int, start: int,
                  stop: int, ev: Events) -> tuple:
    """(start, breach_ready [n, Ir], short_service [n, Is]) of the plan as it is: the
    kernel's own per-pair indicators (breach: below floor - 1e-6 max(1, floor) on some
    day; short: consumption short of its target beyond the plan's rationing by more than
    1e-6 max(1, demand) on some day), no stock recorded."""
    from ..scenarios.evaluate import pair_indicators

    breach, short = pair_indicators(arrays, params, seed, start, stop - start)
    return start, breach[:, ev.ready], short[:, ev.service]


class Runner:
    """Runs chunk functions locally (in order) or on Dask (gathered in order)."""

    def __init__(self, chunk: int = 512, map_fn=None):
        self.chunk = max(32, int(chunk))
        self.map_fn = map_fn
        self.scenarios = 0
        self.seconds = 0.0

    def ranges(self, start: int, count: int, scale: int = 1):
        step = self.chunk * scale
        return [(a, min(a + step, start + count)) for a in range(start, start + count, step)]

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
        items = [(arrays, params, seed, a, b, ev, w_ready, w_service, shift, keep)
                 for a, b in self.ranges(start, count)]
        parts = sorted(self._map(pass1_chunk, items), key=lambda p: p[0])
        self.scenarios += count
        self.seconds += time.perf_counter() - t
        br = np.concatenate([p[1] for p in parts])
        bs = np.concatenate([p[2] for p in parts])
        pr = np.concatenate([p[3] for p in parts]) if w_ready is not None else None
        ps = np.concatenate([p[4] for p in parts]) if w_service is not None else None
        sf = Shortfalls.merge([p[5] for p in parts]) if keep else None
        return br, bs, pr, ps, sf

    def certify(self, arrays, params, seed, start, count, ev):
        import time

        t = time.perf_counter()
        items = [(arrays, params, seed, a, b, ev) for a, b in self.ranges(start, count, 4)]
        parts = sorted(self._map(certify_chunk, items), key=lambda p: p[0])
        self.scenarios += count
        self.seconds += time.perf_counter() - t
        return np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts])


class _star:
    """fn(*item) as a picklable one-argument callable (for Executor.map-like maps)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, item):
        return self.fn(*item)
