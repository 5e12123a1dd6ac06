"""Shadow prices: the hand-computed value of every constraint kind."""

from __future__ import annotations

import pytest

from optimiser.outputs import SHADOW_PRICES
from optimiser.solve import solve

from .lp_cases import CASES, SHADOW


@pytest.mark.parametrize("case,kind,value", SHADOW)
def test_shadow_prices(case, kind, value):
    plan = solve(CASES[case][0]())
    sp = plan.shadow_prices.to_pylist()
    assert plan.summary["duals"]["kkt"]["ok"]
    got = [r["value"] for r in sp if r["constraint"] == kind]
    assert got and max(got) == pytest.approx(value)


def _row(constraint, name, value, limit, used, **cols):
    base = {k: None for k in ("supplier", "node", "origin", "destination", "commodity",
                              "mode", "day")}
    return {"constraint": constraint, "name": name, **base, **cols, "limit": limit,
            "used": used, "value": value}


# every row of the table, every column, worked by hand: S1 sells at 1 and S2 at 5 (with a
# shortfall penalty of 100), so one more unit of a limit on S1's cheap supply saves 5 - 1.
SHADOW_ROWS = {
    "supplier_capacity": [_row("supplier_capacity", "S1/A day 0", 4.0, 3.0, 3.0,
                               supplier="S1", commodity="A", day=0)],
    "lane_capacity": [_row("lane_capacity", "S1->D A day 0", 4.0, 3.0, 3.0, origin="S1",
                           destination="D", commodity="A", mode="", day=0)],
    "contract_min": [_row("contract_min", "S2/A", 4.0, 4.0, 4.0, supplier="S2",
                          commodity="A")],
    "contract_max": [_row("contract_max", "S1/A", 4.0, 3.0, 3.0, supplier="S1",
                          commodity="A")],
    # one more unit of budget buys a unit at 1 that saves a shortfall of 100
    "budget": [_row("budget", "budget", 99.0, 8.0, 8.0)],
    # a hard floor of 10 held with 10 in stock: one unit less of floor saves its price 2
    "readiness_hard": [_row("readiness_floor", "D/A day 1", 2.0, 10.0, 10.0, node="D",
                            commodity="A", day=1)],
}


@pytest.mark.parametrize("case", sorted(SHADOW_ROWS))
def test_shadow_price_rows_whole(case):
    plan = solve(CASES[case][0]())
    assert plan.shadow_prices.to_pylist() == SHADOW_ROWS[case]
    assert plan.shadow_prices.schema == SHADOW_PRICES.schema


def test_storage_and_capacity_rows_sorted_by_value():
    # storage: 3 units may be held from day 0 for the demand of 5 on day 1, supply is shut on
    # days 1 and 2; one more unit of room on day 0 (or of supply on days 1, 2) saves 100 - 1
    plan = solve(CASES["storage"][0]())
    rows = plan.shadow_prices.to_pylist()
    assert sorted(rows, key=lambda r: (r["constraint"], r["day"])) == [
        _row("storage", "D/A day 0", 99.0, 3.0, 3.0, node="D", commodity="A", day=0),
        _row("supplier_capacity", "S/A day 1", 99.0, 0.0, 0.0, supplier="S", commodity="A",
             day=1),
        _row("supplier_capacity", "S/A day 2", 99.0, 0.0, 0.0, supplier="S", commodity="A",
             day=2)]
    values = [r["value"] for r in rows]
    assert values == sorted(values, reverse=True)
