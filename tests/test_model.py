"""The LP: known optima by hand, backends agreeing, duals by KKT, checker catching tampering."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from optimiser.check import check_plan
from optimiser.model import build_lp, lp_size
from optimiser.model.duals import kkt_check
from optimiser.solve import solve

from .lp_cases import CASES, SHADOW, one_supplier

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


@pytest.mark.parametrize("case", sorted(CASES))
def test_lp_size_matches_built_model(case):
    inst = CASES[case][0]()
    assert lp_size(inst) == build_lp(inst).size


@pytest.mark.parametrize("case,kind,value", SHADOW)
def test_shadow_prices(case, kind, value):
    plan = solve(CASES[case][0]())
    sp = plan.shadow_prices.to_pylist()
    assert plan.summary["duals"]["kkt"]["ok"]
    got = [r["value"] for r in sp if r["constraint"] == kind]
    assert got and max(got) == pytest.approx(value)


def test_highs_through_ortools_duals_are_rejected_and_rederived():
    plan = solve(CASES["supplier_capacity"][0](), solver="highs-ortools")
    assert "duals_rejected" in plan.summary
    assert plan.summary["duals"]["source"] in ("highs", "glop")
    assert any(r["constraint"] == "supplier_capacity" for r in plan.shadow_prices.to_pylist())


def test_kkt_rejects_wrong_duals():
    """The HiGHS-through-OR-Tools failure mode: row activities handed back as duals."""
    from optimiser.model.backends import SolverOptions, get_backend

    lp = build_lp(CASES["supplier_capacity"][0]())
    sol = get_backend("glop").solve(lp, SolverOptions(solver="glop"))
    assert kkt_check(lp, sol.values, sol.duals).ok
    assert not kkt_check(lp, sol.values, lp.A @ sol.values).ok


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


def test_time_limit_never_claims_optimal(generated_medium):
    for solver in ("highs", "glop", "pdlp"):
        plan = solve(generated_medium, solver=solver, time_limit=0.01)
        assert plan.status in ("feasible", "no_solution"), solver
        if plan.status == "feasible":
            assert plan.summary["check"]["ok"]


def test_plan_round_trip(tmp_path, generated_small):
    from optimiser.plan import read_plan

    plan = solve(generated_small)
    plan.write(tmp_path / "plan")
    back = read_plan(tmp_path / "plan", generated_small)
    np.testing.assert_array_equal(back.x, plan.x)
    np.testing.assert_array_equal(back.u, plan.u)
    np.testing.assert_array_equal(back.s, plan.s)
    assert back.shadow_prices.equals(plan.shadow_prices)
    with pytest.raises(Exception, match="exists"):
        plan.write(tmp_path / "plan")


@pytest.fixture(scope="module")
def generated_small():
    from optimiser import Instance
    from optimiser.generate import generate_instance

    meta, tables = generate_instance(suppliers=6, nodes=12, commodities=2, days=30, seed=7)
    return Instance.from_tables(meta, tables)


@pytest.fixture(scope="module")
def generated_medium():
    from optimiser import Instance
    from optimiser.generate import generate_instance

    meta, tables = generate_instance(suppliers=20, nodes=70, commodities=2, days=120, seed=3)
    return Instance.from_tables(meta, tables)


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


def test_decomposition_with_custom_map(generated_small):
    calls = []

    def serial_map(fn, items):
        items = list(items)
        calls.append(len(items))
        return [fn(i) for i in items]

    plan = solve(generated_small, map=serial_map)
    assert calls == [len(generated_small.commodities)]
    assert plan.status == "optimal"


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


def test_network_warm_start_is_exact(generated_small):
    from optimiser.model.network import network_point

    ref = solve(generated_small, method="simplex", decompose="never")
    plan = solve(generated_small, method="network")
    assert plan.objective == pytest.approx(ref.objective, rel=1e-9)
    assert plan.summary["check"]["ok"] and plan.summary["duals"]["kkt"]["ok"]
    blocks = plan.summary["solver"]["blocks"]
    assert all(b["network_status"] == "OPTIMAL" and b["highs_method"] == "warm simplex"
               for b in blocks)
    # the network point alone is already optimal when the data scale exactly
    lp = build_lp(generated_small)
    point, info = network_point(generated_small, lp)
    assert info["exact_scaling"]
    assert float(lp.vars.cost @ point) == pytest.approx(ref.objective, rel=1e-9)


@pytest.mark.parametrize("case", sorted(CASES))
def test_network_path_on_hand_cases(case):
    make, objective, _ = CASES[case]
    plan = solve(make(), method="network")
    assert plan.objective == pytest.approx(objective, rel=1e-9, abs=1e-9)


def test_network_not_used_with_budget():
    from .lp_cases import two_suppliers

    plan = solve(two_suppliers(s1={"daily_capacity": 10.0}, budget=8.0, demand=10.0),
                 method="network")  # the budget binds: joint LP, no network structure
    assert "network_status" not in plan.summary["solver"]
    assert plan.summary["solver"]["highs_method"] == "simplex"
    assert plan.objective == pytest.approx(208.0)


def test_commodity_held_by_no_node_with_contract_min_is_infeasible():
    """Decomposition must not drop a commodity that only a supplier has (SPEC: contract row)."""
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


@pytest.mark.parametrize("seed", range(8))
def test_network_path_matches_joint_lp_on_random_instances(seed):
    """Random generated instances, some floors made hard: network+polish == joint simplex."""
    import dataclasses

    from optimiser import Instance
    from optimiser.generate import generate_instance

    meta, tables = generate_instance(suppliers=3 + seed % 3, nodes=6 + seed, commodities=1 + seed % 3,
                                     days=12 + 3 * seed, seed=100 + seed)
    inst = Instance.from_tables(meta, tables)
    rng = np.random.default_rng(seed)
    hard = rng.random(inst.n_pairs) < 0.3
    inst = dataclasses.replace(inst, readiness_hard=hard,
                               initial_stock=inst.initial_stock + np.where(hard, inst.floor.max(axis=1), 0.0))
    fast = solve(inst)
    joint = solve(inst, decompose="never", method="simplex")
    assert fast.status == joint.status
    if joint.status == "optimal":
        assert fast.objective == pytest.approx(joint.objective, rel=1e-9)
        assert fast.summary["check"]["ok"] and fast.summary["duals"]["kkt"]["ok"]


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


def test_network_coarsens_cost_scale_instead_of_giving_up(generated_small, monkeypatch):
    import optimiser.model.network as net

    lp = build_lp(generated_small)
    exact, info = net.network_point(generated_small, lp)
    assert info["cost_scale"] > 1
    monkeypatch.setattr(net, "_INT_LIMIT", 2**30)  # pretend int64 were much smaller
    point, info2 = net.network_point(generated_small, lp)
    assert point is not None and info2["cost_scale"] < info["cost_scale"]
    assert not info2["exact_scaling"]
    ref = float(lp.vars.cost @ exact)
    assert float(lp.vars.cost @ point) == pytest.approx(ref, rel=1e-3)  # near-optimal start
    plan = solve(generated_small)  # the polish makes it exact either way
    assert plan.objective == pytest.approx(ref, rel=1e-9)
