"""The LP builder: its size formula matches the model it builds."""

from __future__ import annotations

import numpy as np
import pytest

from optimiser.model import build_lp, lp_size

from .lp_cases import CASES


@pytest.mark.parametrize("case", sorted(CASES))
def test_lp_size_matches_built_model(case):
    inst = CASES[case][0]()
    assert lp_size(inst) == build_lp(inst).size


def test_refresh_lp_equals_a_fresh_build():
    """A session's LP refreshed for changed data is the LP built from them."""
    import dataclasses

    from optimiser.generate import generate_instance
    from optimiser.instance import Instance
    from optimiser.model.build import build_lp, refresh_lp

    meta, tables = generate_instance(suppliers=4, nodes=7, commodities=2, days=15, seed=11)
    inst = Instance.from_tables(meta, tables)
    rng = np.random.default_rng(0)
    lp = build_lp(inst, full=True)
    new = dataclasses.replace(
        inst, demand=inst.demand * rng.uniform(0.5, 1.5, inst.demand.shape),
        floor=inst.floor * 1.3, readiness_hard=rng.random(inst.n_pairs) < 0.5,
        initial_stock=inst.initial_stock + 3.0, pipeline=inst.pipeline + 1.0,
        capacity=inst.capacity * 0.7, contract_min=inst.capacity.sum(axis=1) * 0.1,
        contract_max=inst.capacity.sum(axis=1) * 0.8, unit_price=inst.unit_price * 1.1,
        holding_cost=inst.holding_cost + 0.5, max_stock=inst.max_stock * 2)
    a, b = refresh_lp(lp, new), build_lp(new, full=True)
    for name in ("lb", "ub", "cost"):
        assert np.array_equal(getattr(a.vars, name), getattr(b.vars, name)), name
    assert np.array_equal(a.row_lo, b.row_lo) and np.array_equal(a.row_hi, b.row_hi)
    assert (a.A != b.A).nnz == 0


@pytest.mark.parametrize("case", sorted(CASES))
def test_light_csr_products_equal_scipy(case):
    """The engine's CSR (no scipy on the solve path) gives A @ v and A.T @ y as scipy does,
    and lp.A is the same matrix as a scipy CSR sharing its arrays."""
    import scipy.sparse as sp

    lp = build_lp(CASES[case][0]())
    A = lp.A
    assert isinstance(A, sp.csr_matrix) and A.shape == lp.csr.shape and A.nnz == lp.csr.nnz
    assert np.shares_memory(A.data, lp.csr.data)
    rng = np.random.default_rng(3)
    v, y = rng.normal(size=A.shape[1]), rng.normal(size=A.shape[0])
    assert np.allclose(lp.csr @ v, A @ v, rtol=1e-13, atol=1e-12)
    assert np.allclose(lp.csr.T @ y, A.T @ y, rtol=1e-13, atol=1e-12)
    assert lp.csr.T.shape == A.T.shape


def test_lp_from_a_scipy_matrix_keeps_it():
    """Callers that build an LP around a scipy matrix (elastic and replan LPs) get it back
    as lp.A, and the light view shares its arrays."""
    import scipy.sparse as sp

    from optimiser.model.build import LP, Csr

    A = sp.random(7, 5, density=0.4, format="csr", random_state=1)
    lp = LP(instance=None, vars=None, A=A, row_lo=np.zeros(7), row_hi=np.ones(7), blocks={},
            block_meta={})
    assert lp.A is A and isinstance(lp.csr, Csr) and lp.csr.data is A.data
    assert lp.size == {"variables": 5, "constraints": 7, "nonzeros": A.nnz}
    empty = Csr(np.zeros(0), np.zeros(0, np.int32), np.zeros(4, np.int32), (3, 2))
    assert np.array_equal(empty @ np.ones(2), np.zeros(3))
    assert np.array_equal(empty.T @ np.ones(3), np.zeros(2))


@pytest.mark.parametrize("case", sorted(CASES))
def test_deferred_matrix_is_assembled_on_first_use_and_equals_the_eager_one(case):
    """build_lp defers the matrix (the network stage assembles it while LEMON runs): its
    size is known before, and the assembled CSR is the COO triplets' matrix exactly."""
    import scipy.sparse as sp

    from optimiser.model.build import _csr

    lp = build_lp(CASES[case][0]())
    assert lp._csr is None  # not assembled yet
    size = lp.size
    d = lp._deferred
    rows, cols, vals = d.triplets()
    eager = _csr(rows, cols, vals, *d.shape)
    assert lp._csr is None and size["nonzeros"] == len(vals)
    csr = lp.csr
    assert lp.size == size and lp.csr is csr  # assembled once, kept
    ref = sp.coo_matrix((vals, (rows, cols)), shape=d.shape).tocsr()
    assert (lp.A != ref).nnz == 0
    for name in ("data", "indices", "indptr"):
        assert np.array_equal(getattr(csr, name), getattr(eager, name))
