"""The loop's bookkeeping (optimiser/reliability/training.py), against plain references."""

import math

import numpy as np
from scipy import stats

from optimiser.reliability.training import (
    AIM_AGAIN,
    AIM_FIRST,
    Cert,
    aim,
    allowed,
    back_max,
    cover,
    loose,
    prefixes,
    sample_sizes,
)


def test_sample_sizes_double_up_to_n():
    assert sample_sizes(2000) == [250, 500, 1000, 2000]
    assert sample_sizes(600) == [300, 600]
    assert sample_sizes(400) == [400] and sample_sizes(100) == [100]


def test_prefixes_are_whole_chunks_doubling_below_n():
    assert prefixes(2000, 512) == [512, 1024, 2000]
    assert prefixes(5000, 512) == [512, 1024, 2048, 4096, 5000]
    assert prefixes(512, 512) == [512] and prefixes(300, 512) == [300]


def test_a_raise_aims_below_the_target_on_all_n_with_many_events():
    t, N = 0.035, 2000
    k = allowed(t, N, 0)
    assert k == 70
    assert aim(t, 512, N, 0) == loose(t, 512) == 22  # a prefix: one standard error above
    assert AIM_AGAIN < AIM_FIRST < 1
    assert aim(t, N, N, 0) == math.floor(AIM_FIRST * k) < k
    assert aim(t, N, N, 3) == math.floor(AIM_AGAIN * k)
    # one event: the target itself, then 80% of it (a re-fail costs one round)
    assert aim(t, N, N, 0, many=False) == k and aim(t, N, N, 1, many=False) == 56


def test_cover_leaves_out_the_dearest_allowed_scenarios_ties_by_index():
    breach = np.array([True, True, False, True, True, True])
    price = np.array([5.0, 1.0, 99.0, 5.0, 2.0, 9.0])
    got = cover(breach, price, 2)
    # breaching: 0 (5), 1 (1), 3 (5), 4 (2), 5 (9): cover the 3 cheapest, ties by index
    assert got.tolist() == [True, True, False, False, True, False]
    assert not cover(breach, price, 5).any()
    assert cover(breach, price, 0).tolist() == breach.tolist()


def test_back_max_is_the_largest_over_the_next_w_days():
    rng = np.random.default_rng(3)
    buf = rng.random((9, 4))
    for w in (0, 1, 3, 20):
        ref = np.array([buf[t:t + w + 1].max(axis=0) for t in range(len(buf))])
        assert np.array_equal(back_max(buf, w), ref)


def test_allowed_and_loose_breach_counts():
    assert allowed(0.05, 2000, 0) == 100
    assert allowed(0.05, 2000, 1) == 80  # after a raise on all N: aims at 80%
    t, n = 0.05, 500
    assert loose(t, n) == math.floor(t * n + math.sqrt(t * (1 - t) * n))
    assert loose(t, n) > allowed(t, n, 0)


def test_cert_bounds_are_clopper_pearson_and_broken_is_past_kmax():
    br = np.zeros((400, 2), bool)
    br[:7, 0] = True  # pair 0: 7 breaches, pair 1: none
    c = Cert(br, np.zeros((400, 0), bool))
    u_r, _, u_j, ok_r, _, ok_j = c.bounds(0.95, None, 0.95, 2)
    assert math.isclose(u_r[0], stats.beta.ppf(0.95, 8, 393), rel_tol=1e-9)
    assert math.isclose(u_r[1], 1 - 0.05 ** (1 / 400), rel_tol=1e-9)
    assert math.isclose(u_j, u_r[0], rel_tol=1e-12)
    assert ok_r.tolist() == [True, True] and ok_j
    assert c.broken(6, 0, joint=False) and not c.broken(7, 0, joint=False)
