"""The reference path of a training replay (tests compare the reliability mode with it):
the general scenario kernel's whole float64 stock record, in slices of at most
SLICE_BYTES, reduced by Numba passes to breach flags, prices (`_pass1_blocks`) and the
kept shortfalls (shortfalls._keep_blocks) -- the same floating-point operations in the
same order as reliability/replay.py's `pass1_chunk`, at several times its memory traffic.
"""

from __future__ import annotations

import numba
import numpy as np

from .._numba import pjit
from ..scenarios.arrays import ReplayArrays
from ..scenarios.evaluate import replay_record
from ..scenarios.kernels import LANES
from ..scenarios.params import ScenarioParams
from .replay import SLICE_BYTES, Events, _lim, _shift
from .shortfalls import Shortfalls, _keep_blocks


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


def pass1_chunk_record(arrays: ReplayArrays, params: ScenarioParams, seed: int, start: int,
                       stop: int, ev: Events, w_ready: np.ndarray | None,
                       w_service: np.ndarray | None, shift: np.ndarray | None = None,
                       keep: int = 0) -> tuple:
    """pass1_chunk by the general replay: the kernel's whole float64 stock record, reduced
    by `_pass1_blocks` and `_keep_blocks` (the reference the reliability mode is tested
    against; the same results, at several times the memory traffic)."""
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
