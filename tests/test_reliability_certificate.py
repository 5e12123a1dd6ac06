"""The Clopper–Pearson certificate against scipy.stats.beta, its edge cases, and the
refusal up front of a target the certification scenarios cannot certify."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import beta

from optimiser.errors import UsageError
from optimiser.reliability import (
    Targets,
    max_breaches,
    scenarios_needed,
    upper_bound,
    zero_breach_bound,
)


@pytest.mark.parametrize("m", [1, 2, 7, 59, 1000, 10_000])
@pytest.mark.parametrize("c", [0.9, 0.95, 0.99])
def test_upper_bound_matches_scipy_beta(m, c):
    ks = np.unique(np.array([0, 1, 2, m // 3, m // 2, m - 1, m]).clip(0, m))
    got = upper_bound(ks, m, c)
    for k, u in zip(ks, got):
        if k == 0:
            want = 1.0 - (1.0 - c) ** (1.0 / m)
        elif k == m:
            want = 1.0
        else:
            want = beta.ppf(c, k + 1, m - k)
        assert u == pytest.approx(want, rel=1e-10, abs=1e-14), (k, m, c)


def test_k0_is_the_closed_form_and_the_beta_quantile():
    # k = 0: Beta(1, M) has cdf 1 - (1 - x)^M, so its C-quantile is 1 - (1 - C)^(1/M)
    assert upper_bound(0, 10_000, 0.95) == pytest.approx(beta.ppf(0.95, 1, 10_000), rel=1e-10)
    assert zero_breach_bound(10_000, 0.95) == pytest.approx(1 - 0.05 ** 1e-4, rel=1e-12)
    assert upper_bound(5, 5, 0.95) == 1.0
    assert isinstance(upper_bound(3, 10, 0.95), float)


def test_bound_rises_with_breaches_and_falls_with_scenarios():
    u = upper_bound(np.arange(0, 101), 100, 0.95)
    assert np.all(np.diff(u) > 0)
    assert upper_bound(10, 1000, 0.95) < upper_bound(10, 500, 0.95)


def test_scenarios_needed_and_max_breaches():
    # 1 - 0.05^(1/M) <= 0.05  <=>  M >= ln 0.05 / ln 0.95 = 58.4
    assert scenarios_needed(0.95, 0.95) == 59
    assert zero_breach_bound(59, 0.95) <= 0.05 < zero_breach_bound(58, 0.95)
    assert scenarios_needed(0.99, 0.95) == math.ceil(math.log(0.05) / math.log(0.99))
    k = max_breaches(10_000, 0.95, 0.95)
    assert upper_bound(k, 10_000, 0.95) <= 0.05 < upper_bound(k + 1, 10_000, 0.95)
    assert max_breaches(58, 0.95, 0.95) == -1
    assert max_breaches(59, 0.95, 0.95) == 0


def test_target_that_m_cannot_certify_is_refused_naming_the_m_it_needs():
    with pytest.raises(UsageError, match=r"use certify=59 or more"):
        Targets(reliability=0.95, certify=58)
    with pytest.raises(UsageError, match=r"service 0\.99.*certify=299"):
        Targets(reliability=0.9, service=0.99, certify=100)
    with pytest.raises(UsageError, match=r"frontier target 0\.999"):
        Targets(reliability=0.9, frontier=(0.8, 0.999), certify=1000)
    Targets(reliability=0.95, certify=59)  # just enough


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1, float("nan"), "x"])
def test_reliability_outside_0_1_is_a_usage_error(bad):
    with pytest.raises(UsageError, match="reliability"):
        Targets(reliability=bad)


def test_other_bad_settings_are_usage_errors():
    with pytest.raises(UsageError, match="scope"):
        Targets(reliability=0.9, scope="all")
    with pytest.raises(UsageError, match="train"):
        Targets(reliability=0.9, train=0)
    with pytest.raises(UsageError, match="seed"):
        Targets(reliability=0.9, seed=-1)
