"""Running the engine on a Dask cluster: one machine's worker processes, or many machines.

    from optimiser.distributed import connect, evaluate
    with connect("local", n_workers=2) as client:          # or "tcp://scheduler:8786"
        ev = evaluate(client, inst, plan, scenarios=100_000, seed=1, demand_sigma=0.3)

How work runs (in process, threads or Dask) is declared once, in optimiser/execution.py;
this module is the client-first spelling of it. The engine's parallel units are pure
functions of picklable inputs, so a cluster only has to move them: scenario chunks
(`scenarios.evaluate(map=...)`, merged with `ChunkResult.merge`: any partition gives the
same bits), per-commodity LP blocks (`solve(map=...)`), and whole what-if variants
(optimiser.sweep). Large inputs (the replay arrays) are scattered to every worker once,
never embedded in each task. Every task may be rerun: a worker that dies has its tasks
recomputed elsewhere with the same result. docs/DISTRIBUTED.md shows how to run a
cluster of many machines, with TLS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .execution import (  # noqa: F401  (the public names of running on Dask)
    DEFAULT_LOCAL_WORKERS,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    LOCAL,
    MIN_CHUNK,
    TASKS_PER_WORKER,
    DaskMap,
    chunk_ranges,
    connect,
    dask_map,
    default_chunk,
    load_security,
    n_workers,
    on_worker_map,
)

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

    from .scenarios import Evaluation


def evaluate(client: Client, instance, plan, scenarios: int = 1000, seed: int = 0,
             chunk_size: int | None = None, threads: int | None = None,
             params=None, fan: bool = True, progress: Callable[[int], None] | None = None,
             retries: int = DEFAULT_RETRIES, allow_nonoptimal: bool = False,
             **kwargs) -> Evaluation:
    """`optimiser.scenarios.evaluate` with the chunks run on a Dask cluster.

    Bit-identical to a local evaluation with the same seed and parameters (any chunking).
    The replay arrays are scattered to every worker once; each task carries only its
    scenario range. threads: numba threads per task (default: on a LocalCluster the
    cores shared among its workers; on a remote worker all of its cores).
    """
    from .scenarios import evaluate as _evaluate

    return _evaluate(instance, plan, scenarios=scenarios, seed=seed, chunk_size=chunk_size,
                     threads=threads, params=params, fan=fan, progress=progress,
                     allow_nonoptimal=allow_nonoptimal,
                     map=dask_map(client, retries=retries, prefix="chunk"), **kwargs)


def solve(client: Client, instance, **kwargs):
    """`optimiser.solve.solve` with its independent per-commodity blocks as Dask tasks.

    An instance that does not split (a budget couples the commodities, or only one) is
    solved here, as one LP. Keywords are those of `optimiser.solve.solve`.
    """
    from .solve import solve as _solve

    return _solve(instance, map=dask_map(client), **kwargs)
