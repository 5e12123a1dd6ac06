"""Infeasible instances: no contradictory plan tables, items a planner can act on, refusals."""

from __future__ import annotations

import json

import pytest

from optimiser.solve import solve
from optimiser.tables import make_instance

from .cli_helpers import run
from .lp_cases import one_supplier, two_suppliers

ITEM_KEYS = {"requirement", "node", "supplier", "commodity", "first_day", "last_day", "violation"}


def late_floor():
    """A hard floor of 10 from day 0, but the only lane takes 2 days: days 0-2 must give way."""
    return one_supplier(T=6, cap=5.0, lane_cost=0.0, lead=2,
                        node={"floor": 10.0, "readiness_hard": True})


def test_floor_items_grouped_with_why_and_fix():
    plan = solve(late_floor())
    assert plan.status == "infeasible"
    items = plan.summary["infeasibility"]["items"]
    assert len(items) == 1  # days 0, 1, 2 are one range
    it = items[0]
    assert ITEM_KEYS <= set(it)
    assert (it["requirement"], it["node"], it["supplier"], it["commodity"]) == \
        ("readiness_floor", "D", None, "A")
    assert (it["first_day"], it["last_day"]) == (0, 2)
    assert it["violation"] == pytest.approx(10.0)  # the largest over the days
    assert "before day 2" in it["why"]
    assert "lower the floor" in it["fix"] and "to at most 0" in it["fix"]
    assert "soft" in it["fix"] and "initial stock" in it["fix"]
    # every per-day row points at its item
    assert set(plan.infeasibility.column("item").to_pylist()) == {0}
    assert plan.infeasibility.num_rows == 3


def test_items_split_at_gaps_and_sorted_largest_first():
    floors = [{"node": "D", "commodity": "A", "day": d, "floor": f}
              for d, f in ((0, 4.0), (1, 0.0), (2, 0.0), (3, 0.0), (4, 9.0), (5, 9.0))]
    inst = one_supplier(T=6, cap=1.0, lane_cost=0.0, lead=2,
                        node={"floor": 0.0, "readiness_hard": True}, floors=floors)
    plan = solve(inst)
    assert plan.status == "infeasible"
    items = plan.summary["infeasibility"]["items"]
    assert [(i["first_day"], i["last_day"]) for i in items] == [(4, 5), (0, 0)]
    assert items[0]["violation"] >= items[1]["violation"]
    assert items[1]["violation"] == pytest.approx(4.0)


def test_contract_min_item_explains_the_horizon():
    plan = solve(two_suppliers(s2={"contract_min": 30.0}))  # 10/day, one day to dispatch
    (it,) = plan.summary["infeasibility"]["items"]
    assert (it["requirement"], it["supplier"], it["node"], it["first_day"]) == \
        ("contract_min", "S2", None, None)
    assert it["violation"] == pytest.approx(20.0)
    assert "at most 10" in it["why"]
    assert "lower contract_min of S2/A to 10" in it["fix"]


def test_storage_and_budget_fixes_name_the_number():
    plan = solve(one_supplier(node={"initial_stock": 10.0, "max_stock": 4.0}))
    it = plan.summary["infeasibility"]["items"][0]
    assert it["requirement"] == "storage" and "raise max_stock of D/A to at least 10" in it["fix"]
    plan = solve(two_suppliers(s2={"contract_min": 5.0}, budget=10.0))
    assert plan.status == "infeasible"
    text = json.dumps(plan.summary["infeasibility"]["items"])
    assert "contract_min" in text


def test_infeasible_plan_directory_holds_no_plan_tables(tmp_path, write_instance):
    inst = late_floor()
    d = write_instance({"name": "inf", "horizon_days": inst.horizon}, dict(inst.tables))
    p = run("solve", d, "-o", tmp_path / "plan", "--json", check_rc=3)
    doc = json.loads(p.stdout)
    assert doc["status"] == "infeasible" and doc["objective"] is None
    assert doc["plan_tables"] is False and doc["totals"] is None
    assert all(v is None for v in doc["breakdown"].values())  # no figures of a broken point
    items = doc["infeasibility"]["items"]
    assert items and ITEM_KEYS <= set(items[0]) and items[0]["why"] and items[0]["fix"]
    assert sorted(f.name for f in (tmp_path / "plan").iterdir()) == \
        ["infeasibility.arrow", "summary.json"]
    on_disk = json.loads((tmp_path / "plan" / "summary.json").read_text())
    assert on_disk["infeasibility"]["items"] == items
    # human output: grouped, with why and fix
    p = run("solve", d, "-o", tmp_path / "plan2", check_rc=3)
    assert "days 0-2" in p.stdout and "why:" in p.stdout and "fix:" in p.stdout
    assert p.stdout.count("readiness_floor") == 1


def test_check_refuses_a_plan_that_is_not_optimal(tmp_path, write_instance):
    inst = late_floor()
    d = write_instance({"name": "inf", "horizon_days": inst.horizon}, dict(inst.tables))
    run("solve", d, "-o", tmp_path / "plan", check_rc=3)
    p = run("check", d, tmp_path / "plan", check_rc=2)
    assert "infeasible" in p.stderr and "--allow-nonoptimal" in p.stderr
    assert "Traceback" not in p.stderr
    # allowed, it still has nothing to check: a clear exit 2, not a crash
    p = run("check", d, tmp_path / "plan", "--allow-nonoptimal", check_rc=2)
    assert "no plan tables" in p.stderr


def test_require_usable_api(tmp_path):
    from optimiser.errors import PlanNotUsableError, UsageError
    from optimiser.plan import require_usable

    plan = solve(late_floor())
    with pytest.raises(PlanNotUsableError, match="infeasible") as e:
        require_usable(plan, what="evaluate")
    assert isinstance(e.value, UsageError)  # exit 2 on the command line
    assert "lower the floor" in str(e.value)
    assert require_usable(plan, allow_nonoptimal=True) == "infeasible"
    plan.write(tmp_path / "p")
    with pytest.raises(PlanNotUsableError):
        require_usable(tmp_path / "p")
    with pytest.raises(PlanNotUsableError):
        require_usable({"status": "no_solution"})
    assert require_usable({"status": "feasible"}) == "feasible"


def test_no_plan_tables_for_no_solution(tmp_path):
    from optimiser.plan import Plan
    from optimiser.status import Status

    inst = make_instance("x", 2, suppliers=[], nodes=[], lanes=[])
    import numpy as np
    p = Plan(instance=inst, status=Status.NO_SOLUTION, x=np.zeros((0, 2)), s=np.zeros((0, 2)),
             u=np.zeros((0, 2)), r=np.zeros((0, 2)), summary={"status": "no_solution"})
    assert p.tables() == {}


def test_evaluate_refuses_a_plan_that_is_not_optimal(tmp_path, write_instance):
    """`evaluate` (CLI and API) refuses an infeasible plan, exit 2 before any work, naming
    the status and the way out; nothing is written."""
    import optimiser
    from optimiser.errors import PlanNotUsableError

    inst = late_floor()
    d = write_instance({"name": "inf", "horizon_days": inst.horizon}, dict(inst.tables))
    run("solve", d, "-o", tmp_path / "plan", check_rc=3)
    p = run("evaluate", d, tmp_path / "plan", "-o", tmp_path / "ev", "--scenarios", 10,
            check_rc=2)
    assert "status infeasible" in p.stderr and "--allow-nonoptimal" in p.stderr
    assert "Traceback" not in p.stderr and not (tmp_path / "ev").exists()
    plan = solve(inst)
    with pytest.raises(PlanNotUsableError, match="no plan to evaluate"):
        optimiser.evaluate(inst, plan, scenarios=5)
