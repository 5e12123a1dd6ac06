"""The solver backends agree with each other; a backend with bad duals is caught."""

from __future__ import annotations

import pytest

from optimiser.solve import solve

from .lp_cases import CASES


def test_generated_instance_backends_agree(generated_small):
    plans = {s: solve(generated_small, solver=s) for s in ("highs", "glop", "pdlp")}
    ref = plans["highs"].objective
    assert plans["glop"].objective == pytest.approx(ref, rel=1e-7)
    assert plans["pdlp"].objective == pytest.approx(ref, rel=1e-5)
    for s, p in plans.items():
        assert p.status == "optimal", s
        assert p.summary["check"]["ok"], s
    for s in ("highs", "glop"):
        assert plans[s].summary["duals"]["kkt"]["ok"]


def test_highs_through_ortools_duals_are_rejected_and_rederived():
    plan = solve(CASES["supplier_capacity"][0](), solver="highs-ortools")
    assert "duals_rejected" in plan.summary
    assert plan.summary["duals"]["source"] in ("highs", "glop")
    assert any(r["constraint"] == "supplier_capacity" for r in plan.shadow_prices.to_pylist())
