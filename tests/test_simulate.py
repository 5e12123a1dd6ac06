"""`optimiser simulate` and `optimiser.simulate.simulate`: the exact properties of closed-
loop replanning (no replan = evaluate; no noise = the day-0 objective), invariance to
partition and workers, a case where replanning provably helps, relaxed replans, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from optimiser import make_instance
from optimiser.simulate import simulate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "instances", "tiny")
NOISY = dict(demand_sigma=0.3, demand_phi=0.5, surge_prob=0.05, surge_days=3,
             surge_multiplier=1.5, outage_prob=0.05, outage_days=3, delay_prob=0.3,
             delay_max_days=2, loss_prob=0.1)
KPIS = ("demand", "unmet", "fill_rate", "shortfall_days", "below_floor", "breach_days",
        "min_floor_ratio", "cost")


def _col(t, k):
    return t.column(k).to_numpy()


def test_no_replan_equals_evaluate_exactly():
    sim = simulate(TINY, scenarios=70, replan_every=1000, seed=5, chunk_size=32, **NOISY)
    ev = sim.open_loop
    for k in KPIS:
        np.testing.assert_array_equal(_col(sim.scenarios, k), _col(ev.scenarios, k))
    assert sim.scenarios_by_commodity.equals(ev.scenarios_by_commodity)
    assert sim.fan.equals(ev.fan)
    assert sim.summary["solves"] == 0
    for k in KPIS:
        d = sim.summary["open_loop"][k]
        assert d["diff_mean"] in (0.0, None)


@pytest.mark.parametrize("K", [1, 3, 7])
def test_zero_noise_realised_cost_equals_day0_objective(K):
    sim = simulate(TINY, scenarios=2, replan_every=K, seed=1)
    obj = sim.summary["day0_objective"]
    cost = _col(sim.scenarios, "cost")
    assert np.all(np.abs(cost - obj) <= 1e-6 * max(1.0, abs(obj)))
    T = 10
    assert sim.summary["solves"] == 2 * len(range(K, T, K))
    assert sim.summary["relaxed_replans"] == 0


def test_partition_workers_invariance():
    kw = dict(scenarios=40, replan_every=4, seed=2, **NOISY)
    a = simulate(TINY, chunk_size=40, workers=1, **kw)
    b = simulate(TINY, chunk_size=7, workers=2, **kw)
    c = simulate(TINY, chunk_size=16, workers=1, threads=1, **kw)
    for other in (b, c):
        for k in (*KPIS, "replans", "relaxed_replans"):
            np.testing.assert_array_equal(_col(a.scenarios, k), _col(other.scenarios, k))
        assert a.scenarios_by_commodity.equals(other.scenarios_by_commodity)
        assert a.fan.equals(other.fan)
        assert a.summary["open_loop"] == other.summary["open_loop"]


def _two_suppliers(T=20):
    """A consumer served by a cheap supplier (the day-0 plan's only source) and a dear one."""
    sup = [dict(supplier="Cheap", commodity="a", unit_price=1.0, daily_capacity=100.0),
           dict(supplier="Dear", commodity="a", unit_price=5.0, daily_capacity=100.0)]
    nodes = [dict(node="front", commodity="a", initial_stock=10.0, shortfall_penalty=1000.0)]
    lanes = [dict(origin="Cheap", destination="front", commodity="a", lead_time_days=1),
             dict(origin="Dear", destination="front", commodity="a", lead_time_days=1)]
    demand = [dict(node="front", commodity="a", day=t, quantity=10.0) for t in range(T)]
    return make_instance("two", T, suppliers=sup, nodes=nodes, lanes=lanes, demand=demand)


def test_replanning_routes_around_an_outage():
    inst = _two_suppliers(T=15)
    sim = simulate(inst, scenarios=64, replan_every=2, seed=4, outage_prob=0.1,
                   outage_days=5)
    d = sim.summary["open_loop"]["unmet"]
    assert d["diff_ci_high"] < 0  # the whole 95 % interval below zero
    assert d["diff_mean"] < 0
    assert sim.summary["open_loop"]["cost"]["diff_mean"] < 0  # penalties saved > dearer buys


def test_infeasible_replan_relaxed_and_counted():
    """A hard floor that lost shipments make impossible to hold on the replanning day."""
    T = 10
    sup = [dict(supplier="S", commodity="a", unit_price=1.0, daily_capacity=100.0)]
    nodes = [dict(node="depot", commodity="a", initial_stock=60.0, floor=40.0,
                  readiness_hard=True)]
    lanes = [dict(origin="S", destination="depot", commodity="a", lead_time_days=2)]
    demand = [dict(node="depot", commodity="a", day=t, quantity=10.0) for t in range(T)]
    inst = make_instance("hard", T, suppliers=sup, nodes=nodes, lanes=lanes, demand=demand)
    sim = simulate(inst, scenarios=3, replan_every=3, seed=0, loss_prob=1.0)
    assert sim.summary["relaxed_replans"] > 0
    assert int(_col(sim.scenarios, "relaxed_replans").sum()) == sim.summary["relaxed_replans"]
    assert sim.summary["relaxed_replans"] <= sim.summary["solves"]


def test_window_shorter_than_replan_interval_refused():
    from optimiser.errors import UsageError

    with pytest.raises(UsageError, match="window"):
        simulate(TINY, scenarios=2, replan_every=5, window=3)


def test_short_window_zero_noise_follows_the_plan():
    """A window shorter than the rest, held to the day-0 plan's stock at its end: without
    noise the realised cost stays within the day-0 objective's neighbourhood and every
    replan is feasible."""
    sim = simulate(TINY, scenarios=1, replan_every=2, window=4, seed=0)
    assert sim.summary["relaxed_replans"] == 0
    assert sim.summary["window"] == 4
    obj = sim.summary["day0_objective"]
    assert _col(sim.scenarios, "cost")[0] >= obj * (1 - 1e-6)


def _cli(*args):
    env = {**os.environ, "NUMBA_NUM_THREADS": "2"}
    return subprocess.run([sys.executable, "-m", "optimiser", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=600)


def test_cli_json_parquet_and_refusals(tmp_path):
    out = tmp_path / "sim"
    r = _cli("simulate", TINY, "-o", out, "--scenarios", 20, "--replan-every", 4,
             "--demand-sigma", "0.3", "--outage-prob", "0.1", "--outage-days", "2",
             "--format", "parquet", "--json", "--no-progress")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    for k in ("replan_every", "window", "solves", "solve_seconds_mean", "solve_seconds_max",
              "relaxed_replans", "open_loop", "by_commodity", "unmet_cvar95"):
        assert k in doc
    assert set(doc["open_loop"]["cost"]) == {"mean", "diff_mean", "diff_ci_low", "diff_ci_high"}
    scen = pq.read_table(out / "scenarios.parquet")
    assert {"replans", "relaxed_replans", "solve_seconds", *KPIS} <= set(scen.column_names)
    assert scen.num_rows == 20
    assert (out / "fan.parquet").is_file() and (out / "scenarios_by_commodity.parquet").is_file()
    r = _cli("simulate", TINY, "-o", out, "--scenarios", 2, "--replan-every", 4)
    assert r.returncode == 2 and "--force" in r.stderr
    r = _cli("simulate", TINY, "-o", tmp_path / "x", "--scenarios", 2, "--replan-every", 0)
    assert r.returncode == 2 and "--replan-every" in r.stderr
    # a plan that is not optimal is refused unless --allow-nonoptimal
    plan = tmp_path / "plan"
    assert _cli("solve", TINY, "-o", plan).returncode == 0
    s = json.loads((plan / "summary.json").read_text())
    s["status"] = "infeasible"
    (plan / "summary.json").write_text(json.dumps(s))
    r = _cli("simulate", TINY, "-o", tmp_path / "y", "--scenarios", 2, "--replan-every", 4,
             "--plan", plan)
    assert r.returncode == 2 and "allow-nonoptimal" in r.stderr
    r = _cli("simulate", TINY, "-o", tmp_path / "y", "--scenarios", 2, "--replan-every", 4,
             "--plan", plan, "--allow-nonoptimal")
    assert r.returncode == 0, r.stderr
    assert "value of replanning" in r.stdout


@pytest.mark.parametrize("lp_start", ["reference", "network", "cold"])
def test_every_lp_start_replans_to_the_optimum(lp_start):
    """However a replan LP starts (the same day's reference basis, the network's tree, or
    cold), it ends at an optimum: without noise the realised cost is the day-0 objective;
    with noise every replan is optimal (or relaxed and counted)."""
    sim = simulate(TINY, scenarios=2, replan_every=3, seed=1, lp_start=lp_start, workers=1)
    obj = sim.summary["day0_objective"]
    assert np.all(np.abs(_col(sim.scenarios, "cost") - obj) <= 1e-6 * max(1.0, abs(obj)))
    noisy = simulate(TINY, scenarios=6, replan_every=3, seed=3, lp_start=lp_start, workers=1,
                     demand_sigma=0.3, outage_prob=0.1, outage_days=2)
    st = noisy.summary["replan_statuses"]
    assert sum(st.values()) == noisy.summary["solves"] == 6 * 3
    assert set(st) <= {"optimal"} or noisy.summary["relaxed_replans"] > 0


def test_unknown_lp_start_refused():
    from optimiser.errors import UsageError

    with pytest.raises(UsageError, match="lp_start"):
        simulate(TINY, scenarios=1, replan_every=3, lp_start="warm")
