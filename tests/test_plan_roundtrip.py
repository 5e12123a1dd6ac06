"""Plan directories: written and read back to the same arrays and tables; plans from
other tools (no stock column, Parquet-free minimal flows) read; mistakes named by file
and row. (Behaviour of optimiser/plan.py users rely on; mutation-tested.)"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from optimiser.errors import InvalidPlanError
from optimiser.io import write_table
from optimiser.plan import (
    FLOWS_SCHEMA,
    STOCK_SCHEMA,
    as_plan,
    flows_table,
    plan_arrays_from_tables,
    read_plan,
    stock_table,
)
from optimiser.solve import solve

from .lp_cases import CASES


@pytest.fixture(scope="module")
def solved(generated_small):
    return solve(generated_small)


def test_plan_round_trip(tmp_path, generated_small):
    plan = solve(generated_small)
    plan.write(tmp_path / "plan")
    back = read_plan(tmp_path / "plan", generated_small)
    np.testing.assert_array_equal(back.x, plan.x)
    np.testing.assert_array_equal(back.u, plan.u)
    np.testing.assert_array_equal(back.s, plan.s)
    assert back.shadow_prices.equals(plan.shadow_prices)
    with pytest.raises(Exception, match="exists"):
        plan.write(tmp_path / "plan")


def test_round_trip_keeps_every_column_status_and_summary(tmp_path, solved, generated_small):
    solved.write(tmp_path / "p")
    names = {p.name for p in (tmp_path / "p").iterdir()}
    assert {"flows.arrow", "stock.arrow", "shadow_prices.arrow", "summary.json"} <= names
    back = read_plan(tmp_path / "p", generated_small)
    assert back.status == solved.status == "optimal"
    assert back.objective == pytest.approx(solved.objective, rel=1e-12)
    assert back.breakdown == pytest.approx(solved.breakdown)
    np.testing.assert_array_equal(back.r, solved.r)
    assert back.flows.equals(solved.flows) and back.stock.equals(solved.stock)
    assert back.flows.schema == FLOWS_SCHEMA and back.stock.schema == STOCK_SCHEMA
    summary = json.loads((tmp_path / "p" / "summary.json").read_text())
    assert summary["status"] == "optimal" and summary["objective"] == solved.objective
    assert as_plan(solved, generated_small) is solved
    assert as_plan(tmp_path / "p", generated_small).objective == back.objective
    solved.write(tmp_path / "p", force=True)  # replaced atomically


def test_tables_hold_only_dispatches_and_every_stock_row(solved, generated_small):
    inst = generated_small
    f = flows_table(inst, solved.x)
    assert f.num_rows == int((solved.x > 0).sum())
    assert (np.asarray(f.column("quantity")) > 0).all()
    lead = np.asarray(f.column("arrive_day")) - np.asarray(f.column("depart_day"))
    assert (lead >= 0).all()
    st = stock_table(inst, solved.s, solved.u)
    assert st.num_rows == inst.n_pairs * inst.horizon
    np.testing.assert_array_equal(np.asarray(st.column("below_floor")),
                                  np.maximum(inst.floor - solved.s, 0.0).ravel())
    np.testing.assert_array_equal(np.asarray(st.column("demand")), inst.demand.ravel())
    np.testing.assert_array_equal(np.asarray(st.column("floor")), inst.floor.ravel())
    assert solved.tables().keys() >= {"flows", "stock", "shadow_prices"}


def test_a_plan_from_another_tool_without_stock_is_replayed(tmp_path):
    inst = CASES["transshipment"][0]()
    plan = solve(inst)
    d = tmp_path / "other"
    d.mkdir()
    write_table(plan.flows.select(["origin", "destination", "commodity", "depart_day",
                                   "arrive_day", "quantity"]), d / "flows.arrow")
    back = read_plan(d, inst)
    # no summary.json: taken as feasible (docs/OUTPUTS.md), so check and evaluate verify it
    assert back.status == "feasible" and back.summary == {}
    np.testing.assert_array_equal(back.x, plan.x)
    np.testing.assert_allclose(back.s, plan.s)  # stock follows from the flows
    np.testing.assert_array_equal(back.u, 0.0)
    x, s, u = plan_arrays_from_tables(inst, plan.flows, None)
    assert s is None and np.array_equal(x, plan.x)


def test_duplicate_flow_rows_add_up():
    inst = CASES["transshipment"][0]()
    plan = solve(inst)
    f = pa.concat_tables([plan.flows, plan.flows])
    x, _, _ = plan_arrays_from_tables(inst, f, plan.stock)
    np.testing.assert_allclose(x, 2 * plan.x)


@pytest.mark.parametrize("change, fragment", [
    (lambda f, s: (f.set_column(0, "origin", pa.array(["nobody"] * f.num_rows)), s),
     "flows row 0: no lane"),
    (lambda f, s: (f.set_column(4, "depart_day", pa.array([99] * f.num_rows, pa.int32())), s),
     "flows row 0: depart_day 99 outside 0..2"),
    (lambda f, s: (f.drop_columns(["quantity"]), s), "flows table lacks column(s) quantity"),
    (lambda f, s: (f, s.drop_columns(["unmet"])), "stock table lacks column(s) unmet"),
    (lambda f, s: (f, s.set_column(2, "day", pa.array([0, 1, 7] + [0] * (s.num_rows - 3),
                                                        pa.int32()))),
     "stock row 2: no (node, commodity, day)"),
])
def test_plan_mistakes_are_named_by_table_and_row(change, fragment):
    inst = CASES["transshipment"][0]()
    plan = solve(inst)
    f, s = change(plan.flows, plan.stock)
    with pytest.raises(InvalidPlanError) as e:
        plan_arrays_from_tables(inst, f, s)
    assert fragment in str(e.value)


def test_not_a_plan_directory(tmp_path):
    inst = CASES["transshipment"][0]()
    with pytest.raises(InvalidPlanError, match="has no flows.arrow"):
        read_plan(tmp_path, inst)
    (tmp_path / "flows.arrow").write_bytes(b"not arrow")
    with pytest.raises(InvalidPlanError, match="cannot read .*flows.arrow"):
        read_plan(tmp_path, inst)


# ---------------------------------------------------------------- tables to the cell
def test_orders_and_flows_rows_by_hand():
    # buy 5 from S at 2 on day 0 (lead 1, lane cost 0.5) for the demand of 5 on day 1
    plan = solve(CASES["procurement_transport"][0]())
    assert plan.orders.to_pylist() == [{
        "supplier": "S", "commodity": "A", "destination": "D", "mode": "", "order_day": 0,
        "arrive_day": 1, "quantity": 5.0, "unit_price": 2.0, "cost": 10.0,
        "transport_cost": 2.5}]
    assert plan.flows.to_pylist() == [{
        "origin": "S", "destination": "D", "commodity": "A", "mode": "", "depart_day": 0,
        "arrive_day": 1, "quantity": 5.0}]


def test_days_below_floor_counts_a_fraction_of_a_unit():
    from optimiser.plan import plan_totals

    inst = CASES["readiness_penalised"][0]()  # floor 10 on D, 2 days, nothing to buy
    x = np.zeros((inst.n_lanes, inst.horizon))
    s = np.array([[9.5, 10.0]])  # half a unit short on day 0, at the floor on day 1
    t = plan_totals(inst, x, s, np.zeros_like(s))
    assert t["days_below_floor"] == 1 and t["below_floor_unit_days"] == pytest.approx(0.5)
    assert t["by_commodity"]["A"]["days_below_floor"] == 1
    # within the floor's tolerance (1e-6 relative): not broken
    t = plan_totals(inst, x, np.array([[10.0 - 1e-6, 10.0]]), np.zeros_like(s))
    assert t["days_below_floor"] == 0 and t["below_floor_unit_days"] == 0.0


def test_infeasible_plan_tables_hold_only_the_infeasibility(tmp_path):
    from optimiser.plan import Plan

    inst = CASES["transshipment"][0]()
    z = np.zeros((inst.n_pairs, inst.horizon))
    why = pa.table({"requirement": ["demand C/A day 2"]})
    plan = Plan(inst, "infeasible", np.zeros((inst.n_lanes, inst.horizon)), z, z, z,
                summary={"status": "infeasible"}, infeasibility=why)
    assert plan.tables() == {"infeasibility": why}
    plan.write(tmp_path / "p")
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["infeasibility.arrow",
                                                                 "summary.json"]
    summary = json.loads((tmp_path / "p" / "summary.json").read_text())
    assert summary["plan_tables"] is False and summary["timings"]["write"] >= 0
    # no flows and a status without a plan: refused as not usable, naming the status
    from optimiser.errors import PlanNotUsableError
    from optimiser.plan import read_plan_tables

    with pytest.raises(PlanNotUsableError, match="has status infeasible and holds no plan"):
        read_plan_tables(tmp_path / "p")
    # an optimal summary without flows is not a plan directory
    (tmp_path / "p" / "summary.json").write_text('{"status": "optimal"}')
    with pytest.raises(InvalidPlanError, match="has no flows.arrow or flows.parquet"):
        read_plan_tables(tmp_path / "p")


def test_parquet_plan_written_with_timings(tmp_path):
    plan = solve(CASES["transshipment"][0]())
    plan.summary.pop("timings", None)
    plan.write(tmp_path / "p", fmt="parquet")
    names = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert names == ["flows.parquet", "orders.parquet", "shadow_prices.parquet",
                     "stock.parquet", "summary.json"]
    summary = json.loads((tmp_path / "p" / "summary.json").read_text())
    assert summary["plan_tables"] is True and summary["timings"]["write"] >= 0


# ---------------------------------------------------------------- reading other tools' plans
def test_dictionary_encoded_names_and_an_empty_plan_read():
    inst = CASES["transshipment"][0]()
    plan = solve(inst)
    f = plan.flows
    for name in ("origin", "destination", "commodity", "mode"):
        j = f.schema.get_field_index(name)
        f = f.set_column(j, name, f.column(name).dictionary_encode())
    x, _, _ = plan_arrays_from_tables(inst, f, plan.stock)
    np.testing.assert_array_equal(x, plan.x)
    x, s, u = plan_arrays_from_tables(inst, plan.flows.slice(0, 0), plan.stock)
    assert not x.any() and s is not None


def test_lane_and_stock_ids_mark_the_unknown_with_minus_one():
    from optimiser.plan import lane_ids, stock_ids

    inst = CASES["transshipment"][0]()
    plan = solve(inst)
    f = plan.flows.set_column(0, "origin", pa.array(["S", "nobody"]))
    assert lane_ids(inst, f).tolist() == [0, -1]
    st = plan.stock.set_column(2, "day", pa.array([None] + [0] * (plan.stock.num_rows - 1),
                                                  pa.int32()))
    i, d = stock_ids(inst, st)
    assert d[0] == -1 and i[0] == 0
    from optimiser.tables import make_instance

    bare = make_instance("bare", 2, suppliers=[{"supplier": "S", "commodity": "A",
                                                "unit_price": 1.0, "daily_capacity": 1.0}],
                         nodes=[{"node": "D", "commodity": "A"}], lanes=[])
    assert lane_ids(bare, plan.flows).tolist() == [-1, -1]
    assert lane_ids(bare, plan.flows.slice(0, 0)).tolist() == []


def test_depart_day_on_the_horizon_is_refused():
    inst = CASES["transshipment"][0]()  # 3 days: 0..2
    plan = solve(inst)
    f = plan.flows.set_column(4, "depart_day", pa.array([3] * plan.flows.num_rows, pa.int32()))
    with pytest.raises(InvalidPlanError, match="flows row 0: depart_day 3 outside 0..2"):
        plan_arrays_from_tables(inst, f, plan.stock)


def test_rows_matched_without_the_int64_shortcut():
    from optimiser.plan import _match_rows

    keys = np.array([[5, 7], [1, 2], [9, 9]])
    query = np.array([[1, 2], [9, 9], [5, 8], [-1, 2], [5, 7]])
    big = [2 ** 40, 2 ** 40]  # radix product over 2**62: rows compared whole
    assert _match_rows(keys, query, big).tolist() == [1, 2, -1, -1, 0]
    assert _match_rows(keys, query, [10, 10]).tolist() == [1, 2, -1, -1, 0]


def test_status_and_usability_messages():
    from optimiser.errors import PlanNotUsableError
    from optimiser.plan import require_usable, status_of

    with pytest.raises(InvalidPlanError) as e:
        status_of({"status": "done"})
    assert str(e.value) == ("summary.json status 'done' is not one of optimal, feasible, "
                            "infeasible, no_solution, error")
    summary = {"status": "infeasible", "message": "demand cannot be met",
               "infeasibility": {"items": [{"why": "C/A day 2 needs 4", "fix": "raise S"}]}}
    with pytest.raises(PlanNotUsableError) as e:
        require_usable(summary, what="evaluate")
    assert str(e.value) == (
        "the plan has status infeasible, so there is no plan to evaluate (demand cannot be "
        "met); first to give way: C/A day 2 needs 4 — raise S; fix the instance and solve "
        "again, or allow non-optimal plans (allow_nonoptimal=True) to proceed anyway")
    assert require_usable(summary, allow_nonoptimal=True) == "infeasible"
    assert require_usable({"status": "optimal"}) == "optimal"


def test_summary_file_mistakes_are_named(tmp_path):
    from optimiser.plan import read_summary

    assert read_summary(tmp_path) is None
    (tmp_path / "summary.json").write_text("{not json")
    with pytest.raises(InvalidPlanError, match=r"cannot read .*summary.json"):
        read_summary(tmp_path)
    (tmp_path / "summary.json").write_text("[1, 2]")
    with pytest.raises(InvalidPlanError, match=r"summary.json must hold a JSON object"):
        read_summary(tmp_path)
    (tmp_path / "summary.json").write_text('{"status": "optimal"}')
    assert read_summary(tmp_path) == {"status": "optimal"}


def test_plan_repr_and_which_plans_have_tables():
    from optimiser.plan import Plan

    plan = solve(CASES["transshipment"][0]())
    assert repr(plan) == "Plan('ship', status='optimal', objective=5.00)"
    z = np.zeros((plan.instance.n_pairs, plan.instance.horizon))
    bare = Plan(plan.instance, "error", plan.x, z, z, z)
    assert repr(bare) == "Plan('ship', status='error', objective=None)"
    assert not bare.has_plan_tables and bare.tables() == {}
    # a plan that failed the independent check keeps its tables for diagnosis
    kept = Plan(plan.instance, "error", plan.x, z, z, z,
                summary={"status_before_check": "optimal"})
    assert kept.has_plan_tables and set(kept.tables()) == {"flows", "stock", "orders"}


def test_readiness_shortfall_rebuilt_from_the_stock_on_reading(tmp_path):
    # a soft floor of 10 with nothing bought: 10 units short on both days, kept in r
    plan = solve(CASES["readiness_penalised"][0]())
    plan.write(tmp_path / "p")
    back = read_plan(tmp_path / "p", plan.instance)
    np.testing.assert_allclose(back.r, np.maximum(10.0 - back.s, 0.0))
    assert back.r.sum() == pytest.approx(plan.r.sum()) and back.r.sum() > 0
    # a hard floor is never counted as a shortfall to pay for
    hard = solve(CASES["readiness_hard"][0]())
    hard.write(tmp_path / "h")
    assert not read_plan(tmp_path / "h", hard.instance).r.any()


def test_plan_never_written_over_its_own_instance(tmp_path):
    import shutil

    from optimiser import load_instance

    from .conftest import INSTANCES

    shutil.copytree(INSTANCES / "tiny", tmp_path / "inst")
    plan = solve(load_instance(tmp_path / "inst"))
    before = sorted(p.name for p in (tmp_path / "inst").iterdir())
    with pytest.raises(Exception, match="inst"):
        plan.write(tmp_path / "inst", force=True)
    assert sorted(p.name for p in (tmp_path / "inst").iterdir()) == before


def test_unknown_lane_and_null_day_messages_whole():
    inst = CASES["transshipment"][0]()
    plan = solve(inst)
    f = plan.flows.set_column(0, "origin", pa.array(["S", "nobody"]))
    with pytest.raises(InvalidPlanError) as e:
        plan_arrays_from_tables(inst, f, plan.stock)
    assert str(e.value).startswith("flows row 1: no lane {'origin': 'nobody', ")
    assert str(e.value).endswith("} in the instance; was the plan made for another instance?")
    f = plan.flows.set_column(4, "depart_day", pa.array([0, None], pa.int32()))
    with pytest.raises(InvalidPlanError, match=r"^flows row 1: depart_day -1 outside 0..2$"):
        plan_arrays_from_tables(inst, f, plan.stock)


def test_a_fraction_of_a_unit_is_a_flow():
    inst = CASES["transshipment"][0]()
    x = np.zeros((inst.n_lanes, inst.horizon))
    x[0, 1] = 0.5
    assert flows_table(inst, x).to_pylist() == [{
        "origin": "S", "destination": "D", "commodity": "A", "mode": "", "depart_day": 1,
        "arrive_day": 1, "quantity": 0.5}]


def test_a_null_mode_is_the_default_mode():
    inst = CASES["transshipment"][0]()
    plan = solve(inst)
    f = plan.flows
    f = f.set_column(f.schema.get_field_index("mode"), "mode", pa.array([None, ""], pa.string()))
    x, _, _ = plan_arrays_from_tables(inst, f, plan.stock)
    np.testing.assert_array_equal(x, plan.x)
