"""The independent checker: each rule fires alone on a hand-tampered plan and names its place."""

from __future__ import annotations

import pyarrow as pa
import pytest

from optimiser.check import check_plan
from optimiser.solve import solve

from .lp_cases import CASES


def test_independent_checker_catches_tampering(generated_small):
    plan = solve(generated_small)
    flows = plan.flows
    assert check_plan(generated_small, flows, plan.stock, plan.summary).ok
    q = flows.column("quantity").to_numpy().copy()
    q[0] += 1.0  # one flow tampered with
    bad = flows.set_column(flows.schema.get_field_index("quantity"), "quantity", pa.array(q))
    rep = check_plan(generated_small, bad, plan.stock, plan.summary)
    assert not rep.ok
    assert rep.violations["balance"].count >= 1 or rep.violations["objective"].count == 1


def test_checker_recomputes_objective():
    plan = solve(CASES["shortfall"][0]())
    summary = dict(plan.summary, objective=plan.objective * 1.01)
    rep = check_plan(plan.instance, plan.flows, plan.stock, summary)
    assert not rep.ok and rep.violations["objective"].count == 1
    assert rep.objective == pytest.approx(512.5)
