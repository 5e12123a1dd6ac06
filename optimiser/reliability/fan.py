"""The fan of a reliability plan: end-of-day stock percentiles of the pairs with a target
across the certification scenarios its certificate was judged on (reliability_fan.arrow).

The scenarios are the first FAN_SCENARIOS of the plan's last certification range (same
seed, same indices; all of them when M is smaller), replayed
by `optimiser.scenarios.evaluate.evaluate_chunk` with its fan histograms, so the
percentiles are exactly those `optimiser evaluate` computes for the same scenarios, and
chunks (local or Dask) merge to the same bits in any order.
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
                      map_fn=None) -> pa.Table:
    """reliability_fan.arrow: p5/p50/p95 of end-of-day stock per (pair, day) for `pairs`
    [I] bool, over scenarios first..first+count-1 of `seed`, of the plan (x, u)."""
    from ..scenarios.arrays import prepare
    from ..scenarios.evaluate import ChunkResult
    from ..scenarios.results import fan_values

    arrays = prepare(inst, x, u)
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
    v = fan_values(arrays, merged)  # [I, T, 3]
    idx = np.flatnonzero(pairs)
    T = inst.horizon
    i = np.repeat(idx, T)
    sel = v[idx]
    return pa.table({
        "node": pa.array(inst.node_names[inst.nc_node[i]].astype(str), pa.string()),
        "commodity": pa.array(inst.commodities[inst.nc_commodity[i]].astype(str), pa.string()),
        "day": pa.array(np.tile(np.arange(T, dtype=np.int32), len(idx)), pa.int32()),
        "p5": pa.array(sel[:, :, 0].ravel(), pa.float64()),
        "p50": pa.array(sel[:, :, 1].ravel(), pa.float64()),
        "p95": pa.array(sel[:, :, 2].ravel(), pa.float64()),
    }, schema=FAN_SCHEMA)
