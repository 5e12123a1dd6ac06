"""optimiser/execution.py: the one seam for how work runs (in process, threads, Dask)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from optimiser import execution as X
from optimiser.errors import UsageError


def test_seed_bound_and_integers():
    assert X.check_seed(0) == 0 and X.check_seed(2 ** 64 - 1) == 2 ** 64 - 1
    with pytest.raises(UsageError, match="above 2\\*\\*64 - 1"):
        X.check_seed(2 ** 64)
    with pytest.raises(UsageError, match="seed must be an integer >= 0"):
        X.check_seed(-1)
    with pytest.raises(UsageError, match="scenarios must be an integer >= 1, got 2.5"):
        X.check_int("scenarios", 2.5, 1)
    with pytest.raises(UsageError, match="must be an integer, got 'x'"):
        X.check_int("chunk_size", "x", 1)


def test_scenario_params_keywords_override_params():
    from optimiser.scenarios import ScenarioParams

    p = X.scenario_params({"demand_sigma": 0.3, "loss_prob": 0.1}, {"demand_sigma": 0.5})
    assert (p.demand_sigma, p.loss_prob) == (0.5, 0.1)
    base = ScenarioParams(surge_prob=0.2)
    assert X.scenario_params(base, None) is base
    assert X.scenario_params(None, {}) == ScenarioParams()


def test_chunk_ranges_cover_exactly_once():
    assert X.chunk_ranges(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert X.chunk_ranges(5, 2, start=100) == [(100, 102), (102, 104), (104, 105)]
    assert X.chunk_ranges(0, 3) == []
    assert X.default_chunk(100, 4) == X.MIN_CHUNK
    assert X.default_chunk(10 ** 6, 2) == 10 ** 6 // (2 * X.TASKS_PER_WORKER)


def test_thread_map_keeps_order_and_uses_threads():
    names = set()

    def f(i):
        names.add(threading.current_thread().name)
        return i * i

    assert X.thread_map(3, "probe")(f, range(20)) == [i * i for i in range(20)]
    assert any(n.startswith("probe") for n in names)
    names.clear()
    assert X.thread_map(1)(f, [2, 3]) == [4, 9]
    assert names == {threading.current_thread().name}  # one worker: in this thread


def test_map_shared_passes_the_shared_value_and_folds_in_order():
    shared = {"k": 10}
    assert X.map_shared(None, lambda s, i: s["k"] + i, shared, [1, 2]) == [11, 12]
    seen = []
    assert X.map_shared(X.thread_map(2), lambda s, i: s["k"] * i, shared, [1, 2, 3],
                        on_result=seen.append) is None
    assert seen == [10, 20, 30]
    assert X.describe(None) == {"engine": "local"} == X.describe(X.serial_map)


def test_numba_threads_restores_and_refuses_out_of_range():
    import numba

    before = numba.get_num_threads()
    with X.numba_threads(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
    with pytest.raises(UsageError, match=f"threads={numba.config.NUMBA_NUM_THREADS + 1}: choose 1"):
        with X.numba_threads(numba.config.NUMBA_NUM_THREADS + 1):
            pass
    with X.numba_threads(10 ** 6, clamp=True):
        assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS


def test_evaluation_through_any_map_is_the_same_bits(tiny_instance):
    """A thread map (any Executor.map-like callable) gives the in-process evaluation."""
    from optimiser import load_instance, solve
    from optimiser.scenarios import evaluate

    inst = load_instance(tiny_instance)
    plan = solve(inst)
    kw = dict(scenarios=300, seed=4, demand_sigma=0.3, loss_prob=0.05)
    local = evaluate(inst, plan, **kw)
    seen = []
    mapped = evaluate(inst, plan, chunk_size=70, map=X.thread_map(2), progress=seen.append, **kw)
    assert sum(seen) == 300
    np.testing.assert_array_equal(local.result.kpis, mapped.result.kpis)
    np.testing.assert_array_equal(local.result.fan_counts, mapped.result.fan_counts)
    assert local.scenarios.equals(mapped.scenarios)
    ex = mapped.summary["execution"]
    assert (ex["engine"], ex["chunks"], ex["chunk_size"]) == ("local", 5, 70)
    assert ex["replay_arrays_bytes"] > 0


def test_distributed_keeps_its_public_names():
    from optimiser import distributed as D

    for name in ("connect", "load_security", "dask_map", "evaluate", "solve", "n_workers",
                 "on_worker_map", "DEFAULT_RETRIES", "LOCAL"):
        assert hasattr(D, name), name
    assert D.connect is X.connect and D.dask_map is X.dask_map
