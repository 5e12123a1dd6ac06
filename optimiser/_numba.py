"""The one numba decorator of the project, with its defaults.

cache=True pays compilation once per machine; error_model="numpy" lets division by
zero give inf/nan instead of raising (and keeps loops vectorisable); fastmath stays
off so results are bit-identical across runs and thread counts.
"""

from __future__ import annotations

import functools

import numba

jit = functools.partial(numba.njit, cache=True, error_model="numpy", nogil=True)
pjit = functools.partial(numba.njit, cache=True, error_model="numpy", nogil=True, parallel=True)
