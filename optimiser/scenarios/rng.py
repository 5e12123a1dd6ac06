"""Counter-based random numbers: every draw is a pure function of
(seed, scenario, stream, entity, day).

Design (docs/SCENARIOS.md has the long version):

- ``scenario_key(seed, scenario) = mix64(mix64(seed ^ SALT) + GAMMA2 * (scenario + 1))``
  is computed once per scenario.
- ``draw_bits(key, stream, entity, day) = mix64(key + GAMMA * counter)`` with
  ``counter = stream << 56 | entity << 24 | day``: the splitmix64 output function at
  position ``counter`` of the sequence keyed by ``key``. ``mix64`` is a bijection
  and ``GAMMA`` is odd, so within a scenario distinct (stream, entity, day) never
  share a draw. Limits: stream < 256, entity < 2**32, day < 2**24.
- uniforms are open on both sides: (k + 0.5) * 2**-53 from the top 53 bits, or two
  32-bit uniforms (k + 0.5) * 2**-32 from the two halves of one draw.
- standard normals by inverse CDF (Acklam's rational approximation, relative error
  < 1.2e-9) of one 53-bit uniform: one hash per normal, no rejection, no state.

Nothing depends on thread count, chunking or the order of evaluation: a kernel
may skip draws it does not need without changing any other draw. All functions
are numba-compiled and also callable from Python (the test reference uses them).
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import jit

M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)
GAMMA = np.uint64(0x9E3779B97F4A7C15)  # splitmix64 increment (odd)
GAMMA2 = np.uint64(0xD1B54A32D192ED03)  # a second odd constant for scenario keys
SALT = np.uint64(0x5851F42D4C957F2D)
S30, S27, S31 = np.uint64(30), np.uint64(27), np.uint64(31)
S56, S24, S11, S32 = np.uint64(56), np.uint64(24), np.uint64(11), np.uint64(32)
LO32 = np.uint64(0xFFFFFFFF)
ONE = np.uint64(1)
TWO_M53 = 2.0 ** -53
TWO_M32 = 2.0 ** -32

# stream (purpose) ids: part of the contract of reproducibility, never renumber
STREAM_DEMAND = 1  # entity: node-commodity pair i
STREAM_SURGE = 2  # entity: node n
STREAM_OUTAGE = 3  # entity: supplier s
STREAM_SHIP = 4  # entity: lane l; high half -> lost?, low half -> late?
STREAM_DELAY = 5  # entity: lane l; days late of a late shipment

MAX_ENTITY = 2 ** 32
MAX_DAY = 2 ** 24


@jit
def mix64(z):
    """splitmix64's output function (Stafford's variant 13): a bijection on uint64."""
    z = np.uint64(z)
    z = (z ^ (z >> S30)) * M1
    z = (z ^ (z >> S27)) * M2
    return z ^ (z >> S31)


@jit
def scenario_key(seed, scenario):
    """Key of one scenario; seed and scenario are non-negative integers."""
    return mix64(mix64(np.uint64(seed) ^ SALT) + GAMMA2 * (np.uint64(scenario) + ONE))


@jit
def draw_bits(key, stream, entity, day):
    """64 random bits for (stream, entity, day) of the scenario with this key."""
    c = (np.uint64(stream) << S56) | (np.uint64(entity) << S24) | np.uint64(day)
    return mix64(np.uint64(key) + GAMMA * c)


@jit
def bits_to_uniform(b):
    """Top 53 bits -> uniform in the open interval (0, 1)."""
    return (np.float64(b >> S11) + 0.5) * TWO_M53


@jit
def hi_uniform(b):
    """High 32 bits -> uniform in (0, 1)."""
    return (np.float64(b >> S32) + 0.5) * TWO_M32


@jit
def lo_uniform(b):
    """Low 32 bits -> uniform in (0, 1)."""
    return (np.float64(b & LO32) + 0.5) * TWO_M32


@jit
def uniform(key, stream, entity, day):
    return bits_to_uniform(draw_bits(key, stream, entity, day))


# The kernels test a uniform against a probability as an integer comparison of the bits
# it is made from: `u(x) < p` with u increasing in x holds exactly for x < the threshold,
# found by bisection on the very expression (so the same outcome for every x, not a
# rewritten inequality that could round differently).
@jit
def _threshold(p, high):
    """The number of x with u(x) < p, by bisection on the very expression u: with `high`,
    u(x) = hi_uniform(x << 32) over x in [0, 2**32); else bits_to_uniform(x << 11) over
    [0, 2**53)."""
    lo, hi = 0, (1 << 32) if high else (1 << 53)
    while lo < hi:
        m = (lo + hi) // 2
        u = hi_uniform(np.uint64(m) << S32) if high else bits_to_uniform(np.uint64(m) << S11)
        if u < p:
            lo = m + 1
        else:
            hi = m
    return np.uint64(lo)


@jit
def hi_threshold(p):
    """The number of x in [0, 2**32) with hi_uniform(x << 32) < p (== lo_uniform(x) < p):
    `hi_uniform(b) < p` is `(b >> 32) < hi_threshold(p)`, `lo_uniform(b) < p` is
    `(b & LO32) < hi_threshold(p)`."""
    return _threshold(p, True)


@jit
def u53_threshold(p):
    """The number of x in [0, 2**53) with bits_to_uniform(x << 11) < p:
    `bits_to_uniform(b) < p` is `(b >> 11) < u53_threshold(p)`."""
    return _threshold(p, False)


# Acklam's split points: the central rational function on [P_LOW, P_HIGH], tails outside
P_LOW = 0.02425
P_HIGH = 1.0 - P_LOW  # 0.97575


@jit
def norm_ppf_central(p):
    """Acklam's central rational function (valid for P_LOW <= p <= P_HIGH): no log, no
    branch, so a kernel can compute it for a whole vector of draws and fix the tails."""
    q = p - 0.5
    r = q * q
    return ((((((-3.969683028665376e+01 * r + 2.209460984245205e+02) * r
                - 2.759285104469687e+02) * r + 1.383577518672690e+02) * r
              - 3.066479806614716e+01) * r + 2.506628277459239e+00) * q
            / (((((-5.447609879822406e+01 * r + 1.615858368580409e+02) * r
                  - 1.556989798598866e+02) * r + 6.680131188771972e+01) * r
                - 1.328068155288572e+01) * r + 1.0))


@jit
def norm_ppf(p):
    """Inverse of the standard normal CDF for p in (0, 1) (Acklam; |rel err| < 1.2e-9)."""
    if p < P_LOW:
        q = math.sqrt(-2.0 * math.log(p))
        return ((((((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q
                    - 2.400758277161838e+00) * q - 2.549732539343734e+00) * q
                  + 4.374664141464968e+00) * q + 2.938163982698783e+00)
                / ((((7.784695709041462e-03 * q + 3.224671290700398e-01) * q
                     + 2.445134137142996e+00) * q + 3.754408661907416e+00) * q + 1.0))
    if p > P_HIGH:
        q = math.sqrt(-2.0 * math.log1p(-p))
        return -((((((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q
                     - 2.400758277161838e+00) * q - 2.549732539343734e+00) * q
                   + 4.374664141464968e+00) * q + 2.938163982698783e+00)
                 / ((((7.784695709041462e-03 * q + 3.224671290700398e-01) * q
                      + 2.445134137142996e+00) * q + 3.754408661907416e+00) * q + 1.0))
    return norm_ppf_central(p)


@jit
def normal(key, stream, entity, day):
    """A standard normal draw for (stream, entity, day)."""
    return norm_ppf(bits_to_uniform(draw_bits(key, stream, entity, day)))


# exp for the demand multiplier, the same bits in the kernel (vectorised over a block)
# and in the test reference: Cody-Waite reduction x = n ln2 + r, |r| <= ln2 / 2, a
# degree-13 Taylor polynomial for exp(r) (truncation < 5e-18 relative), times 2**n built
# from two exact powers of two (so underflow rounds once and overflow gives inf).
# Straight-line float64 arithmetic with no call and no branch: LLVM vectorises a loop
# of it (fastmath stays off). |error| < 2 ulp against the correctly rounded exp.
EXP_HI = 709.8  # exp(EXP_HI) overflows: clamping x keeps 2**n representable in 2 factors
EXP_LO = -746.0  # exp(EXP_LO) underflows to 0
LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01  # fdlibm split of ln 2: n * LN2_HI is exact
LN2_LO = 1.90821492927058770002e-10
ROUND_MAGIC = 6755399441055744.0  # 1.5 * 2**52: adding and subtracting rounds to an integer


@jit(inline="always")
def exp_parts(x):
    """-> (p, n1, n2) with exp(x) = p * 2**n1 * 2**n2 (n1, n2 in [-540, 540])."""
    x = EXP_HI if x > EXP_HI else x
    x = EXP_LO if x < EXP_LO else x
    nf = (x * LOG2E + ROUND_MAGIC) - ROUND_MAGIC
    r = (x - nf * LN2_HI) - nf * LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    n = np.int64(nf)
    n1 = n >> 1
    return p, n1, n - n1


@jit(inline="always")
def pow2_bits(n):
    """Bit pattern (int64) of the float64 2**n for -1022 <= n <= 1023."""
    return (n + 1023) << 52


@jit
def vexp(x, out, ibits, fbits):
    """out[k] = exp(x[k]) for every k; ibits (int64) / fbits (its float64 view) are scratch
    of the same length, twice (2 * len(x)). The loops vectorise."""
    K = x.shape[0]
    for k in range(K):
        p, n1, n2 = exp_parts(x[k])
        out[k] = p
        ibits[k] = pow2_bits(n1)
        ibits[K + k] = pow2_bits(n2)
    for k in range(K):
        out[k] = (out[k] * fbits[k]) * fbits[K + k]


@jit
def exp(x):
    """The scalar exp of this module: bit for bit what `vexp` gives for one element."""
    xs = np.empty(1)
    xs[0] = x
    out = np.empty(1)
    ib = np.empty(2, dtype=np.int64)
    vexp(xs, out, ib, ib.view(np.float64))
    return out[0]


# plain-Python twins (tests check the compiled functions bit for bit against these)
_MASK = (1 << 64) - 1


def py_mix64(z: int) -> int:
    z &= _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def py_scenario_key(seed: int, scenario: int) -> int:
    return py_mix64(py_mix64(seed ^ 0x5851F42D4C957F2D) + 0xD1B54A32D192ED03 * (scenario + 1))


def py_draw_bits(key: int, stream: int, entity: int, day: int) -> int:
    c = (stream << 56) | (entity << 24) | day
    return py_mix64(key + 0x9E3779B97F4A7C15 * c)
