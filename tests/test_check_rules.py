"""The independent checker: each rule fires alone on a hand-tampered plan and names its place."""

from __future__ import annotations

import numpy as np
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


# ---------------------------------------------------------------- one rule at a time
# A hand-made instance and plan tables written by hand (not by the engine's plan code):
# S1 and S2 sell A; lanes S1->D (lead 1, at most 8 a day, 0.5 a unit), S2->D (lead 1),
# H->D (lead 1); D needs 6 on day 2; H holds a hard floor of 2 and starts with 2.
T = 4
HOLD, PEN, READY = 0.1, 100.0, 7.0
PRICE = {"S1": 1.0, "S2": 5.0, "H": 0.0}
LANE_COST = {"S1": 0.5, "S2": 0.0, "H": 0.25}
DEMAND = {("D", 2): 6.0}
INITIAL = {"D": 0.0, "H": 2.0}
FLOOR = {"D": 1.0, "H": 2.0}
HARD = {"D": False, "H": True}


def rule_instance(budget=None, max_stock=15.0):
    from optimiser.tables import make_instance

    return make_instance(
        "rules", T, budget=budget,
        suppliers=[{"supplier": "S1", "commodity": "A", "unit_price": 1.0, "daily_capacity": 10.0,
                    "contract_min": 2.0, "contract_max": 14.0},
                   {"supplier": "S2", "commodity": "A", "unit_price": 5.0, "daily_capacity": 10.0}],
        nodes=[{"node": "D", "commodity": "A", "max_stock": max_stock, "holding_cost": HOLD,
                "shortfall_penalty": PEN, "floor": FLOOR["D"], "readiness_penalty": READY},
               {"node": "H", "commodity": "A", "initial_stock": 2.0, "floor": 2.0,
                "readiness_hard": True, "holding_cost": HOLD, "shortfall_penalty": PEN}],
        lanes=[{"origin": "S1", "destination": "D", "commodity": "A", "lead_time_days": 1,
                "unit_cost": 0.5, "daily_capacity": 8.0},
               {"origin": "S2", "destination": "D", "commodity": "A", "lead_time_days": 1},
               {"origin": "H", "destination": "D", "commodity": "A", "lead_time_days": 1,
                "unit_cost": 0.25}],
        demand=[{"node": "D", "commodity": "A", "day": 2, "quantity": 6.0}])


def by_balance(flows: dict, unmet: dict) -> dict:
    """End-of-day stock per (node, day) from the flows, day by day, as a planner would."""
    stock, prev = {}, dict(INITIAL)
    for t in range(T):
        for n in ("D", "H"):
            inflow = sum(q for (o, d), q in flows.items() if n == "D" and d + 1 == t)
            outflow = sum(q for (o, d), q in flows.items() if o == n and d == t)
            use = DEMAND.get((n, t), 0.0) - unmet.get((n, t), 0.0)
            stock[n, t] = prev[n] + inflow - outflow - use
            prev[n] = stock[n, t]
    return stock


def hand_objective(flows: dict, stock: dict, unmet: dict) -> float:
    """The objective by hand: price and lane cost per unit, holding, penalties."""
    total = sum((PRICE[o] + LANE_COST[o]) * q for (o, _), q in flows.items())
    total += sum(HOLD * s for s in stock.values())
    total += sum(PEN * u for u in unmet.values())
    total += sum(READY * max(FLOOR[n] - s, 0.0) for (n, _), s in stock.items() if not HARD[n])
    return total


def plan_tables(flows: dict, stock: dict | None = None, unmet: dict | None = None,
                demand: dict | None = None, floor: dict | None = None):
    """flows {(origin, depart_day): quantity} -> (flows table, stock table)."""
    unmet = unmet or {}
    stock = stock if stock is not None else by_balance(flows, unmet)
    f = pa.table({"origin": [o for o, _ in flows], "destination": ["D"] * len(flows),
                  "commodity": ["A"] * len(flows), "mode": [""] * len(flows),
                  "depart_day": pa.array([d for _, d in flows], pa.int32()),
                  "arrive_day": pa.array([d + 1 for _, d in flows], pa.int32()),
                  "quantity": pa.array(list(flows.values()), pa.float64())})
    keys = [(n, t) for n in ("D", "H") for t in range(T)]
    dem = {k: DEMAND.get(k, 0.0) for k in keys} | (demand or {})
    fl = {(n, t): FLOOR[n] for n, t in keys} | (floor or {})
    s = pa.table({"node": [n for n, _ in keys], "commodity": ["A"] * len(keys),
                  "day": pa.array([t for _, t in keys], pa.int32()),
                  "stock": [stock[k] for k in keys], "floor": [fl[k] for k in keys],
                  "demand": [dem[k] for k in keys], "unmet": [unmet.get(k, 0.0) for k in keys]})
    return f, s


BASE = {("S1", 0): 6.0, ("S1", 1): 1.0}  # D: 0, 6, 1, 1 at the end of days 0..3


def check_tampered(flows: dict, *, stock=None, unmet=None, budget=None, max_stock=15.0,
                   objective=None, **cols):
    inst = rule_instance(budget=budget, max_stock=max_stock)
    unmet = unmet or {}
    s = stock if stock is not None else by_balance(flows, unmet)
    f, st = plan_tables(flows, s, unmet, **cols)
    obj = hand_objective(flows, s, unmet) if objective is None else objective
    return check_plan(inst, f, st, {"objective": obj})


def fired(rep) -> list[str]:
    return sorted(k for k, v in rep.violations.items() if v.count)


def test_hand_made_plan_passes_every_rule():
    rep = check_tampered(BASE)
    assert rep.ok and fired(rep) == [] and rep.errors == [], rep.worst()
    assert rep.objective == pytest.approx(hand_objective(BASE, by_balance(BASE, {}), {}))
    assert rep.breakdown["procurement"] == pytest.approx(7.0)
    assert rep.breakdown["transport"] == pytest.approx(3.5)
    # D is below its soft floor 1 on day 0 only (stock 0): 1 unit x 7
    assert rep.breakdown["readiness_penalty"] == pytest.approx(7.0)
    assert rep.breakdown["holding"] == pytest.approx(HOLD * (0 + 6 + 1 + 1 + 2 * 4))
    assert rep.breakdown["shortfall_penalty"] == 0.0
    # every rule was evaluated and found nothing
    assert {"flow_nonnegative", "lane_capacity", "supplier_capacity", "contract_min",
            "contract_max", "balance", "stock_nonnegative", "max_stock", "hard_floor",
            "unmet_range", "demand_column", "floor_column", "objective"} <= set(rep.violations)


# (rule, tampered flows, keywords, expected place, expected relative amount, places over)
RULES = [
    ("lane_capacity", {("S1", 0): 9.0, ("S1", 1): 1.0}, {}, "lane S1->D A day 0", 1.0 / 8.0, 1),
    ("supplier_capacity", BASE | {("S2", 1): 11.0}, {}, "supplier S2/A day 1", 1.0 / 10.0, 1),
    ("contract_min", {("S1", 0): 1.0}, {"unmet": {("D", 2): 5.0}}, "supplier S1/A", 1.0 / 2.0, 1),
    ("contract_max", {("S1", 0): 8.0, ("S1", 1): 7.0}, {"max_stock": 20.0}, "supplier S1/A",
     1.0 / 14.0, 1),
    ("budget", BASE | {("S2", 0): 1.0}, {"budget": 10.0}, "budget", 2.0 / 10.0, 1),
    ("flow_nonnegative", {("S1", 0): 8.0, ("S1", 1): -1.0}, {}, "lane S1->D A day 1", 1.0, 1),
    ("stock_nonnegative", {("S1", 2): 2.0}, {}, "D/A day 2", 6.0, 2),
    ("max_stock", BASE | {("S2", 0): 10.0}, {}, "D/A day 1", 1.0 / 15.0, 1),
    ("hard_floor", BASE | {("H", 1): 1.5}, {}, "H/A day 1", 1.5 / 2.0, 3),
    ("unmet_range", BASE, {"unmet": {("D", 2): 7.0}}, "D/A day 2", 1.0 / 6.0, 1),
    ("demand_column", BASE, {"demand": {("D", 2): 5.0}}, "D/A day 2", 1.0 / 6.0, 1),
    ("floor_column", BASE, {"floor": {("H", 3): 3.5}}, "H/A day 3", 1.5 / 2.0, 1),
]


@pytest.mark.parametrize("rule, flows, kw, place, amount, count", RULES, ids=[r[0] for r in RULES])
def test_each_rule_fires_alone_and_names_its_place(rule, flows, kw, place, amount, count):
    rep = check_tampered(flows, **kw)
    assert not rep.ok
    assert fired(rep) == [rule], rep.worst()
    v = rep.violations[rule]
    assert v.where == place
    assert v.amount == pytest.approx(amount)
    assert v.count == count
    assert rep.errors == []
    assert rule in rep.worst() and place in rep.worst()


def test_negative_unmet_fires_unmet_range_alone():
    rep = check_tampered(BASE, unmet={("D", 1): -0.5})
    assert fired(rep) == ["unmet_range"], rep.worst()
    assert rep.violations["unmet_range"].where == "D/A day 1"
    assert rep.violations["unmet_range"].amount == pytest.approx(0.5)


def test_balance_fires_alone_when_the_objective_agrees():
    flows = BASE
    stock = by_balance(flows, {})
    stock["D", 3] += 2.0  # two units appear from nowhere on day 3
    rep = check_tampered(flows, stock=stock)  # objective recomputed by hand on this stock
    assert fired(rep) == ["balance"], rep.worst()
    assert rep.violations["balance"].where == "D/A day 3"
    assert rep.violations["balance"].amount == pytest.approx(2.0 / 1.0)
    assert rep.violations["balance"].count == 1


def test_objective_fires_alone_and_reports_both_values():
    stock = by_balance(BASE, {})
    right = hand_objective(BASE, stock, {})
    rep = check_tampered(BASE, objective=right * 1.01)
    assert fired(rep) == ["objective"], rep.worst()
    assert rep.objective == pytest.approx(right)
    assert rep.reported_objective == pytest.approx(right * 1.01)
    assert rep.violations["objective"].amount == pytest.approx(0.01 * right / right)
    assert "reported" in rep.violations["objective"].where
    assert rep.violations["objective"].kind == "objective"
    assert rep.worst().startswith("objective: ")
    assert check_tampered(BASE).worst() == "no violation"
    # within the tolerance: accepted
    assert check_tampered(BASE, objective=right * (1 + 1e-8)).ok


def test_tolerance_is_relative_to_the_limit():
    # 8 * (1 + 1e-7) on a lane of capacity 8: within 1e-6 relative
    ok = check_tampered({("S1", 0): 8.0 * (1 + 1e-7)} | {("S1", 1): 1.0})
    assert fired(ok) == [] and ok.ok
    bad = check_tampered({("S1", 0): 8.0 * (1 + 1e-5)} | {("S1", 1): 1.0})
    assert fired(bad) == ["lane_capacity"]


@pytest.mark.parametrize("change, fragment", [
    (lambda f: f.set_column(0, "origin", pa.array(["S9", "S1"])), "row 0: no such lane"),
    (lambda f: f.set_column(5, "arrive_day", pa.array([1, 3], pa.int32())),
     "row 1: depart_day 1 / arrive_day 3 do not fit lead time 1"),
    (lambda f: f.set_column(6, "quantity", pa.array([6.0, float("nan")])), "row 1: quantity not finite"),
])
def test_structural_flow_errors_are_named_by_row(change, fragment):
    inst = rule_instance()
    f, s = plan_tables(BASE)
    rep = check_plan(inst, change(f), s)
    assert not rep.ok and any(fragment in e for e in rep.errors), rep.errors


def test_duplicate_and_unknown_stock_rows_are_named():
    inst = rule_instance()
    f, s = plan_tables(BASE)
    dup = pa.concat_tables([s, s.slice(2, 1)])
    rep = check_plan(inst, f, dup)
    assert not rep.ok and any("D/A day 2 appears 2 times" in e for e in rep.errors), rep.errors
    bad = s.set_column(0, "node", pa.array(["D"] * 4 + ["X"] + ["H"] * 3))
    rep = check_plan(inst, f, bad)
    assert not rep.ok and any("stock row 4: unknown" in e for e in rep.errors), rep.errors
    assert any("appears 0 times" in e for e in rep.errors)
    nan = s.set_column(3, "stock", pa.array([0.0, 6.0, float("nan"), 1.0, 2, 2, 2, 2]))
    rep = check_plan(inst, f, nan)
    assert not rep.ok and any("null/NaN" in e for e in rep.errors)


@pytest.mark.parametrize("table, column", [("flows", "quantity"), ("stock", "unmet")])
def test_missing_columns_are_refused(table, column):
    from optimiser.errors import InvalidPlanError

    inst = rule_instance()
    f, s = plan_tables(BASE)
    if table == "flows":
        f = f.drop_columns([column])
    else:
        s = s.drop_columns([column])
    with pytest.raises(InvalidPlanError, match=f"{table} table lacks column '{column}'"):
        check_plan(inst, f, s)
    with pytest.raises(InvalidPlanError, match="no stock"):
        check_plan(inst, plan_tables(BASE)[0], None)


def test_report_as_dict_names_every_rule():
    rep = check_tampered({("S1", 0): 9.0, ("S1", 1): 1.0})
    d = rep.as_dict()
    assert d["ok"] is False and d["tolerance"] == 1e-6
    assert d["violations"]["lane_capacity"] == {"max": pytest.approx(1 / 8),
                                                "where": "lane S1->D A day 0", "count": 1}
    assert d["violations"]["balance"]["count"] == 0 and d["violations"]["balance"]["where"] == "-"
    assert d["objective"] == pytest.approx(rep.objective)


def test_unknown_lane_named_on_its_own_row():
    inst = rule_instance()
    f, s = plan_tables(BASE)  # row 0 is lane S1->D (lane 0), row 1 is made unknown
    rep = check_plan(inst, f.set_column(0, "origin", pa.array(["S1", "S9"])), s)
    assert rep.errors[0] == "flows row 1: no such lane in the instance"


def test_null_depart_day_is_named_as_day_minus_one():
    inst = rule_instance()
    f, s = plan_tables(BASE)
    f = f.set_column(4, "depart_day", pa.array([0, None], pa.int32()))
    rep = check_plan(inst, f, s)
    assert not rep.ok
    assert rep.errors == ["flows row 1: depart_day -1 / arrive_day 2 do not fit lead time 1 "
                          "within days 0..3"]


def test_an_empty_rule_reports_nothing_at_no_place():
    from optimiser.check import CheckReport, Violation, _worst

    rep = CheckReport(ok=True, tolerance=1e-6)
    _worst(rep, "contract_max", np.zeros(0), np.zeros(0), lambda k: "never called")
    assert rep.violations == {"contract_max": Violation("contract_max", 0.0, "-", 0)}


def test_report_as_dict_carries_errors_and_breakdown():
    inst = rule_instance()
    f, s = plan_tables(BASE)
    rep = check_plan(inst, f.set_column(0, "origin", pa.array(["S1", "S9"])), s)
    d = rep.as_dict()
    assert set(d) == {"ok", "tolerance", "objective", "reported_objective", "breakdown",
                      "errors", "violations"}
    assert d["errors"] == ["flows row 1: no such lane in the instance"]
    assert d["breakdown"] == rep.breakdown and d["reported_objective"] is None


@pytest.mark.parametrize("fmt", ["arrow", "parquet"])
def test_plan_directory_checked_with_the_tolerance_given(tmp_path, fmt):
    """check_plan on a directory (any tool's, either format) honours tolerance and reads the
    stock and summary beside the flows."""
    import json

    from optimiser.check import check_plan_dir
    from optimiser.io import write_table

    inst = rule_instance()
    f, s = plan_tables(BASE)
    right = hand_objective(BASE, by_balance(BASE, {}), {})
    d = tmp_path / "plan"
    d.mkdir()
    write_table(f, d / f"flows.{fmt}")
    write_table(s, d / f"stock.{fmt}")
    (d / "summary.json").write_text(json.dumps({"status": "optimal",
                                                "objective": right * (1 + 1e-4)}))
    rep = check_plan(inst, d)
    assert not rep.ok and fired(rep) == ["objective"]
    assert rep.reported_objective == pytest.approx(right * (1 + 1e-4))
    assert check_plan(inst, d, tolerance=1e-3).ok
    assert check_plan(inst, str(d), tolerance=1e-3).tolerance == 1e-3
    assert check_plan_dir(inst, d, tolerance=1e-3).ok
    # the stock table is read, not rebuilt: a tampered stock fires the balance rule
    bad = s.set_column(3, "stock", pa.array([0.0, 6.0, 1.0, 3.0, 2, 2, 2, 2]))
    write_table(bad, d / f"stock.{fmt}")
    assert "balance" in fired(check_plan(inst, d, tolerance=1e-3))


def test_worst_lists_errors_first_then_rules_by_size():
    flows = {("S1", 0): 9.0, ("S1", 1): 1.0}  # lane S1->D: 9 on a capacity of 8
    right = hand_objective(flows, by_balance(flows, {}), {})
    rep = check_tampered(flows, objective=2 * right)
    parts = rep.worst().split("; ")
    # |2 right - right| / right = 1
    assert parts[0] == f"objective: 1 at reported {2 * right!r} vs recomputed {right!r} (1 places)"
    assert parts[1] == "lane_capacity: 0.125 at lane S1->D A day 0 (1 places)"
    assert len(parts) == 2
    inst = rule_instance()
    f, s = plan_tables(flows)
    rep = check_plan(inst, f.set_column(0, "origin", pa.array(["S9", "S1"])), s)
    assert rep.worst().split("; ")[0] == "flows row 0: no such lane in the instance"


def test_a_violation_exactly_at_the_tolerance_is_accepted():
    from optimiser.check import CheckReport, _worst

    rep = CheckReport(ok=True, tolerance=1e-6)
    _worst(rep, "lane_capacity", np.array([1e-6, 0.0]), np.array([1.0, 1.0]), lambda k: "x")
    assert rep.violations["lane_capacity"].count == 0
    assert rep.violations["lane_capacity"].amount == 1e-6
