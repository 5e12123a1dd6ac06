"""The floor-raising loop: warm LP solves and Numba replays until the training targets
hold, then a Clopper–Pearson certificate on fresh scenarios (docs/RELIABILITY.md).

One target (one reliability R) at a time, from a planning floor P [I, T] that only ever
rises (so the frontier's targets, run in ascending order from each other's P, are nested):

1. the first plan is the expected-demand one (no LP solve); later ones solve the
   reliability LP at P (warm: only bounds change);
2. replay training scenarios against the plan -- a prefix 0..n-1 of whole replay chunks
   doubling from 512 up to N in the first attempt (training.prefixes), all N after -- and
   count, per pair (or jointly), the scenarios that break the instance floor;
3. for each event whose training frequency exceeds its training target (on a prefix: the
   target's count plus one standard error), choose the scenarios to cover: all breaching
   ones but the number the raise aims at (training.aim: on a prefix the target's count,
   on all N a margin below it with many events, as the next plan's breaches behave like
   a fresh sample), dropping first those that are dearest to cover (price = sum over
   days of the stock each needs times the LP's marginal cost of one more unit of
   planning floor that day, plus holding), and raise P by the largest shortfall over the
   covered scenarios per day;
4. repeat until no event fails training on all N (a plan that passes a prefix is judged
   on all N by extending its replay, no LP solve), or the failing ones are proven stuck:
   the LP cannot hold the raised floor (r > 0: capacity, storage, lead time or the
   no-extra-rationing rule stop it) and breaches did not fall, or breaches on the same
   scenarios did not fall STALLS times in a row; stuck events are frozen with the reason;
5. certify on M scenarios of a range never used before, in waves, stopping once a target
   is broken beyond what the certificate accepts (the attempt reported is replayed in
   full); if some target's bound fails, tighten the training targets of the events that
   failed and go back to 1 (bounded; not when a stuck event failed).

It ends: P only rises and each iteration either raises it on a failing event or freezes
one; the prefixes only grow; the iterations per attempt and the attempts are bounded
(MAX_ITER, MAX_ATTEMPTS).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import SolverError
from ..instance import Instance
from ..model.status import Status
from ..scenarios.arrays import prepare
from ..scenarios.params import ScenarioParams
from .certificate import max_breaches
from .lp import LPResult, ReliabilityLP
from .replay import Runner, make_events, upstream, virtual
from .shortfalls import Shortfalls
from .targets import Targets, first_reach, protected_pairs, service_pairs
from .training import Cert, Fail, State, Train, back_max, cover, prefixes

MAX_ITER = 12  # LP solves per attempt
CERTIFY_WAVE = 2048  # the first certification wave; each next one twice the last
MAX_ATTEMPTS = 4  # certification attempts per target
MAX_RAISES = 5  # raises of one event per attempt before it is called stuck
FIRST_PLAN = "baseline"  # the first plan replayed: "baseline" (no LP solve) or "lp" (at the floors)
STALLS = 3  # training replays after a raise with no fall in breaches: stuck
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
    certify_replayed: list[int]  # scenarios each attempt replayed (< M when stopped early)
    joint_breaches: int
    joint_upper_bound: float | None
    limits: dict = field(default_factory=dict)  # pair id -> what limits it
    seconds: float = 0.0
    solved_at: tuple = ()  # (planning floor, hard floor) the final LP was solved at
    solve_index: int = 0  # which of the session's LP solves produced `lp`
    train_sizes: list = field(default_factory=list)  # scenarios each training pass judged
    train_replayed: list = field(default_factory=list)  # of which it replayed (extensions)


def train_target(kmax: int, m: int, n: int, events: int = 1) -> float:
    """The training frequency to aim at: the largest frequency the certificate accepts,
    less z standard errors of a training estimate, z = max(1, the (1 - 1/(2 events))
    normal quantile): with one event one standard error (so a plan met on N scenarios
    usually passes on M fresh ones, and is not bought much beyond what the certificate
    needs); with many events, each certified on its own, enough that about half an event
    is expected to have a training estimate that flatters it by more than the margin (54
    protected pairs: z = 2.35), so the first certification attempt usually passes for all
    of them, not just for most."""
    if kmax < 0:
        return 0.0
    from scipy.special import ndtri  # the normal quantile (scipy.stats costs ~0.6 s of import)

    p = kmax / m
    z = max(1.0, float(ndtri(1.0 - 0.5 / max(1, int(events)))))
    return max(0.0, p - z * math.sqrt(p * (1.0 - p) / n))


def _hold_ahead(buf: np.ndarray, s: np.ndarray, w: int, where: np.ndarray) -> np.ndarray:
    """buf [T, n] raised, where `where`, so that the plan's stock s [T, n] plus it reaches
    on each day the largest level s + buf asks for on that day or the next w days."""
    level = np.where(buf > 0, s + buf, 0.0)
    ahead = np.maximum(back_max(level, w) - s, 0.0)
    return np.where(where, np.maximum(ahead, buf), buf)


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
                                workers=lp_workers, start=start, method=LP_METHOD,
                                log=self.log)
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
        self.runner = Runner(map_fn=map_fn, need=upstream(inst, self.ready | self.service))
        # the cheapest price of each pair's commodity (a unit held past the horizon)
        cheapest = np.full(len(inst.commodities), np.inf)
        np.minimum.at(cheapest, inst.sp_commodity, inst.unit_price)
        self.end_price = np.where(np.isfinite(cheapest), cheapest, 0.0)[inst.nc_commodity]
        self.next_certify = targets.train  # certification ranges follow the training one
        # the first plan to replay: the expected-demand one (x, s, u), when given
        self.baseline_plan = start if FIRST_PLAN == "baseline" else None
        reach = first_reach(inst)  # no planning floor is raised before anything can arrive
        self.reach = np.where(reach < 0, inst.horizon, reach)
        self.replay_seconds = 0.0
        p = params  # days a shipment's trouble can last: the buffer's look-back window
        self.window = ((p.delay_max_days if p.delay_prob > 0 else 0)
                       + (p.outage_days if p.outages else 0) + (1 if p.loss_prob > 0 else 0))

    # ------------------------------------------------------------------ one target
    def run(self, reliability: float) -> Outcome:
        t0 = time.perf_counter()
        tg = self.targets
        N, M, C = tg.train, tg.certify, tg.confidence
        ir, isv = np.flatnonzero(self.ready), np.flatnonzero(self.service)
        joint = tg.scope == "joint"
        kmax_r = max_breaches(M, reliability, C)
        kmax_s = max_breaches(M, tg.service, C) if tg.service else -1
        n_events = (1 if joint else len(ir)) + len(isv)
        st = State(len(ir), len(isv), train_target(kmax_r, M, N, n_events),
                    train_target(kmax_s, M, N, n_events) if tg.service else 0.0)
        st.many = n_events > 1
        limits: dict[int, str] = {}
        iterations = 0
        ranges: list[dict] = []  # each attempt's range: M scenarios, reserved whole
        cert_replayed: list[int] = []
        sizes: list[int] = []  # the training sample (0..n-1) each training pass judged
        replayed: list[int] = []  # the scenarios it replayed (a plan's replay is extended)
        res = tr = None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            st.new_attempt()
            # attempt 1 of the call starts from a replay of the expected-demand plan (no LP
            # solve) on a prefix of the training range, growing to all N (prefixes);
            # later attempts (tightened targets, a plan already near them) train on all N
            steps = prefixes(N, self.runner.chunk) if attempt == 1 else [N]
            n = steps[0]
            cur = None  # the training replay of the current plan (extended, never redone)
            solved_at = None
            need = self.baseline_plan is None
            if not need:
                res = self._baseline()
                self.baseline_plan = None
            lp_solves = 0
            while True:
                if need:
                    need = False
                    if lp_solves >= MAX_ITER:
                        self._call_out(st, tr, N, joint, ir, isv, limits,
                                       f"not reached within {MAX_ITER} iterations")
                        break
                    solved_at = (self.P.copy(), self.hard.copy())
                    res = self.lp.solve(self.P, self.hard)
                    solved_at = self._used(res, solved_at)
                    solve_index = len(self.lp.solves)
                    iterations += 1
                    lp_solves += 1
                    if res.status != Status.OPTIMAL:
                        # a warm run that fails is solved again cold (lp.py): this is
                        # the solver failing twice on a valid LP, a malfunction (exit 1)
                        raise SolverError(f"the reliability LP's solve {iterations} ended "
                                          f"{res.status.value}, also when solved again cold; "
                                          f"no plan written")
                    cur = None
                replayed.append(n - (0 if cur is None else len(cur.br)))
                tr = cur = self._train(res, n, st, joint, ir, isv, have=cur)
                sizes.append(n)
                fail = st.judge(tr, n, N, joint)
                self._stuck(st, tr, fail, res, joint, ir, isv, limits)
                lp = (f"LP solve {iterations} {res.seconds:.2f}s ({res.iterations} simplex "
                      f"iterations)" if solved_at else "the expected-demand plan")
                self.log(f"R={reliability:g} attempt {attempt}, {lp}: "
                         f"training on {n} scenarios: worst pair "
                         f"{int(tr.k_r.max(initial=0))}/{n}, any pair {tr.k_j}/{n}; failing "
                         f"events {fail.count()}")
                if not fail.any():
                    if solved_at is None:  # the expected plan meets the targets: the LP's
                        need = True  # own plan is the one to judge
                        continue
                    if n < N:  # the same plan on all N training scenarios (no LP solve)
                        n = N
                        continue
                    break
                if not self._raise(st, tr, fail, res, n, N, joint, ir, isv):
                    for k in np.flatnonzero(fail.r):  # nothing to add: frozen where failing
                        limits.setdefault(int(ir[k]), self._limit(int(ir[k]), res))
                    for k in np.flatnonzero(fail.s):
                        limits.setdefault(int(isv[k]), self._limit(int(isv[k]), res))
                    st.frozen_r |= fail.r
                    st.frozen_s |= fail.s
                    st.frozen_j = st.frozen_j or fail.j
                    break
                need = True
                n = next((m for m in steps if m > n), N)
            if solved_at is None or n < N:  # (only on an early stop) judge the LP's plan on N
                if solved_at is None:
                    cur = None
                    solved_at = (self.P.copy(), self.hard.copy())
                    res = self.lp.solve(self.P, self.hard)
                    solved_at = self._used(res, solved_at)
                    solve_index = len(self.lp.solves)
                    iterations += 1
                n = N
                replayed.append(N - (0 if cur is None else len(cur.br)))
                tr = self._train(res, N, st, joint, ir, isv, have=cur)
                sizes.append(N)
            trained = not (st.frozen_r.any() or st.frozen_s.any() or st.frozen_j)
            # certification on a range never used before
            first = self.next_certify
            self.next_certify += M
            cert = self._certify(tr, first, M, kmax_r, kmax_s, joint)
            ranges.append({"seed": tg.seed, "first": first, "count": M})
            cert_replayed.append(cert.m)
            u_r, u_s, u_j, ok_r, ok_s, ok_j = cert.bounds(reliability, tg.service, C, len(ir))
            certified = cert.m == M and bool(ok_s.all() and (ok_j if joint else ok_r.all()))
            self.log(f"R={reliability:g} attempt {attempt}: certificate on scenarios "
                     f"{first}..{first + cert.m - 1}"
                     + (f" (stopped early: a target is already broken more than {M} "
                        f"scenarios allow)" if cert.m < M else "") + ": "
                     + ("CERTIFIED" if certified else "not certified"))
            stop = certified or attempt == MAX_ATTEMPTS
            # a frozen (stuck) event that fails its certificate: no stronger plan exists
            if (~ok_r & st.frozen_r).any() or (~ok_s & st.frozen_s).any() or \
                    (joint and not ok_j and st.frozen_j):
                stop = True
            if not stop:
                # tighten the training targets of the events that failed (those not stuck)
                stop = not st.tighten(cert, kmax_r, kmax_s, ok_r, ok_s, ok_j, joint, M)
            if stop:
                if cert.m < M:  # the attempt reported: its whole range, as the table says
                    cert = self._certify(tr, first, M, kmax_r, kmax_s, joint, done=cert)
                    cert_replayed[-1] = cert.m
                    u_r, u_s, u_j, ok_r, ok_s, ok_j = cert.bounds(reliability, tg.service, C,
                                                                  len(ir))
                    certified = bool(ok_s.all() and (ok_j if joint else ok_r.all()))
                break
        # limits name the pairs the plan does not certify: a pair stuck in training (its
        # training target is stricter than the certificate) that passes is not unreachable
        failed = set()
        if joint:
            failed |= set(ir.tolist()) if not ok_j else set()
        else:
            failed |= set(ir[~ok_r].tolist())
        failed |= set(isv[~ok_s].tolist())
        limits = {i: why for i, why in limits.items() if i in failed}
        # the floors this plan holds: its LP's planning floor where reached, else what it
        # held there (never less than the hard floor it was given); the next target keeps them
        P_used, hard_used = solved_at
        if res.planning_floor is not None:  # the floor the LP used (snapped to its grid)
            P_used = res.planning_floor
        held = np.where(res.unreached > R_TOL * np.maximum(1.0, P_used),
                        np.maximum(np.minimum(P_used, res.s), hard_used), P_used) + 0.0
        self.hard = np.maximum(self.hard, held)
        rows = {
            "ready": {"pairs": ir, "train": tr.k_r, "certify": cert.k_r, "upper": u_r,
                      "ok": ok_r},
            "service": {"pairs": isv, "train": tr.k_s, "certify": cert.k_s, "upper": u_s,
                        "ok": ok_s},
            "joint": {"train": tr.k_j, "certify": cert.k_j, "upper": u_j, "ok": ok_j},
        }
        return Outcome(reliability=reliability, lp=res, planning_floor=held, rows=rows,
                       certified=certified, trained=trained, iterations=iterations,
                       attempts=len(ranges), certify_ranges=ranges,
                       certify_replayed=cert_replayed, joint_breaches=cert.k_j,
                       joint_upper_bound=u_j, limits=limits,
                       seconds=time.perf_counter() - t0, solved_at=solved_at,
                       solve_index=solve_index, train_sizes=sizes, train_replayed=replayed)

    # ------------------------------------------------------------------ the steps
    def _used(self, res: LPResult, solved_at: tuple) -> tuple:
        """(planning floor, hard floor) the LP actually held: its own `planning_floor` when
        it reports one (the floors snapped up to the data's grid), else the P it was
        given; P takes the snapped values (it only rises)."""
        used = getattr(res, "planning_floor", None)
        if used is None:
            return solved_at
        used = np.asarray(used, dtype=np.float64)
        np.maximum(self.P, used, out=self.P)
        return (used.copy(), solved_at[1])

    def _baseline(self) -> LPResult:
        """The expected-demand plan as the first plan to replay (no LP solve): it holds the
        instance floors wherever they can be held; its duals are not the reliability LP's,
        so the first raise prices every day's stock at holding cost (as the first LP's
        degenerate duals mostly did)."""
        x, s, u = self.baseline_plan
        short = np.where(self.ready[:, None], np.maximum(self.P - s, 0.0), 0.0)
        return LPResult(Status.OPTIMAL, x, u, s, short, np.zeros_like(s), 0.0, 0)

    def _train(self, res: LPResult, n: int, st: State, joint: bool, ir, isv,
               have: Train | None = None) -> Train:
        """Replay training scenarios 0..n-1 against the plan `res`: breach flags, prices
        and the kept shortfalls the raise takes its buffers from. `have`: a replay of the
        same plan on a prefix 0..m-1 (m < n): only m..n-1 are replayed and appended (a
        scenario's replay does not depend on which others are replayed with it, and the
        kept shortfalls merge exactly), the same bits as replaying 0..n-1 at once."""
        inst = self.inst
        m = 0 if have is None else len(have.br)
        arrays = prepare(inst, res.x, res.u) if have is None else have.arrays
        ev = make_events(inst, self.ready, self.service, res.u) if have is None else have.ev
        varrays, H = virtual(inst, arrays, res.x, self.params, self.ready | self.service)
        w = self._weights(res.dual)
        w_r = np.ascontiguousarray(w[ir].T)
        w_s = np.ascontiguousarray(w[isv].T)
        # the most breaching scenarios any event may leave uncovered (+1): the shortfalls
        # pass 1 keeps per (pair, day) to take the buffers from -- as many as a raise on
        # all N may leave (so a prefix's replay can be extended to N and still serve it)
        N = self.targets.train
        keep = 1
        for size in {n, N}:
            keep = max([keep, 1 + st.allowed_j(size, N)] if joint else
                       [keep] + [1 + st.allowed_r(k, size, N)
                                 for k in np.flatnonzero(~st.frozen_r)])
            keep = max([keep] + [1 + st.allowed_s(k, size, N)
                                 for k in np.flatnonzero(~st.frozen_s)])
        br, bs, pr, ps, kept = self.runner.pass1(varrays, self.params, self.targets.seed, m,
                                                 n - m, ev, w_r, w_s, H, keep=keep)
        if have is not None:
            br, bs = np.concatenate([have.br, br]), np.concatenate([have.bs, bs])
            pr, ps = np.concatenate([have.pr, pr]), np.concatenate([have.ps, ps])
            kept = Shortfalls.merge([have.kept, kept])
        return Train(arrays=arrays, ev=ev, br=br, bs=bs, pr=pr, ps=ps, kept=kept)

    def _stuck(self, st: State, tr: Train, fail: Fail, res: LPResult, joint, ir, isv,
               limits) -> None:
        """Freeze the failing events that are stuck: breaches did not fall (twice, or once
        where the LP could not hold P), or MAX_RAISES raises in this attempt."""
        unreached = res.unreached > R_TOL * np.maximum(1.0, self.P)
        short_r = unreached[ir].any(axis=1)
        short_s = unreached[isv].any(axis=1)
        st.stalls(tr)
        stuck_r = fail.r & ((st.stall_r >= np.where(short_r, 1, STALLS)) |
                            (st.raised_r >= MAX_RAISES))
        stuck_s = fail.s & ((st.stall_s >= np.where(short_s, 1, STALLS)) |
                            (st.raised_s >= MAX_RAISES))
        if fail.j and (st.stall_j >= (1 if short_r.any() else STALLS) or st.raised_j >= MAX_RAISES):
            st.frozen_j, fail.j = True, False
            for i in ir[tr.br.any(axis=0)]:
                limits.setdefault(int(i), self._limit(int(i), res))
        for k in np.flatnonzero(stuck_r):
            limits.setdefault(int(ir[k]), self._limit(int(ir[k]), res))
        for k in np.flatnonzero(stuck_s):
            limits.setdefault(int(isv[k]), self._limit(int(isv[k]), res))
        st.frozen_r |= stuck_r
        st.frozen_s |= stuck_s
        fail.r &= ~stuck_r
        fail.s &= ~stuck_s

    def _call_out(self, st, tr, N, joint, ir, isv, limits, why) -> None:
        """The iteration limit with events still failing: name them."""
        if tr is None:
            return
        fail = st.judge(tr, len(tr.br), N, joint)
        for k in np.flatnonzero(fail.r):
            limits.setdefault(int(ir[k]), why)
        st.frozen_r |= fail.r
        for k in np.flatnonzero(fail.s):
            limits.setdefault(int(isv[k]), why)
        st.frozen_s |= fail.s
        if fail.j:
            st.frozen_j = True
            for i in ir[tr.br.any(axis=0)]:
                limits.setdefault(int(i), why)

    def _raise(self, st: State, tr: Train, fail: Fail, res: LPResult, n: int, N: int,
               joint: bool, ir, isv) -> bool:
        """Raise the planning floors of the failing events; False when nothing rose."""
        cover_r = np.zeros_like(tr.br)
        if joint and fail.j:
            cover_r[:] = cover(tr.br.any(axis=1), tr.pr.sum(axis=1),
                                st.allowed_j(n, N))[:, None] & tr.br
        elif not joint:
            for k in np.flatnonzero(fail.r):
                cover_r[:, k] = cover(tr.br[:, k], tr.pr[:, k], st.allowed_r(k, n, N))
        cover_s = np.zeros_like(tr.bs)
        for k in np.flatnonzero(fail.s):
            cover_s[:, k] = cover(tr.bs[:, k], tr.ps[:, k], st.allowed_s(k, n, N))
        st.raised(fail, n, N, joint)
        bufr, bufs = tr.kept.buffers(cover_r, cover_s)
        # an event that failed again after a raise: its shortfalls come with the shipments
        # that feed it (late, lost, or stopped by an outage), and more of the same shipment
        # does not help -- hold the *level* the raise asks for on a day (the plan's stock
        # there plus the buffer) over the days before as well, up to the noise window, from
        # the first day anything ordered can arrive there (no planning floor is held before
        # it). Holding only the buffer earlier is not enough: the day's own floor rises by
        # the same amount, so the LP still brings the difference on that day by the very
        # shipment that fails (a plan whose stock hangs on one arrival breaks whenever that
        # arrival is late, lost or stopped, however high both floors go)
        w = self.window
        if w:
            days = np.arange(self.inst.horizon)[:, None]
            again_r = (st.raised_r > 1) if not joint else np.full(len(ir), st.raised_j > 1)
            bufr = _hold_ahead(bufr, res.s[ir].T, w, again_r[None, :]
                               & (days >= self.reach[ir][None, :]))
            bufs = _hold_ahead(bufs, res.s[isv].T, w, (st.raised_s > 1)[None, :]
                               & (days >= self.reach[isv][None, :]))
        before = self.P.copy()
        # raise the planning floor where a covered scenario fell short: the plan's stock
        # there plus the largest shortfall (P only rises; other days keep P)
        for pairs, buf in ((ir, bufr.T), (isv, bufs.T)):
            if len(pairs):
                raised = np.maximum(self.P[pairs], res.s[pairs] + buf)
                self.P[pairs] = np.where(buf > 0, raised, self.P[pairs])
        return not np.array_equal(before, self.P)

    def _certify(self, tr: Train, first: int, M: int, kmax_r: int, kmax_s: int,
                 joint: bool, done: Cert | None = None) -> Cert:
        """Replay certification scenarios first..first+M-1 of the plan in waves of
        CERTIFY_WAVE, stopping as soon as some target event has more breaches than the
        certificate accepts (the attempt has failed whatever the rest say); `done`: an
        early-stopped certification of the same range to complete."""
        cert = done or Cert(np.zeros((0, len(tr.ev.ready)), bool),
                             np.zeros((0, len(tr.ev.service)), bool))
        seed = self.targets.seed
        wave = CERTIFY_WAVE
        while cert.m < M:
            m = min(M - cert.m, wave)
            wave *= 2
            cbr, cbs = self.runner.certify(tr.arrays, self.params, seed, first + cert.m, m,
                                           tr.ev)
            cert = Cert(np.concatenate([cert.br, cbr]), np.concatenate([cert.bs, cbs]))
            if done is None and cert.broken(kmax_r, kmax_s, joint):
                break
        return cert

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
