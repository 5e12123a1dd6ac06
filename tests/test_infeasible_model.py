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
