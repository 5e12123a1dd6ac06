"""The floor-raising loop: warm LP solves and Numba replays until the training targets
hold, then a Clopper–Pearson certificate on fresh scenarios (docs/RELIABILITY.md).

One target (one reliability R) at a time, from a planning floor P [I, T] that only ever
rises (so the frontier's targets, run in ascending order from each other's P, are nested):

1. solve the reliability LP at P (warm: only bounds change);
2. replay the N training scenarios against the plan; per pair (or jointly) count the
   scenarios that break the instance floor;
3. for each event whose training frequency exceeds its training target, choose the
   scenarios to cover: all breaching ones but the allowed number, dropping first those
   that are dearest to cover (price = sum over days of the stock each needs times the
   LP's marginal cost of one more unit of planning floor that day, plus holding), and
   raise P by the largest shortfall over the covered scenarios per day (pass 2);
4. repeat until no event fails training, or the failing ones are proven stuck: the LP
   cannot hold the raised floor (r > 0: capacity, storage, lead time or the
   no-extra-rationing rule stop it) and breaches did not fall, or breaches did not fall
   twice in a row; stuck events are frozen with the reason;
5. certify on M scenarios of a range never used before; if some target's bound fails,
   tighten the training targets of the events that failed and go back to 1 (bounded).

It ends: P only rises and each iteration either raises it on a failing event or freezes
one; the iterations per attempt and the attempts are bounded (MAX_ITER, MAX_ATTEMPTS).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..instance import Instance
from ..model.status import Status
from ..scenarios.arrays import prepare
from ..scenarios.params import ScenarioParams
from .certificate import max_breaches, upper_bound
from .lp import LPResult, ReliabilityLP
from .replay import Runner, make_events, virtual
from .targets import Targets, protected_pairs, service_pairs

MAX_ITER = 12  # LP solves per attempt
MAX_ATTEMPTS = 4  # certification attempts per target
MAX_RAISES = 5  # raises of one event per attempt before it is called stuck
R_TOL = 1e-6  # unreached planning floor (relative to max(1, P)) that counts as a limit
LP_METHOD = "network"  # how each LP solve runs (reliability/lp.py; the benchmark compares)


@dataclass
class Outcome:
    """The result of planning for one reliability target."""

    reliability: float
    lp: LPResult
    planning_floor: np.ndarray  # [I, T] the floor the final LP held
    rows: dict  # per event: arrays (see results.reliability_table)
    certified: bool
    trained: bool  # training met every target
    iterations: int
    attempts: int
    certify_ranges: list[dict]
    joint_breaches: int
    joint_upper_bound: float | None
    limits: dict = field(default_factory=dict)  # pair id -> what limits it
    seconds: float = 0.0
    solved_at: tuple = ()  # (planning floor, hard floor) the final LP was solved at
    solve_index: int = 0  # which of the session's LP solves produced `lp`


def train_target(kmax: int, m: int, n: int) -> float:
    """The training frequency to aim at: the largest frequency the certificate accepts,
    less one standard error of a training estimate (so a plan met on N scenarios
    usually passes on M fresh ones)."""
    if kmax < 0:
        return 0.0
    p = kmax / m
    return max(0.0, p - math.sqrt(p * (1.0 - p) / n))


class Loop:
    """State shared by the targets of one call (the frontier's included)."""

    def __init__(self, inst: Instance, targets: Targets, params: ScenarioParams,
                 baseline_u: np.ndarray, map_fn=None, lp_workers: int = 2, start=None,
                 baseline_s: np.ndarray | None = None,
                 log: Callable[[str], None] | None = None):
        self.inst, self.targets, self.params = inst, targets, params
        self.log = log or (lambda msg: None)
        self.ready = protected_pairs(inst)
        self.service = service_pairs(inst) if targets.service is not None else \
            np.zeros(inst.n_pairs, bool)
        self.lp = ReliabilityLP(inst, self.ready | self.service, baseline_u,
                                workers=lp_workers, start=start, method=LP_METHOD)
        self.baseline_u = baseline_u
        self.P = np.where(self.ready[:, None], inst.floor, 0.0).astype(np.float64)
        # hard lower bounds on stock: the floors a lower target held (nested frontier); at
        # the start, the instance floors wherever the expected-demand plan holds them (a
        # feasible point: its flows, within the rationing cap), so no planning floor the
        # loop cannot reach elsewhere is ever bought by giving up one the expected plan kept
        if baseline_s is None:
            baseline_s = np.zeros_like(self.P)
        self.hard = np.where(self.ready[:, None],
                             np.maximum(np.minimum(inst.floor, baseline_s), 0.0), 0.0)
        self.runner = Runner(map_fn=map_fn)
        # the cheapest price of each pair's commodity (a unit held past the horizon)
        cheapest = np.full(len(inst.commodities), np.inf)
        np.minimum.at(cheapest, inst.sp_commodity, inst.unit_price)
        self.end_price = np.where(np.isfinite(cheapest), cheapest, 0.0)[inst.nc_commodity]
        self.next_certify = targets.train  # certification ranges follow the training one
        self.replay_seconds = 0.0
        p = params  # days a shipment's trouble can last: the buffer's look-back window
        self.window = ((p.delay_max_days if p.delay_prob > 0 else 0)
                       + (p.outage_days if p.outages else 0) + (1 if p.loss_prob > 0 else 0))

    # ------------------------------------------------------------------ one target
    def run(self, reliability: float) -> Outcome:
        t0 = time.perf_counter()
        tg, inst = self.targets, self.inst
        N, M, C = tg.train, tg.certify, tg.confidence
        ir, isv = np.flatnonzero(self.ready), np.flatnonzero(self.service)
        joint = tg.scope == "joint"
        a_r = train_target(max_breaches(M, reliability, C), M, N)
        a_s = train_target(max_breaches(M, tg.service, C), M, N) if tg.service else 0.0
        tr_r = np.full(len(ir), a_r)
        tr_j = a_r
        tr_s = np.full(len(isv), a_s)
        frozen_r = np.zeros(len(ir), bool)
        frozen_s = np.zeros(len(isv), bool)
        frozen_j = False
        limits: dict[int, str] = {}
        iterations = 0
        ranges: list[dict] = []
        res = None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            prev_r = prev_s = None
            prev_j = None
            stall_r = np.zeros(len(ir), int)
            stall_s = np.zeros(len(isv), int)
            stall_j = 0
            raised_r = np.zeros(len(ir), int)  # raises of each event in this attempt
            raised_s = np.zeros(len(isv), int)
            raised_j = 0
            for _ in range(MAX_ITER):
                solved_at = (self.P.copy(), self.hard.copy())
                res = self.lp.solve(self.P, self.hard)
                solve_index = len(self.lp.solves)
                iterations += 1
                if res.status != Status.OPTIMAL:
                    raise RuntimeError(f"the reliability LP ended {res.status.value}")
                arrays = prepare(inst, res.x, res.u)
                ev = make_events(inst, self.ready, self.service, res.u)
                varrays, H = virtual(inst, arrays, res.x, self.params, self.ready | self.service)
                w = self._weights(res.dual)
                w_r = np.ascontiguousarray(w[ir].T)
                w_s = np.ascontiguousarray(w[isv].T)
                # the most breaching scenarios any event may leave uncovered (+1): the
                # shortfalls pass 1 keeps per (pair, day) to take the buffers from
                keep = 1 + max([_allowed(tr_j, N, raised_j)] if joint else
                               [_allowed(tr_r[k], N, raised_r[k])
                                for k in np.flatnonzero(~frozen_r)], default=0)
                keep = max([keep] + [1 + _allowed(tr_s[k], N, raised_s[k])
                                     for k in np.flatnonzero(~frozen_s)])
                br, bs, pr, ps, kept = self.runner.pass1(varrays, self.params, tg.seed, 0, N,
                                                         ev, w_r, w_s, H, keep=keep)
                c_r, c_s = br.sum(axis=0), bs.sum(axis=0)
                any_r = br.any(axis=1)
                c_j = int(any_r.sum())
                unreached = res.unreached > R_TOL * np.maximum(1.0, self.P)
                short_r = unreached[ir].any(axis=1)
                short_s = unreached[isv].any(axis=1)
                # stuck: breaches did not fall (twice, or once where the LP could not hold P)
                if prev_r is not None:
                    stall_r = np.where(c_r >= prev_r, stall_r + 1, 0)
                    stall_s = np.where(c_s >= prev_s, stall_s + 1, 0)
                    stall_j = stall_j + 1 if c_j >= prev_j else 0
                prev_r, prev_s, prev_j = c_r, c_s, c_j
                fail_r = (c_r > np.floor(tr_r * N + 1e-9)) & ~frozen_r if not joint else \
                    np.zeros(len(ir), bool)
                fail_j = joint and not frozen_j and c_j > math.floor(tr_j * N + 1e-9)
                fail_s = (c_s > np.floor(tr_s * N + 1e-9)) & ~frozen_s
                stuck_r = fail_r & ((stall_r >= np.where(short_r, 1, 2)) | (raised_r >= MAX_RAISES))
                stuck_s = fail_s & ((stall_s >= np.where(short_s, 1, 2)) | (raised_s >= MAX_RAISES))
                if fail_j and (stall_j >= (1 if short_r.any() else 2) or raised_j >= MAX_RAISES):
                    frozen_j, fail_j = True, False
                    for i in ir[br.any(axis=0)]:
                        limits.setdefault(int(i), self._limit(int(i), res))
                for k in np.flatnonzero(stuck_r):
                    limits.setdefault(int(ir[k]), self._limit(int(ir[k]), res))
                for k in np.flatnonzero(stuck_s):
                    limits.setdefault(int(isv[k]), self._limit(int(isv[k]), res))
                frozen_r |= stuck_r
                frozen_s |= stuck_s
                fail_r &= ~stuck_r
                fail_s &= ~stuck_s
                self.log(f"R={reliability:g} attempt {attempt} iteration {iterations}: LP "
                         f"{res.seconds:.2f}s ({res.iterations} simplex iterations), "
                         f"training breaches: worst pair {int(c_r.max(initial=0))}/{N}, "
                         f"any pair {c_j}/{N}; failing events "
                         f"{int(fail_r.sum()) + int(fail_s.sum()) + int(fail_j)}")
                if not (fail_r.any() or fail_s.any() or fail_j):
                    break
                cover_r = np.zeros_like(br)
                if joint and fail_j:
                    allowed = _allowed(tr_j, N, raised_j)
                    cover_r[:] = _cover(any_r, pr.sum(axis=1), allowed)[:, None] & br
                    raised_j += 1
                elif not joint:
                    for k in np.flatnonzero(fail_r):
                        cover_r[:, k] = _cover(br[:, k], pr[:, k], _allowed(tr_r[k], N, raised_r[k]))
                    raised_r += fail_r
                cover_s = np.zeros_like(bs)
                for k in np.flatnonzero(fail_s):
                    cover_s[:, k] = _cover(bs[:, k], ps[:, k], _allowed(tr_s[k], N, raised_s[k]))
                raised_s += fail_s
                bufr, bufs = kept.buffers(cover_r, cover_s)
                # an event that failed again after a raise: its shortfalls come with the
                # shipments that feed it (late, lost, or stopped by an outage), and more of the
                # same shipment does not help -- hold the buffer over the days before as well
                w = self.window
                if w:
                    again_r = (raised_r > 1) if not joint else np.full(len(ir), raised_j > 1)
                    bufr = np.where(again_r[None, :], _back_max(bufr, w), bufr)
                    bufs = np.where((raised_s > 1)[None, :], _back_max(bufs, w), bufs)
                before = self.P.copy()
                # raise the planning floor where a covered scenario fell short: the plan's
                # stock there plus the largest shortfall (P only rises; other days keep P)
                for pairs, buf in ((ir, bufr.T), (isv, bufs.T)):
                    if len(pairs):
                        raised = np.maximum(self.P[pairs], res.s[pairs] + buf)
                        self.P[pairs] = np.where(buf > 0, raised, self.P[pairs])
                if np.array_equal(before, self.P):  # nothing to add: frozen where failing
                    for k in np.flatnonzero(fail_r):
                        limits.setdefault(int(ir[k]), self._limit(int(ir[k]), res))
                    for k in np.flatnonzero(fail_s):
                        limits.setdefault(int(isv[k]), self._limit(int(isv[k]), res))
                    frozen_r |= fail_r
                    frozen_s |= fail_s
                    frozen_j = frozen_j or fail_j
                    break
            else:  # iteration limit with events still failing: call them out
                fail_r_now = (c_r > np.floor(tr_r * N + 1e-9)) & ~frozen_r if not joint else \
                    np.zeros(len(ir), bool)
                for k in np.flatnonzero(fail_r_now):
                    limits.setdefault(int(ir[k]), f"not reached within {MAX_ITER} iterations")
                frozen_r |= fail_r_now
                if joint and not frozen_j and c_j > math.floor(tr_j * N + 1e-9):
                    frozen_j = True
                    for i in ir[br.any(axis=0)]:
                        limits.setdefault(int(i), f"not reached within {MAX_ITER} iterations")
            trained = not (frozen_r.any() or frozen_s.any() or frozen_j)
            # certification on a range never used before
            first = self.next_certify
            self.next_certify += M
            ranges.append({"seed": tg.seed, "first": first, "count": M})
            cbr, cbs = self.runner.certify(arrays, self.params, tg.seed, first, M, ev)
            k_r, k_s = cbr.sum(axis=0), cbs.sum(axis=0)
            k_j = int(cbr.any(axis=1).sum())
            u_r = np.atleast_1d(upper_bound(k_r, M, C))
            u_s = np.atleast_1d(upper_bound(k_s, M, C))
            u_j = float(upper_bound(k_j, M, C)) if len(ir) else None
            ok_r = u_r <= 1.0 - reliability
            ok_s = u_s <= 1.0 - tg.service if tg.service else np.ones(len(isv), bool)
            ok_j = u_j is None or u_j <= 1.0 - reliability
            certified = bool(ok_s.all() and (ok_j if joint else ok_r.all()))
            self.log(f"R={reliability:g} attempt {attempt}: certificate on scenarios "
                     f"{first}..{first + M - 1}: " + ("CERTIFIED" if certified else "not certified")
                     + (f", worst upper bound {float(u_r.max()):.4f}" if len(u_r) else ""))
            if certified or attempt == MAX_ATTEMPTS:
                break
            # tighten the training targets of the events that failed (those not stuck)
            before = (tr_r.copy(), tr_j, tr_s.copy())
            kmax_r = max_breaches(M, reliability, C)
            if joint:
                if not ok_j and not frozen_j:
                    tr_j *= _shrink(kmax_r, k_j)
            else:
                bad = ~ok_r & ~frozen_r
                tr_r[bad] *= np.array([_shrink(kmax_r, int(k)) for k in k_r[bad]])
            if tg.service:
                kmax_s = max_breaches(M, tg.service, C)
                bad = ~ok_s & ~frozen_s
                tr_s[bad] *= np.array([_shrink(kmax_s, int(k)) for k in k_s[bad]])
            if not (((~ok_r & ~frozen_r).any() if not joint else (not ok_j and not frozen_j))
                    or (~ok_s & ~frozen_s).any()):
                break  # every failing event is stuck: no stronger plan exists
            if (np.array_equal(before[0], tr_r) and before[1] == tr_j
                    and np.array_equal(before[2], tr_s)):
                break  # training already covers every breach: tightening changes nothing
        # the floors this plan holds: its LP's planning floor where reached, else what it
        # held there (never less than the hard floor it was given); the next target keeps them
        P_used, hard_used = solved_at
        if res.planning_floor is not None:  # the floor the LP used (snapped to its grid)
            P_used = res.planning_floor
        held = np.where(res.unreached > R_TOL * np.maximum(1.0, P_used),
                        np.maximum(np.minimum(P_used, res.s), hard_used), P_used) + 0.0
        self.hard = np.maximum(self.hard, held)
        rows = {
            "ready": {"pairs": ir, "train": c_r, "certify": k_r, "upper": u_r, "ok": ok_r},
            "service": {"pairs": isv, "train": c_s, "certify": k_s, "upper": u_s, "ok": ok_s},
            "joint": {"train": c_j, "certify": k_j, "upper": u_j, "ok": ok_j},
        }
        return Outcome(reliability=reliability, lp=res, planning_floor=held, rows=rows,
                       certified=certified, trained=trained, iterations=iterations,
                       attempts=len(ranges), certify_ranges=ranges, joint_breaches=k_j,
                       joint_upper_bound=u_j, limits=limits,
                       seconds=time.perf_counter() - t0, solved_at=solved_at,
                       solve_index=solve_index)

    def _weights(self, dual: np.ndarray) -> np.ndarray:
        """[I, T] price of one unit of shortfall covered on (pair, day): the LP's marginal
        cost of a unit more planning floor that day, plus holding it; on the last day at
        least the cheapest price of the commodity, because stock held past the horizon is
        never consumed, so a buffer still needed then is a unit bought for good (the dual
        of a degenerate LP -- the first, sitting on the floors -- can say 0 there, which
        made covering short, late shortfalls look cheaper than long, early ones)."""
        hold = self.inst.holding_cost
        eps = 1e-9 * max(1.0, float(np.max(dual, initial=0.0)))
        w = dual + hold[:, None] + eps
        if w.shape[1]:
            w[:, -1] = np.maximum(dual[:, -1], self.end_price) + hold + eps
        return w

    # ------------------------------------------------------------------ limits
    def _limit(self, i: int, res: LPResult) -> str:
        """What stops pair i: where the LP could not hold its planning floor, why."""
        inst = self.inst
        short = res.unreached[i] > R_TOL * np.maximum(1.0, self.P[i])
        if not short.any():
            return ("buffers do not bring its breaches down to the target (what breaks it is "
                    "not offset by stock held in advance, e.g. outages, losses or delays late "
                    "in the horizon, or shortfalls passed on from upstream)")
        days = np.flatnonzero(short)
        t = int(days[0])
        if np.isfinite(inst.max_stock[i]) and self.P[i, t] > inst.max_stock[i] * (1 - 1e-9):
            return (f"storage: the planning floor {self.P[i, t]:,.1f} on day {t} is above "
                    f"max_stock {inst.max_stock[i]:,.1f}")
        into = inst.lane_dest == i
        lead = int(inst.lane_lead[into].min()) if into.any() else inst.horizon
        if t < lead:
            return (f"lead time: nothing ordered now arrives before day {lead}, and the "
                    f"stock on day {t} needs {res.unreached[i, t]:,.1f} more")
        msg = (f"capacity: supplier, lane, contract or budget limits cannot hold "
               f"{res.unreached[i, t]:,.1f} more on day {t}")
        if (self.baseline_u[i] > 0).any():
            msg += " (and consumption may not be rationed beyond the expected plan)"
        return msg


def _allowed(target: float, n: int, raised: int) -> int:
    """Breaching training scenarios an event may keep. The first raise aims at the target;
    an event that failed again after a raise (the plan moved under it: rerouting, scaled
    dispatches) aims at 80% of it, so the tail of the loop is short."""
    allowed = math.floor(target * n + 1e-9)
    return allowed if raised == 0 else math.floor(0.8 * allowed)


def _back_max(buf: np.ndarray, w: int) -> np.ndarray:
    """buf [T, n] -> the largest of buf over days t..t+w, per day t."""
    out = buf.copy()
    for j in range(1, min(w, len(buf) - 1) + 1):
        np.maximum(out[:-j], buf[j:], out=out[:-j])
    return out


def _cover(breach: np.ndarray, price: np.ndarray, allowed: int) -> np.ndarray:
    """Which breaching scenarios to cover: all but the `allowed` dearest (ties by index)."""
    idx = np.flatnonzero(breach)
    keep = len(idx) - max(0, int(allowed))
    out = np.zeros(len(breach), bool)
    if keep <= 0:
        return out
    order = np.lexsort((idx, price[idx]))  # cheapest first, then lowest scenario index
    out[idx[order[:keep]]] = True
    return out


def _shrink(kmax: int, k: int) -> float:
    """How much to tighten a training target after k certification breaches (kmax allowed)."""
    if k <= 0:
        return 0.8
    return float(min(0.8, max(0.5, max(kmax, 0) / k)))
