"""Shadow prices: the hand-computed value of every constraint kind."""

from __future__ import annotations

import pytest

from optimiser.solve import solve

from .lp_cases import CASES, SHADOW


@pytest.mark.parametrize("case,kind,value", SHADOW)
def test_shadow_prices(case, kind, value):
    plan = solve(CASES[case][0]())
    sp = plan.shadow_prices.to_pylist()
    assert plan.summary["duals"]["kkt"]["ok"]
    got = [r["value"] for r in sp if r["constraint"] == kind]
    assert got and max(got) == pytest.approx(value)
