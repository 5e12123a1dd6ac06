"""The fan of a reliability plan: end-of-day stock percentiles of the pairs with a target
across the certification scenarios its certificate was judged on (reliability_fan.arrow).

The scenarios are the first FAN_SCENARIOS of the plan's last certification range (same
seed, same indices; all of them when M is smaller). The certification replay itself bins
their stock of the pairs with a target into the fan histograms (reliability/replay.py
`certify_chunk`, `Runner.fan_of`), so the fan costs no replay of its own; without those
(a caller passing no runner) the scenarios are replayed by
`optimiser.scenarios.evaluate.evaluate_chunk` with its fan. Either way the histograms
are those `optimiser evaluate` bins for the same scenarios (the same kernel, the same
float32 stock, the same binning), so the percentiles are exactly its, and chunks (local
or Dask) merge to the same bits in any order.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..instance import Instance
from ..scenarios.params import ScenarioParams
from .results import FAN_SCHEMA

CHUNK = 2048  # scenarios per task
#: scenarios of the last certification range the fan is drawn from (its first ones): the
#: 5th percentile of 2,000 draws is within about half a percentile point, plenty for a
#: chart, and replaying all M = 10,000 again with a stock record cost a quarter of a
#: whole reliability run on the 100k tiers
FAN_SCENARIOS = 2_000


def _replayed(arrays, params, seed, first, count, map_fn) -> np.ndarray:
    """[I, T, 3] p5/p50/p95 of every pair from a replay of the scenarios with the fan."""
    from ..scenarios.evaluate import ChunkResult
    from ..scenarios.results import fan_values

    items = [(arrays, params, int(seed), a, min(a + CHUNK, first + count))
             for a in range(first, first + count, CHUNK)]
    parts = list(map(_chunk, items)) if map_fn is None else list(map_fn(_chunk, items))
    parts.sort(key=lambda p: int(p.scenario[0]))
    counts = parts[0].fan_counts.copy()
    mn, mx = parts[0].fan_min.copy(), parts[0].fan_max.copy()
    for p in parts[1:]:  # integer counts, minima and maxima: exact in any order
        counts += p.fan_counts
        np.minimum(mn, p.fan_min, out=mn)
        np.maximum(mx, p.fan_max, out=mx)
    merged = ChunkResult(np.arange(first, first + count, dtype=np.int64),
                         np.empty((0, 0)), counts, mn, mx)
    return fan_values(arrays, merged)


def _chunk(item):
    from ..scenarios.evaluate import evaluate_chunk

    arrays, params, seed, start, stop = item
    r = evaluate_chunk(arrays, params, seed, start, stop, fan=True)
    r.kpis = r.kpis[:0]  # only the histograms travel back
    r.kpis_c = None if r.kpis_c is None else r.kpis_c[:0]
    r.scenario = np.array([start], dtype=np.int64)
    return r


def certification_fan(inst: Instance, x: np.ndarray, u: np.ndarray, params: ScenarioParams,
                      seed: int, first: int, count: int, pairs: np.ndarray,
                      map_fn=None, runner=None) -> pa.Table:
    """reliability_fan.arrow: p5/p50/p95 of end-of-day stock per (pair, day) for `pairs`
    [I] bool, over scenarios first..first+count-1 of `seed`, of the plan (x, u).

    With `runner` (reliability.replay.Runner), the histograms its certification of this
    plan binned on the way (`Runner.fan_of`) when it binned exactly these scenarios and
    pairs: no replay; otherwise the scenarios are replayed here (the same bits)."""
    from ..scenarios.arrays import prepare

    arrays = prepare(inst, x, u)
    idx = np.flatnonzero(pairs)
    hist = None if runner is None else runner.fan_of(arrays, params, seed, first, count, idx)
    sel = hist.percentiles(arrays) if hist is not None else \
        _replayed(arrays, params, seed, first, count, map_fn)[idx]  # [F, T, 3]
    T = inst.horizon
    i = np.repeat(idx, T)
    return pa.table({
        "node": pa.array(inst.node_names[inst.nc_node[i]].astype(str), pa.string()),
        "commodity": pa.array(inst.commodities[inst.nc_commodity[i]].astype(str), pa.string()),
        "day": pa.array(np.tile(np.arange(T, dtype=np.int32), len(idx)), pa.int32()),
        "p5": pa.array(sel[:, :, 0].ravel(), pa.float64()),
        "p50": pa.array(sel[:, :, 1].ravel(), pa.float64()),
        "p95": pa.array(sel[:, :, 2].ravel(), pa.float64()),
    }, schema=FAN_SCHEMA)
