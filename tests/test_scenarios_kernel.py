"""The replay kernel against the plain-Python reference, the deterministic settings of
the scenario model of docs/SCENARIOS.md, exact reproduction of plans, and determinism across threads/partitions."""

from __future__ import annotations

import dataclasses
import os
import sys

import numba
import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
from scenario_reference import replay, small_case  # noqa: E402

from optimiser.kpis import K_DEMAND  # noqa: E402
from optimiser.scenarios import KPI_NAMES, ChunkResult, ScenarioParams, evaluate_chunk, prepare  # noqa: E402
from optimiser.scenarios.evaluate import run_kernel  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOISY = ScenarioParams(demand_sigma=0.4, demand_phi=0.6, surge_prob=0.15, surge_days=3,
                       surge_multiplier=1.8, outage_prob=0.1, outage_days=2, delay_prob=0.3,
                       delay_max_days=3, loss_prob=0.1)
CASES = {
    "default": ScenarioParams(),
    "noisy": NOISY,
    "demand_only": ScenarioParams(demand_sigma=0.5),
    "surge_certain": ScenarioParams(surge_prob=1.0, surge_days=2, surge_multiplier=1.5),
    "surge_zero": ScenarioParams(surge_prob=0.3, surge_days=4, surge_multiplier=0.0),
    "outage_all": ScenarioParams(outage_prob=1.0, outage_days=1),
    "outage_long": ScenarioParams(outage_prob=0.2, outage_days=5),
    "loss_all": ScenarioParams(loss_prob=1.0),
    "delay_one": ScenarioParams(delay_prob=1.0, delay_max_days=1),
    "delay_far": ScenarioParams(delay_prob=0.5, delay_max_days=20),
    "loss_and_delay": ScenarioParams(loss_prob=0.3, delay_prob=0.6, delay_max_days=2),
}


@pytest.fixture(scope="module")
def case():
    inst, x, u = small_case(T=14)
    return inst, x, u, prepare(inst, x, u)


def _kernel(arrays, params, seed=3, start=0, n=5):
    buf = np.empty((n, arrays.T, arrays.n_pairs))
    k = run_kernel(arrays, params, seed, start, n, buf)
    return k, buf


@pytest.mark.parametrize("name", list(CASES))
def test_kernel_equals_reference_bit_for_bit(case, name):
    inst, x, u, a = case
    params = CASES[name]
    k, buf = _kernel(a, params, seed=9, start=17, n=4)
    for j in range(4):
        ref, stock = replay(inst, x, u, params, 9, 17 + j)
        np.testing.assert_array_equal(buf[j].T, stock)
        np.testing.assert_array_equal(k[j], [ref[n] for n in KPI_NAMES])


# -------------------------------------------------- the deterministic settings
def _same(a, params_a, b, params_b=CASES["default"]):
    ka, sa = _kernel(a, params_a, n=2)
    kb, sb = _kernel(b, params_b, n=2)
    np.testing.assert_array_equal(sa, sb)
    np.testing.assert_array_equal(ka, kb)
    return ka


def test_certain_surge_scales_every_day(case):
    inst, x, u, a = case
    scaled = dataclasses.replace(a, demand=a.demand * 1.5)
    k = _same(a, CASES["surge_certain"], scaled)
    assert k[0, 0] == pytest.approx(1.5 * inst.demand.sum())


def test_certain_outage_stops_every_supplier(case):
    inst, x, u, a = case
    none = dataclasses.replace(a, sup_ptr=np.zeros_like(a.sup_ptr))
    _same(a, CASES["outage_all"], none)


def test_certain_loss_loses_every_shipment(case):
    inst, x, u, a = case
    never = dataclasses.replace(a, lane_lead=a.lane_lead + a.T, max_lead=0)
    k = _same(a, CASES["loss_all"], never)
    k0, _ = _kernel(a, ScenarioParams(), n=1)
    assert k[0, 1] > k0[0, 1]  # more unmet than the plan


def test_certain_delay_makes_every_shipment_one_day_late(case):
    inst, x, u, a = case
    late = dataclasses.replace(a, lane_lead=a.lane_lead + 1, max_lead=a.max_lead + 1)
    _same(a, CASES["delay_one"], late)


def test_zero_surge_multiplier_removes_demand_while_in_surge(case):
    inst, x, u, a = case
    k, _ = _kernel(a, CASES["surge_zero"], n=20)
    assert (k[:, K_DEMAND] < inst.demand.sum()).all() and (k[:, K_DEMAND] >= 0).all()


# -------------------------------------------------- reproduction of plans
def _objective(inst, plan):
    lane_unit = inst.lane_price + inst.lane_cost
    return ((lane_unit[:, None] * plan.x).sum() + (inst.holding_cost[:, None] * plan.s).sum()
            + (inst.shortfall_penalty[:, None] * plan.u).sum()
            + (inst.readiness_penalty[:, None] * plan.r).sum())


@pytest.mark.parametrize("source", ["small", "tiny", "seed-155mm"])
def test_defaults_reproduce_the_plan_stock_and_objective(source):
    from optimiser.instance import load_instance
    from optimiser.solve import solve

    inst = small_case(T=14)[0] if source == "small" else \
        load_instance(os.path.join(ROOT, "instances", source))
    plan = solve(inst)
    assert plan.status == "optimal"
    a = prepare(inst, plan.x, plan.u)
    k, buf = _kernel(a, ScenarioParams(), n=3)
    scale = max(1.0, np.abs(plan.s).max())
    for j in range(3):
        np.testing.assert_allclose(buf[j].T, plan.s, rtol=0, atol=1e-9 * scale)
    assert k[0, 7] == pytest.approx(plan.objective, rel=1e-9)
    assert k[0, 7] == pytest.approx(_objective(inst, plan), rel=1e-12)
    assert k[0, 1] == pytest.approx(plan.u.sum(), rel=1e-9, abs=1e-6)
    np.testing.assert_array_equal(k[0], k[2])


def test_hand_made_feasible_plan_is_reproduced_exactly():
    """A plan with deliberate rationing u whose stock never goes negative."""
    from optimiser.replay import stock_from_flows

    inst, x, _, = small_case(T=10, seed=4)[:3]
    x = x * 0.2
    u = np.zeros((inst.n_pairs, inst.horizon))
    s = stock_from_flows(inst, x, u)
    # ration exactly what would drive stock negative, day by day
    for t in range(inst.horizon):
        s = stock_from_flows(inst, x, u)
        neg = np.minimum(s[:, t], 0.0)
        u[:, t] = np.minimum(inst.demand[:, t], -neg)
    s = stock_from_flows(inst, x, u)
    assert s.min() >= -1e-9 and u.sum() > 0
    a = prepare(inst, x, u)
    k, buf = _kernel(a, ScenarioParams(), n=1)
    np.testing.assert_allclose(buf[0].T, np.maximum(s, 0), atol=1e-9)
    assert k[0, 1] == pytest.approx(u.sum(), abs=1e-9)


# -------------------------------------------------- determinism
def test_identical_at_one_and_two_threads_and_across_partitions(case):
    inst, x, u, a = case
    n = 23
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = evaluate_chunk(a, NOISY, 5, 0, n)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = evaluate_chunk(a, NOISY, 5, 0, n)
    finally:
        numba.set_num_threads(old)
    parts = [evaluate_chunk(a, NOISY, 5, lo, hi) for lo, hi in ((7, 8), (0, 7), (8, 23))]
    merged = ChunkResult.merge_all(parts[::-1])
    pairwise = parts[2].merge(parts[0]).merge(parts[1])
    for r in (two, merged, pairwise):
        np.testing.assert_array_equal(r.scenario, one.scenario)
        np.testing.assert_array_equal(r.kpis, one.kpis)
        np.testing.assert_array_equal(r.fan_counts, one.fan_counts)
        np.testing.assert_array_equal(r.fan_min, one.fan_min)
        np.testing.assert_array_equal(r.fan_max, one.fan_max)
    first = evaluate_chunk(a, NOISY, 5, 0, 6)
    np.testing.assert_array_equal(first.kpis, one.kpis[:6])
    assert not np.array_equal(evaluate_chunk(a, NOISY, 6, 0, 6).kpis, first.kpis)
    with pytest.raises(ValueError, match="share"):
        parts[0].merge(parts[0])


def test_chunk_result_pickles(case):
    import pickle

    inst, x, u, a = case
    r = evaluate_chunk(pickle.loads(pickle.dumps(a)), NOISY, 1, 0, 3)
    r2 = pickle.loads(pickle.dumps(r))
    np.testing.assert_array_equal(r.kpis, r2.kpis)


def test_deterministic_shortcut_equals_the_full_replay(case):
    inst, x, u, a = case
    p = CASES["default"]
    fast = evaluate_chunk(a, p, 1, 3, 9)
    slow = evaluate_chunk(a, p, 1, 3, 9, shortcut=False)
    np.testing.assert_array_equal(fast.kpis, slow.kpis)
    np.testing.assert_array_equal(fast.fan_counts, slow.fan_counts)


def test_fan_percentiles_are_within_one_bin(case):
    from optimiser.scenarios.kernels import MANT_BITS, OCTAVES
    from optimiser.scenarios.results import fan_values

    inst, x, u, a = case
    n = 400
    r = evaluate_chunk(a, NOISY, 2, 0, n)
    _, buf = _kernel(a, NOISY, seed=2, start=0, n=n)
    exact = np.percentile(buf.astype(np.float32).astype(np.float64), [5, 50, 95], axis=0)
    approx = fan_values(a, r)  # [I, T, 3]
    upper = a.fan_upper.reshape(a.T, a.n_pairs)
    for q in range(3):
        e = exact[q].T
        tol = 2.0 ** -MANT_BITS * np.abs(e) * 1.0001 + upper.T * 2.0 ** -(OCTAVES - 1)
        assert (np.abs(approx[:, :, q] - e) <= tol).all()
    # deterministic cells (every scenario equal) are exact
    lo, hi = r.fan_min.reshape(a.T, a.n_pairs).T, r.fan_max.reshape(a.T, a.n_pairs).T
    same = lo == hi
    assert same.any()
    np.testing.assert_array_equal(approx[:, :, 1][same], lo[same])


@pytest.mark.parametrize("p", [0.0, 1e-300, 2.0 ** -33, 0.002, 0.01, 0.1, 0.3, 0.5,
                               1.0 - 2.0 ** -40, 1.0, 1.5])
def test_integer_thresholds_give_the_float_tests(p):
    """The kernel tests u < p on the bits (rng.hi_threshold, u53_threshold): x below the
    threshold passes the float test, x at it fails (every x between by monotonicity)."""
    from optimiser.scenarios.rng import (
        bits_to_uniform,
        hi_threshold,
        hi_uniform,
        lo_uniform,
        u53_threshold,
    )

    for thr, top, ok in (
            (int(hi_threshold(p)), 2 ** 32, lambda x: hi_uniform(np.uint64(x << 32)) < p),
            (int(hi_threshold(p)), 2 ** 32, lambda x: lo_uniform(np.uint64(x)) < p),
            (int(u53_threshold(p)), 2 ** 53, lambda x: bits_to_uniform(np.uint64(x << 11)) < p)):
        assert 0 <= thr <= top
        assert thr == 0 or ok(thr - 1)
        assert thr == top or not ok(thr)
