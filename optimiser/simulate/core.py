"""Closed-loop replanning of a chunk of scenarios: replay to the next replanning day, read
what is known, re-solve every scenario's LP, carry on under the new plans.

`simulate_chunk(ctx, start, stop)` is a pure function with picklable inputs and output:
each scenario's replans depend only on its own draws, so any partition of the scenarios
(threads, chunks, Dask workers) gives the same bits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..execution import KERNEL_LOCK, chunk_ranges, process_map
from ..instance import Instance
from ..scenarios.arrays import ReplayArrays
from ..scenarios.kernels import LANES, N_BINS, fan_accumulate
from ..scenarios.params import ScenarioParams
from .replan import reference_bases, solve_window, window_instance
from .state import Known, TrackInfo, known_at, run_segment, segment_plan


@dataclass(frozen=True, eq=False)
class SimContext:
    """Everything a worker needs (picklable): the instance, the day-0 plan, the settings."""

    inst: Instance
    arrays: ReplayArrays  # the day-0 plan, prepared as for evaluate
    x0: np.ndarray  # [L, T] day-0 dispatches
    u0: np.ndarray  # [I, T] day-0 rationing
    s0: np.ndarray  # [I, T] day-0 planned stock (end-of-window targets)
    floors: np.ndarray  # [I, T] floors of the replans (planning floors or the instance's)
    params: ScenarioParams
    seed: int
    replan_every: int
    window: int  # days; >= replan_every (T = the rest of the horizon)
    fan: bool = True
    # how each replan LP starts: "reference" (HiGHS from the optimal basis of the same day's
    # reference LP), "network" (LEMON + its tree as basis) or "cold" (dual simplex; benchmarks)
    lp_start: str = "reference"

    @property
    def replan_days(self) -> list[int]:
        return list(range(self.replan_every, self.inst.horizon, self.replan_every))


@dataclass(eq=False)
class SimChunk:
    scenario: np.ndarray  # [n]
    kpis: np.ndarray  # [n, N_KPI]
    kpis_c: np.ndarray  # [n, C, N_CKPI]
    replans: np.ndarray  # [n] int
    relaxed: np.ndarray  # [n] int
    solve_seconds: np.ndarray  # [n] total LP seconds of the scenario
    solve_max: float
    fan_counts: np.ndarray | None = None
    fan_min: np.ndarray | None = None
    fan_max: np.ndarray | None = None
    statuses: dict = field(default_factory=dict)


def _lane_sp(inst: Instance) -> np.ndarray:
    return np.where(inst.lane_from_supplier, inst.lane_origin, -1).astype(np.int64)


def reference_known(ctx: SimContext, t: int, info: TrackInfo) -> Known:
    """What a replanner on day t would know had everything gone as the day-0 plan expected:
    its stock, its shipments in transit on their planned days, no surge or outage, its
    supplier dispatches so far. The reference LP whose basis starts every scenario's replan."""
    inst = ctx.inst
    T, I = inst.horizon, inst.n_pairs
    lead = inst.lane_lead.astype(np.int64)
    expected = np.zeros((1, I, T))
    lane, day = np.nonzero(ctx.x0[:, :t] > 0)
    arr = day + lead[lane]
    keep = (arr >= t) & (arr < T)
    np.add.at(expected[0], (inst.lane_dest[lane[keep]], arr[keep]), ctx.x0[lane[keep], day[keep]])
    disp = np.zeros((1, info.n_sp))
    sp = _lane_sp(inst)
    sup = sp >= 0
    np.add.at(disp[0], sp[sup], ctx.x0[sup, :t].sum(axis=1))
    return Known(stock=ctx.s0[:, t - 1][None, :].copy(), expected=expected,
                 surge_left=np.zeros((1, info.n_nodes), dtype=np.int64),
                 outage_left=np.zeros((1, info.n_suppliers), dtype=np.int64), dispatched=disp)


def simulate_chunk(ctx: SimContext, start: int, stop: int, progress=None) -> SimChunk:
    """Closed-loop replay of scenarios start..stop-1 (each scenario's replans in turn)."""
    inst, a, p = ctx.inst, ctx.arrays, ctx.params
    T, I, L = inst.horizon, inst.n_pairs, inst.n_lanes
    n = stop - start
    nb = (n + LANES - 1) // LANES
    width = nb * LANES
    info = TrackInfo.of(a, p, inst.n_supplier_pairs)
    st_f = np.zeros((nb, info.nf))
    st_i = np.zeros((nb, info.ni), dtype=np.int64)
    lane_sp = _lane_sp(inst)
    X = np.broadcast_to(ctx.x0, (n, L, T)).copy()
    U = np.broadcast_to(ctx.u0, (n, I, T)).copy()
    rec = np.empty((nb, T * I, LANES), dtype=np.float32) if ctx.fan else None
    replans = np.zeros(n, dtype=np.int64)
    relaxed = np.zeros(n, dtype=np.int64)
    secs = np.zeros(n)
    smax = 0.0
    statuses: dict[str, int] = {}
    bounds = [0, *ctx.replan_days, T]
    kpi = kpi_c = None
    for t_lo, t_hi in zip(bounds[:-1], bounds[1:]):
        if t_lo > 0:
            known = known_at(t_lo, n, T, st_f, st_i, info, a.max_lead)
            E = min(T, t_lo + ctx.window)
            target = ctx.s0[:, E - 1] if E < T else None
            bases = None
            if ctx.lp_start == "reference":
                ref = window_instance(inst, t_lo, E, reference_known(ctx, t_lo, info), 0,
                                      ctx.floors, p, target)
                bases = reference_bases(ref)
            for j in range(n):
                w = window_instance(inst, t_lo, E, known, j, ctx.floors, p, target)
                r = solve_window(w, ctx.lp_start, bases)
                replans[j] += 1
                relaxed[j] += r.relaxed
                secs[j] += r.seconds
                smax = max(smax, r.seconds)
                statuses[r.status] = statuses.get(r.status, 0) + 1
                if r.status in ("optimal", "feasible") or r.relaxed:
                    X[j, :, t_lo:] = 0.0
                    X[j, :, t_lo:E] = r.x
                    U[j, :, t_lo:] = 0.0
                    U[j, :, t_lo:E] = r.u
                # else: no solution in hand -- the scenario keeps following its last plan
        plan = segment_plan(X, U, a, inst.lane_origin, inst.lane_from_supplier, t_lo, t_hi,
                            width)
        with KERNEL_LOCK:
            kpi, kpi_c = run_segment(a, p, ctx.seed, start, n, plan, t_lo, t_hi, st_f, st_i,
                                     lane_sp, info, rec)
        if progress:
            progress(t_hi - t_lo)
    counts = mn = mx = None
    if ctx.fan:
        C = T * I
        counts = np.zeros((C, N_BINS), dtype=np.uint32)
        mn = np.full(C, np.inf, dtype=np.float32)
        mx = np.full(C, -np.inf, dtype=np.float32)
        # the day-0 plan's bins (stock above its bound lands in the top bin; the exact
        # min and max still bound every percentile): with no replan, evaluate's fan exactly
        with KERNEL_LOCK:
            fan_accumulate(rec, n, a.fan_e_lo, counts, mn, mx)
    return SimChunk(scenario=np.arange(start, stop, dtype=np.int64), kpis=kpi, kpis_c=kpi_c,
                    replans=replans, relaxed=relaxed, solve_seconds=secs, solve_max=smax,
                    fan_counts=counts, fan_min=mn, fan_max=mx, statuses=statuses)


def merge_chunks(parts: list[SimChunk]) -> SimChunk:
    parts = sorted(parts, key=lambda c: int(c.scenario[0]) if len(c.scenario) else -1)
    cat = lambda name: np.concatenate([getattr(c, name) for c in parts])  # noqa: E731
    sc = cat("scenario")
    if len(sc) > 1 and (np.diff(sc) <= 0).any():
        raise ValueError("merging chunks that share scenarios")
    out = SimChunk(scenario=sc, kpis=cat("kpis"), kpis_c=cat("kpis_c"), replans=cat("replans"),
                   relaxed=cat("relaxed"), solve_seconds=cat("solve_seconds"),
                   solve_max=max(c.solve_max for c in parts))
    if parts[0].fan_counts is not None:
        out.fan_counts = sum(c.fan_counts for c in parts[1:]) + parts[0].fan_counts
        out.fan_min = np.minimum.reduce([c.fan_min for c in parts])
        out.fan_max = np.maximum.reduce([c.fan_max for c in parts])
    for c in parts:
        for k, v in c.statuses.items():
            out.statuses[k] = out.statuses.get(k, 0) + v
    return out


def chunk_task(item) -> SimChunk:
    """(ctx, start, stop) -> SimChunk: the unit of work shipped to processes or Dask workers."""
    ctx, s, e = item
    return simulate_chunk(ctx, s, e)


def run_chunks(ctx: SimContext, scenarios: int, chunk: int, progress=None, map_fn=None,
               workers: int = 1) -> SimChunk:
    """Every chunk of 0..scenarios-1 through simulate_chunk: in turn, in `workers` worker
    processes, or through `map_fn` (Executor.map-like, e.g. Dask); merged in scenario order.

    Processes, not threads (execution.process_map): a replan is mostly Python and numpy
    around the LP and network solvers, which hold the GIL (measured: two threads replan no
    faster than one)."""
    ranges = chunk_ranges(scenarios, chunk)
    items = [(ctx, s, e) for s, e in ranges]
    if map_fn is not None:
        parts = list(map_fn(chunk_task, items))
        if progress:
            progress(scenarios * ctx.inst.horizon)
    elif workers > 1 and len(ranges) > 1:
        done = None if progress is None else \
            (lambda it: progress((it[2] - it[1]) * ctx.inst.horizon))
        parts = process_map(workers, done)(chunk_task, items)
    else:
        parts = [simulate_chunk(ctx, s, e, progress=_scaled(progress, e - s)) for s, e in ranges]
    return merge_chunks(parts)


def _scaled(progress, n):
    if progress is None:
        return None
    return lambda days: progress(n * days)
