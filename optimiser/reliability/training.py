"""The bookkeeping of the floor-raising loop (optimiser/reliability/loop.py): how many
training breaches an event may keep, which breaching scenarios a raise covers, the
training prefixes, and the records of one training replay (Train), of a certification so
far (Cert) and of one target's loop (State: training targets, stuck events, counters).
Pure functions and small records; the loop itself drives them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .certificate import upper_bound

MIN_SAMPLE = 250  # the smallest training prefix of the loop before `prefixes`
#: the breaching scenarios a raise on all N training scenarios leaves uncovered, as a
#: share of what the event's training target allows: the first raise, then every later
#: one. A raise covers the breaching scenarios of the plan it was read from; the LP's
#: next plan ships differently (the buffer's own shipments can be late or lost), so its
#: breaches behave like a fresh sample around the target -- aiming at the target itself
#: failed about half the events again (one more LP solve and full replay per round)
AIM_FIRST = 0.8
AIM_AGAIN = 0.7


def aim(target: float, n: int, N: int, full: int, many: bool = True) -> int:
    """Breaching scenarios a raise leaves uncovered out of n of N training scenarios: on a
    prefix (n < N), `loose` (the target's count plus one standard error: a prefix's raise
    rather undershoots the quantile on all N, which the next, larger sample tops up, than
    overshoots it for good -- aiming at the count itself bought 2-12% more extra cost for
    no fewer iterations); on all N, AIM_FIRST of the count the target allows for the event's first
    raise on all N (`full` = 0), AIM_AGAIN after -- with `many` target events; with one,
    the target itself, then 80% (`allowed`): one event failing again costs one round, while
    with dozens near their target about half would."""
    if n < N:
        return loose(target, n)
    if not many:
        return allowed(target, N, full)
    return math.floor((AIM_FIRST if full == 0 else AIM_AGAIN) * allowed(target, N, 0))


def allowed(target: float, n: int, raised: int) -> int:
    """Breaching training scenarios an event may keep on n scenarios (raised = 0; 80% of
    it with raised > 0, the raise rule of the loop before `aim`)."""
    k = math.floor(target * n + 1e-9)
    return k if raised == 0 else math.floor(0.8 * k)


def back_max(buf: np.ndarray, w: int) -> np.ndarray:
    """buf [T, n] -> the largest of buf over days t..t+w, per day t."""
    out = buf.copy()
    for j in range(1, min(w, len(buf) - 1) + 1):
        np.maximum(out[:-j], buf[j:], out=out[:-j])
    return out


def cover(breach: np.ndarray, price: np.ndarray, allowed: int) -> np.ndarray:
    """Which breaching scenarios to cover: all but the `allowed` dearest (ties by index)."""
    idx = np.flatnonzero(breach)
    keep = len(idx) - max(0, int(allowed))
    out = np.zeros(len(breach), bool)
    if keep <= 0:
        return out
    order = np.lexsort((idx, price[idx]))  # cheapest first, then lowest scenario index
    out[idx[order[:keep]]] = True
    return out


def shrink(kmax: int, k: int) -> float:
    """How much to tighten a training target after k certification breaches (kmax allowed)."""
    if k <= 0:
        return 0.8
    return float(min(0.8, max(0.5, max(kmax, 0) / k)))


def sample_sizes(n: int) -> list[int]:
    """n halved while at least MIN_SAMPLE, in ascending order, ending with n itself
    (2,000 -> 250, 500, 1,000, 2,000): the prefixes of the loop before `prefixes`."""
    out = [int(n)]
    while out[0] // 2 >= MIN_SAMPLE:
        out.insert(0, out[0] // 2)
    return out


def prefixes(n: int, chunk: int) -> list[int]:
    """The training sample sizes of a first attempt: whole multiples of the replay's chunk
    (`chunk`, doubling) below n, then n (2,000 with chunks of 512 -> 512, 1,024, 2,000).
    Whole chunks, so a prefix's scenarios are the first chunks of every later replay of
    the training range: the realised demand the first replay draws for them is read back
    by every later one (reliability/replay.py DemandCache), and a plan that passes a
    prefix is extended to all N by replaying only the chunks it has not seen."""
    out, m = [], max(1, int(chunk))
    while m < n:
        out.append(m)
        m *= 2
    return out + [int(n)]


def loose(target: float, n: int) -> int:
    """Breaches allowed on a prefix of n < N training scenarios: the target's count plus
    one standard error, so a raise read from the prefix falls short of the quantile on
    all N more often than it overshoots it (P never falls: an overshoot is for good)."""
    return math.floor(target * n + math.sqrt(target * (1.0 - target) * n) + 1e-9)


@dataclass
class Fail:
    r: np.ndarray
    s: np.ndarray
    j: bool

    def any(self) -> bool:
        return bool(self.r.any() or self.s.any() or self.j)

    def count(self) -> int:
        return int(self.r.sum()) + int(self.s.sum()) + int(self.j)


@dataclass
class Flags:
    """Breach flags [scenarios, events] of the readiness (br) and service (bs) target
    events, and their breach counts per event (k_r, k_s) and jointly (k_j)."""

    br: np.ndarray
    bs: np.ndarray

    @property
    def k_r(self) -> np.ndarray:
        return self.br.sum(axis=0)

    @property
    def k_s(self) -> np.ndarray:
        return self.bs.sum(axis=0)

    @property
    def k_j(self) -> int:
        return int(self.br.any(axis=1).sum())


@dataclass
class Train(Flags):
    """One training replay of a plan: breach flags [n, events], prices, kept shortfalls."""

    arrays: object
    ev: object
    pr: np.ndarray
    ps: np.ndarray
    kept: object


@dataclass
class Cert(Flags):
    """Certification breach flags of the scenarios replayed so far (first m of the range)."""

    @property
    def m(self) -> int:
        return len(self.br)

    def broken(self, kmax_r: int, kmax_s: int, joint: bool) -> bool:
        """Some target event already has more breaches than the certificate accepts."""
        if joint:
            if self.br.shape[1] and self.k_j > kmax_r:
                return True
        elif (self.k_r > kmax_r).any():
            return True
        return bool((self.k_s > kmax_s).any())

    def bounds(self, reliability: float, service, confidence: float, n_ready: int):
        """(u_r, u_s, u_j, ok_r, ok_s, ok_j) on the m scenarios replayed."""
        m, C = self.m, confidence
        u_r = np.atleast_1d(upper_bound(self.k_r, m, C))
        u_s = np.atleast_1d(upper_bound(self.k_s, m, C))
        # joint: "any protected pair breaks" -- with no protected pair no scenario breaks
        # it (k_j = 0), still a row of its own under scope joint
        u_j = float(upper_bound(self.k_j, m, C))
        ok_r = u_r <= 1.0 - reliability
        ok_s = u_s <= 1.0 - service if service else np.ones(len(u_s), bool)
        ok_j = u_j is None or u_j <= 1.0 - reliability
        return u_r, u_s, u_j, ok_r, ok_s, ok_j


class State:
    """Training targets, frozen (stuck) events and the counters of one target's loop."""

    def __init__(self, n_ready: int, n_service: int, a_r: float, a_s: float):
        self.tr_r = np.full(n_ready, a_r)
        self.tr_j = a_r
        self.tr_s = np.full(n_service, a_s)
        self.frozen_r = np.zeros(n_ready, bool)
        self.frozen_s = np.zeros(n_service, bool)
        self.frozen_j = False
        self.many = True  # more than one target event (the loop sets it)

    def new_attempt(self) -> None:
        nr, ns = len(self.tr_r), len(self.tr_s)
        self.prev = None  # (frequencies) of the last training replay after a raise
        self.fresh = True  # a raise since the last replay
        self.stall_r, self.stall_s, self.stall_j = np.zeros(nr, int), np.zeros(ns, int), 0
        self.raised_r, self.raised_s, self.raised_j = np.zeros(nr, int), np.zeros(ns, int), 0
        # raises made on all N training scenarios (the later ones aim at 80%, allowed)
        self.full_r, self.full_s, self.full_j = np.zeros(nr, int), np.zeros(ns, int), 0

    # breaching scenarios a raise on n of N training scenarios leaves uncovered (`aim`)
    def allowed_r(self, k: int, n: int, N: int) -> int:
        return aim(float(self.tr_r[k]), n, N, int(self.full_r[k]), self.many)

    def allowed_s(self, k: int, n: int, N: int) -> int:
        return aim(float(self.tr_s[k]), n, N, int(self.full_s[k]), self.many)

    def allowed_j(self, n: int, N: int) -> int:
        return aim(self.tr_j, n, N, self.full_j, self.many)

    def judge(self, tr: Train, n: int, N: int, joint: bool) -> Fail:
        """The events failing their training target on these n scenarios."""
        def limit(t):
            t = np.asarray(t, float)
            return np.floor(t * n + np.sqrt(t * (1 - t) * n) + 1e-9) if n < N else \
                np.floor(t * N + 1e-9)

        fail_r = np.zeros(len(self.tr_r), bool) if joint else \
            (tr.k_r > limit(self.tr_r)) & ~self.frozen_r
        fail_j = bool(joint and not self.frozen_j and tr.br.shape[1]
                      and tr.k_j > float(limit(self.tr_j)))
        fail_s = (tr.k_s > limit(self.tr_s)) & ~self.frozen_s
        return Fail(fail_r, fail_s, fail_j)

    def stalls(self, tr: Train) -> None:
        """Count, per event, training replays after a raise whose breaches did not fall,
        comparing replays of the same scenarios only: a prefix's raise undershoots on
        purpose, so the next, larger sample is no evidence that raising does not help."""
        if not self.fresh:
            return
        n = max(1, len(tr.br))
        f = (tr.k_r / n, tr.k_s / n, tr.k_j / n)
        if self.prev is not None and self.prev[0] == n:
            _, pr, ps, pj = self.prev
            self.stall_r = np.where(f[0] >= pr, self.stall_r + 1, 0)
            self.stall_s = np.where(f[1] >= ps, self.stall_s + 1, 0)
            self.stall_j = self.stall_j + 1 if f[2] >= pj else 0
        self.prev = (n, *f)
        self.fresh = False

    def raised(self, fail: Fail, n: int, N: int, joint: bool) -> None:
        full = n >= N
        if joint:
            self.raised_j += int(fail.j)
            self.full_j += int(fail.j and full)
        else:
            self.raised_r += fail.r
            if full:
                self.full_r += fail.r
        self.raised_s += fail.s
        if full:
            self.full_s += fail.s
        self.fresh = True

    def tighten(self, cert: Cert, kmax_r: int, kmax_s: int, ok_r, ok_s, ok_j, joint: bool,
                M: int) -> bool:
        """Tighten the training targets of the events that failed certification (not the
        stuck ones); False when there is nothing to tighten (every failing event is stuck,
        or tightening changes nothing). On an attempt stopped early (m < M scenarios) an
        event failed when its breaches, scaled to M, exceed what the certificate accepts,
        and the counts are scaled to M for the shrink."""
        m = cert.m
        if m < M:
            ok_r = cert.k_r * M <= kmax_r * m
            ok_s = cert.k_s * M <= kmax_s * m
            ok_j = cert.k_j * M <= kmax_r * m
        k_r = np.rint(cert.k_r * (M / m)).astype(int)
        k_s = np.rint(cert.k_s * (M / m)).astype(int)
        k_j = int(round(cert.k_j * M / m))
        before = (self.tr_r.copy(), self.tr_j, self.tr_s.copy())
        if joint:
            bad_any = not ok_j and not self.frozen_j
            if bad_any:
                self.tr_j *= shrink(kmax_r, k_j)
        else:
            bad = ~ok_r & ~self.frozen_r
            bad_any = bool(bad.any())
            self.tr_r[bad] *= np.array([shrink(kmax_r, int(k)) for k in k_r[bad]])
        bad = ~ok_s & ~self.frozen_s
        bad_any = bad_any or bool(bad.any())
        self.tr_s[bad] *= np.array([shrink(kmax_s, int(k)) for k in k_s[bad]])
        if not bad_any:
            return False  # every failing event is stuck: no stronger plan exists
        return not (np.array_equal(before[0], self.tr_r) and before[1] == self.tr_j
                    and np.array_equal(before[2], self.tr_s))
