"""`simulate` with other day-0 plans and on Dask: a reliability plan's planning floors kept
by the replans (or, with --instance-floors, the instance's), and results under Dask equal
to a local run bit for bit (timings apart)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import optimiser
from optimiser.scenarios.params import ScenarioParams
from optimiser.simulate import simulate

from .reliability_cases import network, network_rows

T = 12


@pytest.fixture(scope="module")
def reliability_plan(tmp_path_factory):
    """A reliability plan of a two-commodity depot/front network, written as a directory
    (stock.arrow with planning_floor), and its instance."""
    inst = network(T)
    plan = optimiser.solve(inst, reliability=0.9, params=ScenarioParams(demand_sigma=0.3),
                           train=200, certify=500, seed=3)
    d = tmp_path_factory.mktemp("relplan") / "plan"
    plan.write(d)
    return inst, plan, d


def _cost(t):
    return t.column("cost").to_numpy()


def test_replans_keep_the_planning_floors(reliability_plan):
    """Without noise a replan from a reliability plan's state, holding its planning floors,
    continues that plan: the closed loop costs exactly the open loop. The plan buys a buffer
    above the instance's floors, so the planning floors are not the instance's."""
    inst, plan, d = reliability_plan
    pf = np.asarray(plan.planning_floor)
    assert (pf > inst.floor + 1e-6).any()  # a real buffer to keep
    for given in (d, plan):  # a plan directory or the plan object
        sim = simulate(inst, scenarios=3, replan_every=3, plan=given, workers=1)
        assert sim.summary["floors"] == "planning"
        assert sim.summary["solves"] == 3 * len(range(3, T, 3))
        np.testing.assert_allclose(_cost(sim.scenarios), _cost(sim.open_loop.scenarios),
                                   rtol=1e-9)
        assert sim.summary["open_loop"]["cost"]["diff_mean"] == pytest.approx(0.0, abs=1e-6)


def test_instance_floors_let_replans_drop_the_buffer(reliability_plan):
    """With the instance's floors the replans stop buying the certified buffer: every
    scenario costs less than the open loop, and nothing falls below the instance's floors
    without noise."""
    inst, plan, d = reliability_plan
    sim = simulate(inst, scenarios=3, replan_every=3, plan=d, instance_floors=True, workers=1)
    assert sim.summary["floors"] == "instance"
    closed, opened = _cost(sim.scenarios), _cost(sim.open_loop.scenarios)
    assert np.all(closed < opened - 1.0)
    assert sim.summary["open_loop"]["cost"]["diff_ci_high"] < 0
    np.testing.assert_array_equal(sim.scenarios.column("below_floor").to_numpy(), 0.0)


def test_cli_plan_with_planning_floors(reliability_plan, write_instance, tmp_path):
    inst, plan, d = reliability_plan
    src = write_instance({"name": "network", "horizon_days": T}, network_rows(T))
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    outs = {}
    for flag in ((), ("--instance-floors",)):
        out = tmp_path / f"sim{len(flag)}"
        r = subprocess.run([sys.executable, "-m", "optimiser", "simulate", str(src), "-o",
                            str(out), "--scenarios", "2", "--replan-every", "4", "--plan",
                            str(d), "--json", "--no-progress", "--workers", "1", *flag],
                           capture_output=True, text=True, env=env, timeout=600)
        assert r.returncode == 0, r.stderr
        outs[flag] = json.loads(r.stdout)
    assert outs[()]["floors"] == "planning"
    assert outs[()]["open_loop"]["cost"]["diff_mean"] == pytest.approx(0.0, abs=1e-6)
    assert outs[("--instance-floors",)]["floors"] == "instance"
    assert outs[("--instance-floors",)]["open_loop"]["cost"]["diff_mean"] < 0


NOISY = dict(demand_sigma=0.3, demand_phi=0.5, surge_prob=0.05, surge_days=3,
             surge_multiplier=1.5, outage_prob=0.05, outage_days=3, delay_prob=0.3,
             delay_max_days=2, loss_prob=0.1)


def test_dask_equals_local_bit_for_bit():
    """Chunks as Dask tasks on an in-process LocalCluster (two threads, so two chunks replan
    at once): every table and the summary equal a local run's, timings apart."""
    distributed = pytest.importorskip("distributed")
    from optimiser.distributed import dask_map

    inst = network(T)
    kw = dict(scenarios=24, replan_every=3, seed=7, **NOISY)
    local = simulate(inst, chunk_size=24, workers=1, **kw)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        dask = simulate(inst, chunk_size=5, map=dask_map(client, prefix="simulate"), **kw)
    assert local.summary["solves"] == 24 * len(range(3, T, 3)) > 0
    for name in ("scenarios", "scenarios_by_commodity", "fan"):
        a, b = getattr(local, name), getattr(dask, name)
        if name == "scenarios":
            a, b = a.drop_columns(["solve_seconds"]), b.drop_columns(["solve_seconds"])
        assert a.equals(b), name
    strip = ("timings", "solve_seconds_mean", "solve_seconds_max")
    assert {k: v for k, v in local.summary.items() if k not in strip} == \
        {k: v for k, v in dask.summary.items() if k not in strip}
