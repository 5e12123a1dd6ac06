"""Counter-based RNG: pure, reproducible, uniform, and mean-one demand multipliers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optimiser import make_instance
from optimiser.scenarios import ScenarioParams, prepare, rng
from optimiser.scenarios.evaluate import run_kernel


def test_compiled_hash_equals_the_plain_python_twin():
    for seed in (0, 1, 2 ** 63 + 5, 2 ** 64 - 1):
        for sc in (0, 1, 999_999):
            k = rng.scenario_key(np.uint64(seed), sc)
            assert k == rng.py_scenario_key(seed, sc)
            for stream, ent, day in ((1, 0, 0), (4, 123, 364), (5, 2 ** 32 - 1, 2 ** 24 - 1)):
                assert rng.draw_bits(np.uint64(k), stream, ent, day) == \
                    rng.py_draw_bits(k, stream, ent, day)


def test_draws_depend_on_every_coordinate():
    k = np.uint64(rng.scenario_key(np.uint64(1), 0))
    base = rng.draw_bits(k, 1, 2, 3)
    others = {rng.draw_bits(k, 2, 2, 3), rng.draw_bits(k, 1, 3, 3), rng.draw_bits(k, 1, 2, 4),
              rng.draw_bits(np.uint64(rng.scenario_key(np.uint64(1), 1)), 1, 2, 3),
              rng.draw_bits(np.uint64(rng.scenario_key(np.uint64(2), 0)), 1, 2, 3)}
    assert base not in others and len(others) == 5


def _uniforms(n, stream=1):
    k = rng.py_scenario_key(7, 3)
    bits = np.array([rng.py_draw_bits(k, stream, e, d) for e in range(n // 100)
                     for d in range(100)], dtype=np.uint64)
    return bits


def test_uniformity_of_all_three_uniform_views():
    bits = _uniforms(40_000)
    for f in (rng.bits_to_uniform, rng.hi_uniform, rng.lo_uniform):
        u = np.array([f(b) for b in bits])
        assert u.min() > 0.0 and u.max() < 1.0
        counts = np.histogram(u, bins=40, range=(0, 1))[0]
        expected = len(u) / 40
        chi2 = ((counts - expected) ** 2 / expected).sum()
        assert chi2 < 80, chi2  # 39 dof: p ~ 1e-4
        # Kolmogorov-Smirnov distance
        s = np.sort(u)
        d = np.max(np.abs(s - (np.arange(1, len(s) + 1) - 0.5) / len(s)))
        assert d < 1.95 / math.sqrt(len(s))  # 99.9% level
    # consecutive days are not correlated
    u = np.array([rng.bits_to_uniform(b) for b in bits])
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.03


def test_inverse_normal_cdf():
    from scipy.special import ndtri
    for p in (1e-12, 1e-6, 0.01, 0.02425, 0.3, 0.5, 0.5 + 1e-9, 0.8, 0.97575, 0.999, 1 - 1e-10):
        x, exact = rng.norm_ppf(p), ndtri(p)
        assert abs(x - exact) <= 1.2e-9 * abs(exact) + 1e-15, (p, x, exact)
    k = np.uint64(rng.scenario_key(np.uint64(3), 0))
    z = np.array([rng.normal(k, 1, e, d) for e in range(200) for d in range(100)])
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.02


@pytest.mark.parametrize("phi", [0.0, 0.8])
def test_demand_multiplier_is_mean_one_every_day(phi):
    """Consumption from a huge stock equals realised demand; its mean is the plan's demand."""
    T, S, sigma = 6, 6000, 0.6
    inst = make_instance("m1", T, suppliers=[], lanes=[],
                         nodes=[dict(node="n", commodity="a", initial_stock=1e12)],
                         demand=[dict(node="n", commodity="a", day=t, quantity=10.0) for t in range(T)])
    a = prepare(inst, np.zeros((0, T)), np.zeros((1, T)))
    buf = np.empty((S, T, 1))
    run_kernel(a, ScenarioParams(demand_sigma=sigma, demand_phi=phi), 11, 0, S, buf)
    stock = np.concatenate([np.full((S, 1), 1e12), buf[:, :, 0]], axis=1)
    d = -np.diff(stock, axis=1) / 10.0  # multiplier per scenario and day
    sd_mean = math.sqrt(math.exp(sigma ** 2) - 1) / math.sqrt(S)
    assert np.all(np.abs(d.mean(axis=0) - 1.0) < 4.5 * sd_mean), d.mean(axis=0)
    logs = np.log(d)
    assert np.allclose(logs.mean(axis=0), -sigma ** 2 / 2, atol=4.5 * sigma / math.sqrt(S))
    assert np.allclose(logs.std(axis=0), sigma, rtol=0.05)
    lag1 = np.corrcoef(logs[:, 2], logs[:, 3])[0, 1]
    assert abs(lag1 - phi) < 0.05
