"""Scenario evaluation: chunks of scenarios through the kernels, mergeable results.

    ev = evaluate(instance, plan, scenarios=10_000, seed=1, demand_sigma=0.3)
    ev.summary["unmet"]["p95"]; ev.scenarios; ev.fan; ev.write("EVAL")

`evaluate_chunk(arrays, params, seed, start, stop)` is a pure function with
picklable inputs and output (`ChunkResult`); `ChunkResult.merge` combines any
partition of 0..N-1 into the same bits, so chunks may run in other processes or
on other machines (e.g. Dask) and be merged in any order.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UsageError
from ..execution import MAX_SEED, chunk_ranges  # noqa: F401  (MAX_SEED: kept for importers)
from ..execution import check_int as _check_int  # noqa: F401  (kept for importers)
from .arrays import ReplayArrays, kernel_model, prepare
from .inputs import NO_STOCK, Outputs, open_loop
from .kernels import (
    COMMODITY_KPI_NAMES,
    KPI_NAMES,
    LANES,
    MANT_BITS,
    N_BINS,
    N_CKPI,
    N_KPI,
    OCTAVES,
    fan_accumulate,
    replay_kernel,
)
from .params import ScenarioParams

# stock buffer of one kernel call (float32 [blocks, T*I, LANES]) stays under this many
# bytes: small enough that the kernel's writes and the binning's reads mostly stay in cache
BLOCK_BYTES = 8 * 2 ** 20


@dataclass(eq=False)
class ChunkResult:
    """Results for a set of scenarios: exact KPI rows and fan-chart histograms."""

    scenario: np.ndarray  # [n] int64, ascending
    kpis: np.ndarray  # [n, N_KPI] float64, columns KPI_NAMES
    fan_counts: np.ndarray | None  # [T*I, N_BINS] uint32, None when the fan is off
    fan_min: np.ndarray | None  # [T*I] float32
    fan_max: np.ndarray | None  # [T*I] float32
    seconds: float = 0.0
    kpis_c: np.ndarray | None = None  # [n, commodities, N_CKPI], columns COMMODITY_KPI_NAMES

    @property
    def n(self) -> int:
        return int(self.scenario.shape[0])

    def merge(self, other: ChunkResult) -> ChunkResult:
        """Combine two results over disjoint scenario sets (order of merging is irrelevant)."""
        sc = np.concatenate([self.scenario, other.scenario])
        order = np.argsort(sc, kind="stable")
        sc = sc[order]
        if len(sc) > 1 and (np.diff(sc) == 0).any():
            raise ValueError("merging chunks that share scenarios")
        kp = np.concatenate([self.kpis, other.kpis])[order]
        if (self.kpis_c is None) != (other.kpis_c is None):
            raise ValueError("merging a chunk with per-commodity KPIs and one without")
        kc = None if self.kpis_c is None else np.concatenate([self.kpis_c, other.kpis_c])[order]
        if (self.fan_counts is None) != (other.fan_counts is None):
            raise ValueError("merging a chunk with a fan and one without")
        if self.fan_counts is None:
            counts = mn = mx = None
        else:
            counts = self.fan_counts + other.fan_counts
            mn = np.minimum(self.fan_min, other.fan_min)
            mx = np.maximum(self.fan_max, other.fan_max)
        return ChunkResult(sc, kp, counts, mn, mx, self.seconds + other.seconds, kc)

    @staticmethod
    def merge_all(parts: list[ChunkResult]) -> ChunkResult:
        if not parts:
            raise ValueError("nothing to merge")
        parts = sorted(parts, key=lambda p: int(p.scenario[0]) if p.n else -1)
        out = parts[0]
        for p in parts[1:]:
            out = out.merge(p)
        return out


def _empty_fan(arrays: ReplayArrays):
    C = arrays.T * arrays.n_pairs
    return (np.zeros((C, N_BINS), dtype=np.uint32), np.full(C, np.inf, dtype=np.float32),
            np.full(C, -np.inf, dtype=np.float32))


def block_size(arrays: ReplayArrays) -> int:
    """Scenarios per kernel call so that its float32 stock buffer stays under BLOCK_BYTES
    (a multiple of LANES, at least LANES)."""
    return max(1, BLOCK_BYTES // max(1, 4 * LANES * arrays.T * arrays.n_pairs)) * LANES


def run_kernel(arrays: ReplayArrays, params: ScenarioParams, seed: int, start: int, n: int,
               stock_out: np.ndarray | None = None) -> np.ndarray:
    """Replay scenarios start..start+n-1; fill stock_out [n, T, I] (any float dtype) if given.

    Returns the KPI array [n, N_KPI].
    """
    return replay_full(arrays, params, seed, start, n, stock_out)[0]


def replay_full(arrays: ReplayArrays, params: ScenarioParams, seed: int, start: int, n: int,
                stock_out: np.ndarray | None = None, pair_flags: bool = False):
    """Replay scenarios start..start+n-1 -> (kpis [n, N_KPI], kpis by commodity
    [n, commodities, N_CKPI], flags [n, I] uint8 or None); fills stock_out [n, T, I] if given.

    flags (with pair_flags): per scenario and pair, FLAG_BREACH (end-of-day stock below
    floor - 1e-6 * max(1, floor) on some day) | FLAG_SHORT (some day's consumption short
    of its target -- realised demand less the plan's own rationing -- by more than
    1e-6 * max(1, planned demand)); test with `flags & FLAG_BREACH != 0`.
    """
    if stock_out is None:
        return _replay(arrays, params, seed, start, n, None, pair_flags)
    T, I = arrays.T, arrays.n_pairs
    blocks = np.empty(((n + LANES - 1) // LANES, T * I, LANES), dtype=stock_out.dtype)
    out = _replay(arrays, params, seed, start, n, blocks, pair_flags)
    stock_out[...] = blocks.transpose(0, 2, 1).reshape(-1, T, I)[:n]
    return out


def replay_record(arrays: ReplayArrays, params: ScenarioParams, seed: int, start: int, n: int,
                  blocks: np.ndarray) -> np.ndarray:
    """Replay scenarios start..start+n-1 into the kernel's own block-major stock record,
    no copy: blocks [ceil(n / LANES) or more, T*I, LANES] (float32 or float64) gets the
    end-of-day stock of scenario start + 32 b + k, day t, pair i at [b, t*I + i, k] (lanes
    past n hold scenarios nobody asked for). Returns the KPI array [n, N_KPI]."""
    T, I = arrays.T, arrays.n_pairs
    if blocks.ndim != 3 or blocks.shape[0] * LANES < n or blocks.shape[1:] != (T * I, LANES) \
            or not blocks.flags.c_contiguous:
        raise ValueError(f"record of shape {blocks.shape}: expected a C-contiguous "
                         f"({(n + LANES - 1) // LANES} or more, {T * I}, {LANES})")
    return _replay(arrays, params, seed, start, n, blocks)[0]


def pair_indicators(arrays: ReplayArrays, params: ScenarioParams, seed: int, start: int,
                    n: int) -> tuple[np.ndarray, np.ndarray]:
    """(breach, short) bool [n, I] for scenarios start..start+n-1: did pair i break its floor
    on some day; did its consumption fall short beyond the plan's own rationing on some day.
    Tolerances as the KPIs'; the draws are those of every other replay of the same seed."""
    from .kernels import FLAG_BREACH, FLAG_SHORT

    f = _replay(arrays, params, seed, start, n, None, True)[2]
    return (f & FLAG_BREACH) != 0, (f & FLAG_SHORT) != 0


def _replay(arrays: ReplayArrays, params: ScenarioParams, seed: int, start: int, n: int,
            blocks: np.ndarray | None, pair_flags: bool = False):
    """The one entry point to `replay_kernel`; blocks: its block-major stock record
    [ceil(n / LANES) or more, T*I, LANES] (see replay_kernel), or None.
    -> (kpis, kpis by commodity, pair flags or None)."""
    a = arrays
    kpi = np.empty((n, N_KPI))
    kpi_c = np.empty((n, a.n_com, N_CKPI))
    flags = np.zeros((n, a.n_pairs) if pair_flags else (1, 1), dtype=np.uint8)
    out = Outputs(kpi=kpi, kpi_c=kpi_c, record=blocks is not None,
                  stock=NO_STOCK if blocks is None else blocks, flags=bool(pair_flags),
                  pair_flags=flags)
    replay_kernel(np.int64(start), np.int64(n), np.uint64(seed), kernel_model(params),
                  a.network(), a.dispatches(), out, open_loop(a.T))
    return kpi, kpi_c, (flags if pair_flags else None)


def evaluate_chunk(arrays: ReplayArrays, params: ScenarioParams, seed: int, start: int,
                   stop: int, fan: bool = True, shortcut: bool = True,
                   progress: Callable[[int], None] | None = None) -> ChunkResult:
    """Evaluate scenarios start..stop-1. Pure: the same inputs give the same bits anywhere.

    Memory is bounded by `block_size(arrays)` scenarios' stock (plus the KPI rows and the
    fan histograms), whatever stop - start is. With `shortcut`, parameters under which
    every scenario is the same future are replayed once and the result repeated.
    """
    t0 = time.perf_counter()
    start, stop = int(start), int(stop)
    if not 0 <= start <= stop:
        raise ValueError(f"bad scenario range {start}..{stop}")
    n = stop - start
    T, I = arrays.T, arrays.n_pairs
    counts = mn = mx = None
    if fan:
        counts, mn, mx = _empty_fan(arrays)
    C = T * I
    if shortcut and params.deterministic and n > 0:
        buf = np.empty((1, C, LANES), dtype=np.float32) if fan else None
        row, row_c, _ = _replay(arrays, params, seed, start, 1, buf)
        kpis = np.repeat(row, n, axis=0)
        kpis_c = np.repeat(row_c, n, axis=0)
        if fan:
            fan_accumulate(buf, 1, arrays.fan_e_lo, counts, mn, mx)
            counts *= np.uint32(n)
        if progress:
            progress(n)
    else:
        kpis = np.empty((n, N_KPI))
        kpis_c = np.empty((n, arrays.n_com, N_CKPI))
        bs = block_size(arrays) if fan else max(1, min(n, 65536))
        # block-major [blocks, T*I, LANES]: each kernel block writes one contiguous sweep
        buf = np.empty(((min(bs, n) + LANES - 1) // LANES, C, LANES), dtype=np.float32) \
            if fan and n else None
        for b0 in range(0, n, bs):
            m = min(bs, n - b0)
            kpis[b0:b0 + m], kpis_c[b0:b0 + m], _ = _replay(arrays, params, seed, start + b0,
                                                            m, buf)
            if fan:
                fan_accumulate(buf, m, arrays.fan_e_lo, counts, mn, mx)
            if progress:
                progress(m)
    return ChunkResult(np.arange(start, stop, dtype=np.int64), kpis, counts, mn, mx,
                       time.perf_counter() - t0, kpis_c)


# ---------------------------------------------------------------- summary
PERCENTILES = (5.0, 50.0, 95.0)


def _stats(v: np.ndarray) -> dict[str, float | None]:
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return {"mean": None, "sd": None, "p5": None, "p50": None, "p95": None}
    p5, p50, p95 = np.percentile(v, PERCENTILES)
    return {"mean": float(np.mean(v)), "sd": float(np.std(v)),
            "p5": float(p5), "p50": float(p50), "p95": float(p95)}


def cvar(v: np.ndarray, level: float = 0.95) -> float:
    """Mean of the worst ceil((1 - level) * n) values (at least one). The count forgives
    float round-off up to 1e-9 relative ((1 - 0.95) * 20e6 is 1000000.0000000009: 1e6)."""
    tail = (1.0 - level) * len(v)
    k = max(1, math.ceil(tail - 1e-9 * max(1.0, tail)))
    return float(np.mean(np.sort(v)[len(v) - k:]))


def summarise(result: ChunkResult, seed: int, params: ScenarioParams,
              commodities=None) -> dict:
    """The evaluation summary: per KPI mean, sd, p5, p50, p95, unmet CVaR95, P(any shortfall),
    P(any breach); with `commodities` (names, in the order of result.kpis_c) the same per
    commodity under "by_commodity"."""
    k = result.kpis
    col = {name: k[:, j] for j, name in enumerate(KPI_NAMES)}
    out: dict = {"scenarios": result.n, "seed": int(seed), "params": params.as_dict()}
    out.update(_kpi_stats(col, result.n))
    if result.kpis_c is not None and commodities is not None:
        out["by_commodity"] = by_commodity(result.kpis_c, commodities)
    out["fan"] = {"percentiles": [5, 50, 95], "method": "log-linear histogram per (pair, day)",
                  "relative_bin_width": 2.0 ** -MANT_BITS, "octaves": OCTAVES}
    return out


def _kpi_stats(col: dict, n: int) -> dict:
    out = {name: _stats(v) for name, v in col.items()}
    out["unmet_cvar95"] = cvar(col["unmet"]) if n else None
    out["p_any_shortfall"] = float(np.mean(col["shortfall_days"] > 0)) if n else None
    out["p_any_breach"] = float(np.mean(col["breach_days"] > 0)) if n else None
    return out


def by_commodity(kpis_c: np.ndarray, commodities) -> dict:
    """{commodity: {KPI: {mean, sd, p5, p50, p95}, unmet_cvar95, p_any_shortfall,
    p_any_breach}} from per-commodity KPI rows [n, commodities, N_CKPI]."""
    n = kpis_c.shape[0]
    return {str(c): _kpi_stats({name: kpis_c[:, ci, j]
                                for j, name in enumerate(COMMODITY_KPI_NAMES)}, n)
            for ci, c in enumerate(commodities)}


# ---------------------------------------------------------------- API
def _threads(threads: int | None):
    """Set `threads` numba threads; the old count (None: unchanged). Prefer the context
    manager `optimiser.execution.numba_threads`."""
    import numba

    if threads is None:
        return None
    threads = int(threads)
    if not 1 <= threads <= numba.config.NUMBA_NUM_THREADS:
        raise UsageError(f"{{threads}}: choose 1..{numba.config.NUMBA_NUM_THREADS}", threads=threads)
    old = numba.get_num_threads()
    numba.set_num_threads(threads)
    return old


def evaluate(instance, plan, scenarios: int = 1000, seed: int = 0,
             chunk_size: int | None = None, threads: int | None = None,
             params: ScenarioParams | dict | None = None, fan: bool = True,
             progress: Callable[[int], None] | None = None, allow_nonoptimal: bool = False,
             map=None, **kwargs) -> Evaluation:
    """Replay `plan` against `scenarios` sampled futures (docs/SCENARIOS.md).

    A plan whose status is not optimal or feasible (infeasible, no solution, error) is
    refused with PlanNotUsableError unless `allow_nonoptimal`.

    instance / plan: objects or paths. Scenario parameters by keyword (demand_sigma=0.3,
    ...) or as `params` (a ScenarioParams or a dict); keywords override `params`.
    chunk_size: scenarios per chunk (results never depend on it); threads: numba threads.
    map: how the chunks run (optimiser/execution.py): None in this process; any
    Executor.map-like callable; on `execution.dask_map(client)` one Dask task per chunk
    with the replay arrays scattered to every worker once, and `threads` numba threads per
    task (default: on a LocalCluster the cores shared among its workers). The result is
    the same bits whatever the map and the chunking.
    """
    from ..execution import check_int, check_seed, numba_threads, scenario_params
    from ..instance import as_instance
    from ..plan import as_plan, require_usable

    t0 = time.perf_counter()
    inst = as_instance(instance)
    pl = as_plan(plan, inst)
    require_usable(pl, allow_nonoptimal, what="evaluate")
    prm = scenario_params(params, kwargs)
    scenarios, seed = check_int("scenarios", scenarios, 1), check_seed(seed)
    if map is not None:
        from .chunks import evaluate_mapped

        return evaluate_mapped(inst, pl, prm, scenarios, seed, chunk_size, threads, fan,
                               progress, map, t0)
    if chunk_size is not None:
        chunk_size = check_int("chunk_size", chunk_size, 1)
    arrays = prepare(inst, pl.x, pl.u)
    chunk = chunk_size or max(block_size(arrays), 1024)
    with numba_threads(threads):
        t1 = time.perf_counter()
        parts = [evaluate_chunk(arrays, prm, seed, a, b, fan=fan, progress=progress)
                 for a, b in chunk_ranges(scenarios, chunk)]
        result = ChunkResult.merge_all(parts)
        t2 = time.perf_counter()
    return Evaluation.from_result(inst, arrays, result, seed, prm,
                                  timings={"prepare": t1 - t0, "replay": t2 - t1})


@dataclass(eq=False)
class Evaluation:
    """The outcome of an evaluation: Arrow tables and a summary dict (docs/SCENARIOS.md)."""

    summary: dict
    scenarios: object  # pa.Table
    fan: object  # pa.Table or None
    result: ChunkResult = field(repr=False)
    scenarios_by_commodity: object = None  # pa.Table: one row per (scenario, commodity)

    @classmethod
    def from_result(cls, inst, arrays: ReplayArrays, result: ChunkResult, seed: int,
                    params: ScenarioParams, timings: dict | None = None) -> Evaluation:
        from .results import fan_table, scenarios_by_commodity_table, scenarios_table

        if result.n and not np.array_equal(result.scenario, np.arange(result.n)):
            raise ValueError("an evaluation needs scenarios 0..N-1 exactly")
        t0 = time.perf_counter()
        summary = summarise(result, seed, params, commodities=inst.commodities)
        scen = scenarios_table(result)
        scen_c = scenarios_by_commodity_table(inst, result) if result.kpis_c is not None \
            else None
        fan = fan_table(inst, arrays, result) if result.fan_counts is not None else None
        summary["timings"] = {**(timings or {}), "summarise": time.perf_counter() - t0}
        summary["instance"] = inst.name
        return cls(summary=summary, scenarios=scen, fan=fan, result=result,
                   scenarios_by_commodity=scen_c)

    def write(self, path: str | os.PathLike, force: bool = False,
              protect: tuple = (), fmt: str = "arrow") -> Path:
        """Write EVAL/ atomically: scenarios, scenarios_by_commodity and fan tables (as
        NAME.arrow, or NAME.parquet with fmt="parquet") and summary.json."""
        from .results import write_evaluation

        return write_evaluation(self, Path(path), force=force, protect=protect, fmt=fmt)

    def __repr__(self) -> str:
        s = self.summary
        return (f"Evaluation({s.get('instance')!r}, scenarios={s['scenarios']}, seed={s['seed']}, "
                f"unmet_mean={s['unmet']['mean']}, p_any_shortfall={s['p_any_shortfall']})")

    def _repr_html_(self) -> str:  # pragma: no cover - notebooks
        try:
            from ..report import evaluation_html
            return evaluation_html(self)
        except Exception:
            import html

            from .results import format_summary
            return f"<pre>{html.escape(format_summary(self.summary))}</pre>"
