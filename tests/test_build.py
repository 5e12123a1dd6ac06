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
