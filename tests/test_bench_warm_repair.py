"""The warm-repair benchmark's successive-shortest-path peer (benchmarks/bench_warm_repair.py)
repairs a network's last optimum to the new optimum: what it is measured against LEMON's
warm restart on must be a correct repair. Checked against a fresh LEMON solve of the
changed network (the same optimal cost, exact integers) and by its own certificate (the
flow balanced and within bounds, no residual arc of negative reduced cost)."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from optimiser import Instance
from optimiser.generate import generate_instance
from optimiser.model.network import network_cost, solve_lemon

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_warm_repair.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_warm_repair", _PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _changed(inst: Instance, seed: int) -> Instance:
    rng = np.random.default_rng(seed)
    I = inst.n_pairs
    return dataclasses.replace(
        inst,
        demand=np.round(inst.demand * (1 + 0.3 * (rng.random(inst.demand.shape) < 0.2)), 2),
        floor=np.round(np.where((rng.random(I) < 0.3)[:, None], inst.floor * 1.5, inst.floor), 2),
        initial_stock=np.round(inst.initial_stock * rng.uniform(0.5, 1.5, I), 2),
        capacity=np.round(inst.capacity * rng.uniform(0.6, 1.2, inst.capacity.shape), 2))


@pytest.mark.parametrize("seed", range(4))
def test_ssp_repair_reaches_the_fresh_optimum_and_certifies_it(bench, seed):
    meta, tables = generate_instance(suppliers=3 + seed, nodes=6 + seed, commodities=2,
                                     days=12 + 3 * seed, seed=40 + seed)
    inst = Instance.from_tables(meta, tables)
    base = bench.networks(inst)
    scales = [(n.Q, n.C, n.big) for n in base]
    base = bench.networks(inst, scales)
    new = bench.networks(_changed(inst, seed), scales)
    moved = 0
    for n0, n1 in zip(base, new):
        assert np.array_equal(n0.costs, n1.costs)  # the changes keep the costs
        f0, p0 = solve_lemon(n0, keep={"raw_potentials": True})
        status, f, p, stats = bench.ssp_repair(n1.tails, n1.heads, n1.costs, n1.caps,
                                               n1.supply, f0, p0, max_scans=2**62)
        fresh, _ = solve_lemon(n1, keep={"raw_potentials": True})
        assert status == bench.REPAIRED
        assert network_cost(n1, f) == network_cost(n1, fresh)
        assert bench.certifies(n1, f, p)
        assert not bench.certifies(n1, np.minimum(f0, n1.caps), p0) or stats["excess_moved"] == 0
        moved += stats["excess_moved"]
    assert moved > 0  # the changes did unbalance the last optimum


def test_ssp_repair_reports_infeasible_supplies(bench):
    # 0 -> 1 (cap 5), 1 -> 2 (cap 5): 8 units cannot get from 0 to 2
    tails, heads = np.array([0, 1]), np.array([1, 2])
    costs, caps = np.array([1, 1]), np.array([5, 5])
    f0, p0 = np.array([3, 3]), np.array([0, 1, 2])  # optimal for supplies (3, 0, -3)
    status, *_ = bench.ssp_repair(tails, heads, costs, caps, np.array([8, 0, -8]), f0, p0)
    assert status == bench.INFEASIBLE
    status, f, p, _ = bench.ssp_repair(tails, heads, costs, caps, np.array([5, 0, -5]), f0, p0)
    assert status == bench.REPAIRED and f.tolist() == [5, 5]


def test_ssp_repair_gives_up_past_its_work_bound(bench):
    tails, heads = np.array([0, 1]), np.array([1, 2])
    costs, caps = np.array([1, 1]), np.array([5, 5])
    f0, p0 = np.array([0, 0]), np.array([0, 1, 2])
    status, *_ = bench.ssp_repair(tails, heads, costs, caps, np.array([5, 0, -5]), f0, p0,
                                  max_scans=0)
    assert status == bench.GAVE_UP
