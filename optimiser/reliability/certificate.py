"""The one-sided Clopper–Pearson certificate on the probability of a target event.

k breaching scenarios out of M fresh ones give the upper confidence bound

    U = the C-quantile of Beta(k + 1, M - k)        (0 < k < M)
    U = 1 - (1 - C) ** (1 / M)                       (k = 0, the same quantile in closed form)
    U = 1                                            (k = M)

A target event of probability at most 1 - R is certified when U <= 1 - R. With M
scenarios the best possible bound is the k = 0 one, so a target needs at least
`scenarios_needed(R, C)` certification scenarios.
"""

from __future__ import annotations

import math

import numpy as np


def upper_bound(k, m: int, confidence: float) -> np.ndarray | float:
    """U for k breaches out of m scenarios at confidence C (vectorised over k)."""
    from scipy.special import betaincinv  # Beta(a, b).ppf(q) = betaincinv(a, b, q)

    k_arr = np.asarray(k, dtype=np.int64)
    m = int(m)
    if m < 1:
        raise ValueError("a certificate needs at least one scenario")
    if np.any(k_arr < 0) or np.any(k_arr > m):
        raise ValueError(f"breach counts must lie in 0..{m}")
    c = float(confidence)
    kk = np.clip(k_arr, 1, max(m - 1, 1)).astype(float)
    mid = betaincinv(kk + 1.0, np.maximum(m - kk, 1.0), c)
    u = np.where(k_arr == 0, zero_breach_bound(m, c), np.where(k_arr >= m, 1.0, mid))
    return float(u) if np.ndim(k) == 0 else u


def zero_breach_bound(m: int, confidence: float) -> float:
    """1 - (1 - C) ** (1 / M): the bound with no breach, the best M scenarios can give."""
    return -math.expm1(math.log1p(-float(confidence)) / int(m))


def scenarios_needed(reliability: float, confidence: float) -> int:
    """The least M whose no-breach bound is <= 1 - R."""
    alpha = 1.0 - float(reliability)
    m = math.ceil(math.log1p(-float(confidence)) / math.log1p(-alpha))
    while zero_breach_bound(m, confidence) > alpha:  # floating point at the boundary
        m += 1
    while m > 1 and zero_breach_bound(m - 1, confidence) <= alpha:
        m -= 1
    return max(1, m)


def max_breaches(m: int, reliability: float, confidence: float) -> int:
    """The largest k out of m that still certifies 1 - R (-1 when not even k = 0 does)."""
    alpha = 1.0 - float(reliability)
    if zero_breach_bound(m, confidence) > alpha:
        return -1
    lo, hi = 0, m  # U(lo) <= alpha; U(m) = 1 > alpha
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if upper_bound(mid, m, confidence) <= alpha:
            lo = mid
        else:
            hi = mid
    return lo
