"""Per-commodity decomposition: exactly the joint LP's optimum and shadow prices."""

from __future__ import annotations

import pytest

from optimiser.solve import solve


def test_decomposition_is_exact(generated_small):
    joint = solve(generated_small, decompose="never")
    split = solve(generated_small, decompose="auto")
    assert "decomposed" in split.summary["solver"]["how"]
    assert joint.summary["solver"]["how"] == "joint LP"
    assert split.objective == pytest.approx(joint.objective, rel=1e-9)
    assert split.summary["size"] == joint.summary["size"]
    assert split.summary["check"]["ok"] and split.summary["duals"]["kkt"]["ok"]
    # the same binding constraints, with the same values
    a = sorted((r["constraint"], r["name"], round(r["value"], 6))
               for r in joint.shadow_prices.to_pylist())
    b = sorted((r["constraint"], r["name"], round(r["value"], 6))
               for r in split.shadow_prices.to_pylist())
    assert len(a) == len(b)
    # value by value: the same constraint, the same worth, the same limit and use
    rows_a = {(r["constraint"], r["name"]): r for r in joint.shadow_prices.to_pylist()}
    rows_b = {(r["constraint"], r["name"]): r for r in split.shadow_prices.to_pylist()}
    assert rows_a and rows_a.keys() == rows_b.keys()
    for key, ra in rows_a.items():
        rb = rows_b[key]
        for col in ("value", "limit", "used"):
            assert rb[col] == pytest.approx(ra[col], rel=1e-6, abs=1e-9), (key, col)


def test_decomposition_with_custom_map(generated_small):
    calls = []

    def serial_map(fn, items):
        items = list(items)
        calls.append(len(items))
        return [fn(i) for i in items]

    plan = solve(generated_small, map=serial_map)
    assert calls == [len(generated_small.commodities)]
    assert plan.status == "optimal"


def test_commodity_held_by_no_node_with_contract_min_is_infeasible():
    """Decomposition must not drop a commodity that only a supplier has (its contract row)."""
    from optimiser.tables import make_instance

    inst = make_instance(
        "orphan", 3,
        suppliers=[{"supplier": "S", "commodity": "A", "unit_price": 1.0, "daily_capacity": 10.0},
                   {"supplier": "S", "commodity": "B", "unit_price": 1.0, "daily_capacity": 10.0,
                    "contract_min": 5.0}],
        nodes=[{"node": "D", "commodity": "A"}],
        lanes=[{"origin": "S", "destination": "D", "commodity": "A", "lead_time_days": 1}],
        demand=[{"node": "D", "commodity": "A", "day": 2, "quantity": 3.0}])
    for decompose in ("auto", "never"):
        plan = solve(inst, decompose=decompose)
        assert plan.status == "infeasible", decompose
        (r,) = plan.infeasibility.to_pylist()
        assert (r["requirement"], r["supplier"], r["commodity"]) == ("contract_min", "S", "B")
        assert r["violation"] == pytest.approx(5.0)
