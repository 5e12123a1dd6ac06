"""Evaluation chunks through a map (optimiser/execution.py): the task, and the merge of
results as they arrive.

`scenarios.evaluate(map=...)` comes here: the replay arrays are shared with every task once
(scattered on Dask), each task replays one scenario range under its process's kernel lock,
and results are folded as they land (fan histograms summed in place). A sweep chains the
same task after its solve and prepare tasks.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ..execution import chunk_ranges
from .arrays import ReplayArrays, prepare
from .evaluate import ChunkResult, Evaluation, evaluate_chunk
from .params import ScenarioParams


def evaluate_mapped(inst, pl, prm: ScenarioParams, scenarios: int, seed: int,
                    chunk_size: int | None, threads: int | None, fan: bool,
                    progress: Callable[[int], None] | None, map_fn, t0: float) -> Evaluation:
    """scenarios.evaluate() with its chunks through `map_fn` (execution.map_shared); the
    arguments checked by evaluate() already."""
    from ..execution import (
        DaskMap,
        check_int,
        default_chunk,
        describe,
        local_numba_threads,
        map_shared,
    )

    dask = isinstance(map_fn, DaskMap)
    if threads is not None:
        threads = check_int("threads", threads, 1)
    elif dask:
        threads = local_numba_threads(map_fn.client)
    workers = map_fn.workers if dask else 1
    chunk = check_int("chunk_size", chunk_size, 1) if chunk_size is not None else \
        default_chunk(scenarios, workers)
    arrays = prepare(inst, pl.x, pl.u)
    ranges = chunk_ranges(scenarios, chunk)
    collector = ChunkCollector()

    def add(r: ChunkResult) -> None:
        collector.add(r)
        if progress:
            progress(r.n)

    t1 = time.perf_counter()
    map_shared(map_fn, chunk_task, arrays, [(prm, seed, a, b, fan, threads) for a, b in ranges],
               on_result=add, prefix="chunk")
    t2 = time.perf_counter()
    ev = Evaluation.from_result(inst, arrays, collector.result(), seed, prm, timings={
        "prepare": t1 - t0, "replay": t2 - t1})
    ev.summary["execution"] = {**describe(map_fn), "chunks": len(ranges), "chunk_size": chunk,
                               "replay_arrays_bytes": arrays.nbytes()}
    return ev


def chunk_task(arrays: ReplayArrays | None, item: tuple) -> ChunkResult | None:
    """One chunk (params, seed, start, stop, fan, numba threads or None) of a mapped
    evaluation, under this process's kernel lock. None when there are no arrays (a sweep
    variant without a plan)."""
    from ..execution import KERNEL_LOCK, numba_threads

    if arrays is None:
        return None
    params, seed, a, b, fan, threads = item
    with KERNEL_LOCK, numba_threads(threads, clamp=True):
        return evaluate_chunk(arrays, params, seed, a, b, fan=fan)


class ChunkCollector:
    """Merge chunk results as they arrive: fan histograms summed in place (memory of one
    chunk's fan, not of all), KPI rows kept and merged once at the end."""

    def __init__(self) -> None:
        self.parts: list[ChunkResult] = []
        self.counts = self.fmin = self.fmax = None

    def add(self, r: ChunkResult) -> None:
        if r.fan_counts is not None:
            if self.counts is None:
                self.counts, self.fmin, self.fmax = r.fan_counts.copy(), r.fan_min.copy(), r.fan_max.copy()
            else:
                self.counts += r.fan_counts
                np.minimum(self.fmin, r.fan_min, out=self.fmin)
                np.maximum(self.fmax, r.fan_max, out=self.fmax)
            r.fan_counts = r.fan_min = r.fan_max = None
        self.parts.append(r)

    def result(self) -> ChunkResult:
        merged = ChunkResult.merge_all(self.parts)
        merged.fan_counts, merged.fan_min, merged.fan_max = self.counts, self.fmin, self.fmax
        return merged
