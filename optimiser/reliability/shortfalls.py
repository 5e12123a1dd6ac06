"""The kept shortfalls of a training replay: per (pair, day) of each kind, a bounded
min-heap of the `keep` largest `needed` (how much more planned stock would have kept a
scenario whole that day) with the scenario each came from (`Shortfalls`), filled in
scenario order from the reliability replay's compact record (`_keep_sparse`) or from the
kernel's whole stock record (`_keep_blocks`, the reference path of reliability/record.py),
the same bytes either way; and the buffers read from them for a set of covered scenarios
(exact when at most keep - 1 breaching scenarios of a pair are left out, the loop's rule;
maxima merge exactly across chunks, in any order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from .._numba import jit, pjit
from ..scenarios.kernels import LANES


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


@pjit
def _keep_sparse(sr, mr, ss, ms, m, first, lim_r, floor_r, serve, stol, margin,
                 vr, ir_, cr, vs, is_, cs):
    """Offer `needed` of every scenario that breaks a pair on a day to that (pair, day)'s
    heap, from the compact record of a reliability replay (inputs.Reduction: S of the
    blocks marked in mr / ms), in scenario order: the offers (and so the heaps) of
    `_keep_blocks` over the whole record. Parallel over pairs."""
    K = LANES
    T = lim_r.shape[0]
    nb = (m + K - 1) // K
    for p in numba.prange(vr.shape[0]):
        for t in range(T):
            lim = lim_r[t, p]
            f = floor_r[t, p]
            for blk in range(nb):
                if mr[p, t, blk]:
                    for k in range(min(K, m - blk * K)):
                        s = sr[p, t, blk * K + k]
                        if s < lim:
                            _push(vr, ir_, cr, p, t, f - s, first + blk * K + k)
    for p in numba.prange(vs.shape[0]):
        for t in range(T):
            if serve[t, p]:
                st = stol[t, p]
                mg = margin[t, p]
                for blk in range(nb):
                    if ms[p, t, blk]:
                        for k in range(min(K, m - blk * K)):
                            s = ss[p, t, blk * K + k]
                            if s <= st:
                                _push(vs, is_, cs, p, t, (st - s) + mg, first + blk * K + k)
