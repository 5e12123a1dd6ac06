"""Infeasible instances: the least violation, named by requirement and place."""

from __future__ import annotations

import pytest

from optimiser.solve import solve

from .lp_cases import one_supplier


def test_infeasible_hard_floor_explained():
    inst = one_supplier(cap=5.0, lane_cost=0.0, node={"floor": 10.0, "readiness_hard": True},
                        floors=[{"node": "D", "commodity": "A", "day": 0, "floor": 0.0}])
    plan = solve(inst)
    assert plan.status == "infeasible"
    rows = plan.infeasibility.to_pylist()
    assert len(rows) == 1
    r = rows[0]
    assert (r["requirement"], r["node"], r["day"]) == ("readiness_floor", "D", 1)
    assert r["violation"] == pytest.approx(5.0)


def test_infeasible_contract_min_and_budget_explained():
    from .lp_cases import two_suppliers

    plan = solve(two_suppliers(s2={"contract_min": 30.0}))  # 10/day x 1 day of dispatch
    assert plan.status == "infeasible"
    (r,) = plan.infeasibility.to_pylist()
    assert r["requirement"] == "contract_min" and r["supplier"] == "S2"
    assert r["violation"] == pytest.approx(20.0)
    # contract 5 x price 5 = 25 > budget 10: the least violation is to buy 2 (short by 3)
    plan = solve(two_suppliers(s2={"contract_min": 5.0}, budget=10.0))
    assert plan.status == "infeasible"
    assert plan.summary["infeasibility"]["total_violation"] == pytest.approx(3.0)
    assert plan.summary["infeasibility"]["by_requirement"] == {"contract_min": pytest.approx(3.0)}


def test_storage_infeasibility_explained():
    inst = one_supplier(node={"initial_stock": 10.0, "max_stock": 4.0})
    plan = solve(inst)
    assert plan.status == "infeasible"
    rows = plan.infeasibility.to_pylist()
    assert {r["requirement"] for r in rows} == {"storage"}
    assert rows[0]["violation"] == pytest.approx(6.0)


# ---------------------------------------------------------------- the one elastic relaxation
def test_the_elastic_lp_relaxes_each_hard_requirement_once_priced_as_asked():
    """Phase one (the explanation): only elastics priced, one per unit; priced (the
    replans): the LP's costs kept, every elastic at the price; the budget relaxed only
    when asked. Checked on an LP with a hard floor, a storage limit, a contract minimum
    and a budget: one elastic each, in that order after the LP's own columns."""
    import dataclasses

    import numpy as np

    from optimiser.model.build import build_lp
    from optimiser.model.infeasible import elastic_lp

    from .lp_cases import two_suppliers

    inst = two_suppliers(s2={"contract_min": 4.0}, budget=100.0, demand=5.0)
    floor = np.zeros_like(inst.floor)
    floor[:, 1] = 1.0
    inst = dataclasses.replace(inst, readiness_hard=np.ones_like(inst.readiness_hard),
                               floor=floor, max_stock=np.full_like(inst.max_stock, 50.0))
    lp = build_lp(inst)
    n0, m0 = lp.A.shape[1], lp.A.shape[0]
    el = elastic_lp(lp)
    nf, ns, nc = len(el.hard_floor), len(el.storage), len(el.cmin_rows)
    assert (nf, ns, nc) == (1, 2, 1) and el.e_budget == n0 + 4
    assert el.lp.A.shape == (m0 + nf + ns, n0 + 5)
    assert np.array_equal(el.lp.vars.cost, np.r_[np.zeros(n0), np.ones(5)])
    assert np.array_equal(el.e_floor, [n0]) and np.array_equal(el.e_cmin, [n0 + 3])
    s0 = lp.vars.s_start
    assert el.lp.vars.lb[s0 + el.hard_floor[0]] == 0.0  # the floor moved into a row ...
    assert el.lp.row_lo[m0] == 1.0 and el.lp.A[m0, el.e_floor[0]] == 1.0  # ... with its elastic
    assert np.isinf(el.lp.vars.ub[s0 + el.storage]).all()
    assert el.lp.A[lp.blocks["budget"].start, el.e_budget] == -1.0
    priced = elastic_lp(lp, budget=False, price=1e7)
    assert priced.e_budget is None and priced.lp.A.shape[1] == n0 + 4
    assert np.array_equal(priced.lp.vars.cost, np.r_[lp.vars.cost, np.full(4, 1e7)])


def test_infeasible_replans_go_through_the_one_elastic_lp(monkeypatch):
    """The closed loop's relaxation is model/infeasible.elastic_lp (no budget elastic,
    priced at 10 x the largest cost, at least 1e7), and its plan gives way where the
    explanation says: the late hard floor of 10 on days 0-2."""
    import numpy as np

    import optimiser.model.infeasible as infeasible
    from optimiser.simulate.replan import solve_window

    from .test_infeasible import late_floor

    calls = []
    real = infeasible.elastic_lp

    def spy(lp, **kw):
        calls.append(kw)
        return real(lp, **kw)

    monkeypatch.setattr(infeasible, "elastic_lp", spy)
    inst = late_floor()
    r = solve_window(inst, start="cold")
    assert r.relaxed and r.status == "optimal"
    assert calls == [{"budget": False, "price": 1e7}]
    # the floor gives way only where it must: both days that can still arrive in time
    # ship at capacity, and the floor of 10 holds from day 3 on
    from optimiser.replay import stock_from_flows

    assert np.array_equal(r.x, [[5.0, 5.0, 0.0, 0.0, 0.0, 0.0]])
    assert np.array_equal(stock_from_flows(inst, r.x, r.u), [[0.0, 0.0, 5.0, 10.0, 10.0, 10.0]])
    plan = solve(inst)  # the explanation: the same relaxation, phase one, budget included
    assert plan.status == "infeasible" and calls[1:] == [{}]
