"""solve(): known optima by hand on every backend, budgets, time limits, custom maps."""

from __future__ import annotations

import pytest

from optimiser.check import check_plan
from optimiser.solve import solve

from .lp_cases import CASES

EXACT = ["highs", "glop", "highs-ortools"]


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("solver", EXACT + ["pdlp"])
def test_known_optimum(case, solver):
    make, objective, parts = CASES[case]
    plan = solve(make(), solver=solver)
    assert plan.status == "optimal"
    rel = 1e-6 if solver == "pdlp" else 1e-9
    assert plan.objective == pytest.approx(objective, rel=rel, abs=rel)
    for k, v in parts.items():
        assert plan.breakdown[k] == pytest.approx(v, rel=rel, abs=1e-6)
    assert plan.summary["check"]["ok"]


def test_time_limit_never_claims_optimal(generated_medium):
    for solver in ("highs", "glop", "pdlp"):
        plan = solve(generated_medium, solver=solver, time_limit=0.01)
        assert plan.status in ("feasible", "no_solution"), solver
        if plan.status == "feasible":
            assert plan.summary["check"]["ok"]


def test_binding_budget_keeps_joint_model():
    from .lp_cases import two_suppliers

    plan = solve(two_suppliers(s1={"daily_capacity": 10.0}, budget=8.0, demand=10.0))
    assert plan.summary["solver"]["how"] == "joint LP"
    assert plan.objective == pytest.approx(208.0)
    assert any(r["constraint"] == "budget" for r in plan.shadow_prices.to_pylist())


def test_slack_budget_solved_without_it(generated_small):
    import dataclasses

    free = solve(generated_small)
    spend = free.summary["totals"]["procurement_spend"]
    inst = dataclasses.replace(generated_small, budget=spend * 2.0)  # clearly slack
    fast = solve(inst)
    joint = solve(inst, decompose="never", method="simplex")
    assert fast.summary["solver"]["how"].startswith("budget not binding")
    assert joint.summary["solver"]["how"] == "joint LP"
    assert fast.objective == pytest.approx(joint.objective, rel=1e-9)
    assert fast.summary["size"] == joint.summary["size"]
    assert fast.summary["check"]["ok"]
    # and a budget below that spend binds: the joint LP, dearer
    tight = solve(dataclasses.replace(generated_small, budget=spend * 0.8))
    assert tight.summary["solver"]["how"] == "joint LP"
    assert tight.objective > joint.objective


@pytest.mark.parametrize("method", ["simplex", "ipm"])
def test_highs_methods_agree(generated_small, method):
    ref = solve(generated_small, method="simplex", decompose="never")
    plan = solve(generated_small, method=method)
    assert plan.objective == pytest.approx(ref.objective, rel=1e-9)
    assert plan.summary["duals"]["kkt"]["ok"] and plan.summary["check"]["ok"]


def test_budget_that_cannot_cover_need_goes_straight_to_joint_lp():
    import dataclasses

    from optimiser.solve import _budget_surely_binds

    from .lp_cases import two_suppliers

    inst = two_suppliers(s1={"daily_capacity": 10.0}, budget=8.0, demand=10.0)
    assert _budget_surely_binds(inst)  # 10 units needed at price >= 1 > budget 8
    plan = solve(inst)
    assert plan.summary["solver"]["how"] == "joint LP"
    assert "budget_relaxation" not in plan.summary["timings"]  # no wasted attempt
    roomy = dataclasses.replace(inst, budget=1000.0)
    assert not _budget_surely_binds(roomy)
    assert solve(roomy).summary["solver"]["how"].startswith("budget not binding")




@pytest.fixture
def highs_stops_after(monkeypatch):
    """HiGHS stopped by a simplex iteration limit (deterministic, unlike a time limit).
    Primal simplex from the network's point (its basis and certificate withheld: from them HiGHS needs
    no iteration at all) keeps a feasible point all along, so it ends at the limit with a
    point in hand: the "feasible" path a time limit takes."""
    import dataclasses

    import optimiser.model.backends.highs as highs_backend
    import optimiser.model.network as network

    original = highs_backend.make_highs
    original_start = network.network_start

    def point_only(*args, **kwargs):
        start, info = original_start(*args, **kwargs)
        if start is not None:
            # (and the network's own certificate withheld, which would need no HiGHS)
            start = dataclasses.replace(start, col_status=None, row_status=None, duals=None)
        return start, info

    monkeypatch.setattr(network, "network_start", point_only)

    def limited(lp, options):
        h = original(lp, options)
        h.setOptionValue("simplex_strategy", 4)  # primal simplex
        h.setOptionValue("simplex_iteration_limit", 1)
        return h

    monkeypatch.setattr(highs_backend, "make_highs", limited)


@pytest.mark.parametrize("decompose", ["auto", "never"])
def test_stopped_at_a_limit_with_a_point_is_feasible_checked_and_usable(
        generated_small, highs_stopped_reference, highs_stops_after, decompose):
    plan = solve(generated_small, decompose=decompose)
    assert plan.status == "feasible"
    assert "kIterationLimit" in str(plan.summary["solver"]["backend_status"])
    # the point went through repair and the independent check, and is a real plan
    assert plan.summary["check"]["ok"]
    assert check_plan(generated_small, plan.flows, plan.stock, plan.summary).ok
    assert plan.objective >= highs_stopped_reference * (1 - 1e-9)
    assert plan.objective == pytest.approx(plan.summary["check"]["objective"], rel=1e-9)
    assert plan.flows.num_rows > 0 and "message" not in plan.summary


@pytest.fixture(scope="module")
def highs_stopped_reference(generated_small):
    return solve(generated_small).objective


def test_cli_exits_0_with_status_feasible_at_a_limit(tmp_path, generated_small, highs_stops_after,
                                                     capsys):
    import json

    from optimiser.cli import main
    from optimiser.generate import generate_instance
    from optimiser.io import write_instance_tables

    meta, tables = generate_instance(suppliers=6, nodes=12, commodities=2, days=30, seed=7)
    (tmp_path / "inst").mkdir()
    write_instance_tables(meta, tables, tmp_path / "inst", "arrow")
    code = main(["solve", str(tmp_path / "inst"), "-o", str(tmp_path / "plan"), "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    doc = json.loads(out)
    assert doc["status"] == "feasible"
    summary = json.loads((tmp_path / "plan" / "summary.json").read_text())
    assert summary["status"] == "feasible" and summary["check"]["ok"]
    assert main(["check", str(tmp_path / "inst"), str(tmp_path / "plan")]) == 0
