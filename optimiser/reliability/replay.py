"""Training and certification replays: the scenario kernel with its stock record, reduced
per chunk to what the loop needs, by pure functions (picklable in and out) so chunks run
here or as Dask tasks and give the same bits.

A chunk replays scenarios start..stop-1 (`run_kernel` with `stock_out`, in slices of at
most SLICE_BYTES of stock to bound memory) and reduces end-of-day stock S[n, t, i] to
breach flags per (scenario, pair) and kind: readiness (S < floor - 1e-6 max(1, floor) on
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
- pass 2: given which scenarios each pair is to be covered for, the largest `needed` over
  them per (day, pair): the buffer that covers them all (maxima merge exactly).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ..scenarios.arrays import ReplayArrays
from ..scenarios.evaluate import run_kernel
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


def _replay_slices(arrays, params, seed, start, stop, shift):
    per = max(32, SLICE_BYTES // max(1, 8 * arrays.T * arrays.n_pairs))
    for a in range(start, stop, per):
        b = min(stop, a + per)
        S = np.empty((b - a, arrays.T, arrays.n_pairs))
        run_kernel(arrays, params, seed, a, b - a, stock_out=S)
        if shift is not None:
            S -= shift
        yield a, b, S


def _flags_needed(S: np.ndarray, ev: Events, need: bool):
    Sr = S[:, :, ev.ready]
    bad_r = Sr < ev.floor - ev.ftol
    Ss = S[:, :, ev.service]
    bad_s = (Ss <= ev.stol) & ev.serve
    if not need:
        return bad_r.any(axis=1), None, bad_s.any(axis=1), None
    need_r = np.where(bad_r, ev.floor - Sr, 0.0)
    need_s = np.where(bad_s, ev.stol - Ss + ev.margin, 0.0)
    return bad_r.any(axis=1), need_r, bad_s.any(axis=1), need_s


def pass1_chunk(arrays: ReplayArrays, params: ScenarioParams, seed: int, start: int,
                stop: int, ev: Events, w_ready: np.ndarray | None,
                w_service: np.ndarray | None, shift: np.ndarray | None = None) -> tuple:
    """(start, breach_ready [n, Ir], breach_service [n, Is], price_ready, price_service);
    prices are None without weights (certification). shift: H of the virtual stock."""
    n = stop - start
    br = np.zeros((n, len(ev.ready)), bool)
    bs = np.zeros((n, len(ev.service)), bool)
    pr = np.zeros((n, len(ev.ready))) if w_ready is not None else None
    ps = np.zeros((n, len(ev.service))) if w_service is not None else None
    for a, b, S in _replay_slices(arrays, params, seed, start, stop, shift):
        fr, nr, fs, ns = _flags_needed(S, ev, pr is not None or ps is not None)
        br[a - start:b - start] = fr
        bs[a - start:b - start] = fs
        if pr is not None:
            pr[a - start:b - start] = np.einsum("ntp,tp->np", nr, w_ready)
        if ps is not None:
            ps[a - start:b - start] = np.einsum("ntp,tp->np", ns, w_service)
    return start, br, bs, pr, ps


def certify_chunk(arrays: ReplayArrays, params: ScenarioParams, seed: int, start: int,
                  stop: int, ev: Events) -> tuple:
    """(start, breach_ready [n, Ir], short_service [n, Is]) of the plan as it is: the
    kernel's own per-pair indicators (breach: below floor - 1e-6 max(1, floor) on some
    day; short: consumption short of its target beyond the plan's rationing by more than
    1e-6 max(1, demand) on some day), no stock recorded."""
    from ..scenarios.evaluate import pair_indicators

    breach, short = pair_indicators(arrays, params, seed, start, stop - start)
    return start, breach[:, ev.ready], short[:, ev.service]


def pass2_chunk(arrays: ReplayArrays, params: ScenarioParams, seed: int, start: int,
                stop: int, ev: Events, cover_ready: np.ndarray,
                cover_service: np.ndarray, shift: np.ndarray | None = None) -> tuple:
    """(buffer_ready [T, Ir], buffer_service [T, Is]): the largest `needed` over the
    covered scenarios of this chunk (cover_* are the chunk's rows)."""
    T = arrays.T
    bufr = np.zeros((T, len(ev.ready)))
    bufs = np.zeros((T, len(ev.service)))
    for a, b, S in _replay_slices(arrays, params, seed, start, stop, shift):
        _, nr, _, ns = _flags_needed(S, ev, True)
        cr = cover_ready[a - start:b - start]
        cs = cover_service[a - start:b - start]
        if cr.any():
            np.maximum(bufr, np.where(cr[:, None, :], nr, 0.0).max(axis=0), out=bufr)
        if cs.any():
            np.maximum(bufs, np.where(cs[:, None, :], ns, 0.0).max(axis=0), out=bufs)
    return bufr, bufs


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
              shift=None):
        import time

        t = time.perf_counter()
        items = [(arrays, params, seed, a, b, ev, w_ready, w_service, shift)
                 for a, b in self.ranges(start, count)]
        parts = sorted(self._map(pass1_chunk, items), key=lambda p: p[0])
        self.scenarios += count
        self.seconds += time.perf_counter() - t
        br = np.concatenate([p[1] for p in parts])
        bs = np.concatenate([p[2] for p in parts])
        pr = np.concatenate([p[3] for p in parts]) if w_ready is not None else None
        ps = np.concatenate([p[4] for p in parts]) if w_service is not None else None
        return br, bs, pr, ps

    def certify(self, arrays, params, seed, start, count, ev):
        import time

        t = time.perf_counter()
        items = [(arrays, params, seed, a, b, ev) for a, b in self.ranges(start, count, 4)]
        parts = sorted(self._map(certify_chunk, items), key=lambda p: p[0])
        self.scenarios += count
        self.seconds += time.perf_counter() - t
        return np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts])

    def pass2(self, arrays, params, seed, start, count, ev, cover_ready, cover_service,
              shift=None):
        import time

        t = time.perf_counter()
        items = [(arrays, params, seed, a, b, ev, cover_ready[a - start:b - start],
                  cover_service[a - start:b - start], shift)
                 for a, b in self.ranges(start, count)]
        parts = self._map(pass2_chunk, items)
        self.scenarios += count
        self.seconds += time.perf_counter() - t
        bufr = np.zeros((arrays.T, len(ev.ready)))
        bufs = np.zeros((arrays.T, len(ev.service)))
        for r, s in parts:
            np.maximum(bufr, r, out=bufr)
            np.maximum(bufs, s, out=bufs)
        return bufr, bufs


class _star:
    """fn(*item) as a picklable one-argument callable (for Executor.map-like maps)."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, item):
        return self.fn(*item)
