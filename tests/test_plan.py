"""Plans: orders, per-commodity totals, dates, Parquet, lane keys that any name keeps apart."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimiser.instance import load_instance
from optimiser.plan import Plan, read_plan, read_plan_tables
from optimiser.solve import solve
from optimiser.tables import make_instance

from .conftest import INSTANCES


@pytest.fixture(scope="module")
def seed_plan():
    inst = load_instance(INSTANCES / "seed-155mm")
    return solve(inst)


@pytest.fixture(scope="module")
def tiny_plan():
    inst = load_instance(INSTANCES / "tiny")
    return solve(inst)


def _zero_noise(inst, plan_or_dir):
    from optimiser.scenarios.evaluate import evaluate

    return evaluate(inst, plan_or_dir, scenarios=2, seed=0, fan=False).summary


def with_start(inst, start=dt.date(2026, 12, 1)):
    """The instance with start_date set (until the Instance carries it as a field)."""
    object.__setattr__(inst, "start_date", start)
    return inst


# orders ---------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["seed_plan", "tiny_plan"])
def test_orders_cost_sums_to_procurement(which, request):
    plan = request.getfixturevalue(which)
    inst = plan.instance
    o = plan.orders
    assert o.num_rows > 0
    assert set(o.column_names) >= {"supplier", "commodity", "destination", "mode", "order_day",
                                   "arrive_day", "quantity", "unit_price", "cost",
                                   "transport_cost"}
    proc = plan.breakdown["procurement"]
    assert pc.sum(o.column("cost")).as_py() == pytest.approx(proc, rel=1e-9)
    q = o.column("quantity").to_numpy()
    assert (q > 0).all()
    np.testing.assert_allclose(o.column("cost").to_numpy(), q * o.column("unit_price").to_numpy())
    assert (pc.subtract(o.column("arrive_day"), o.column("order_day")).to_numpy() >= 0).all()
    # every supplier lane-day with a dispatch is one order row, nothing else
    sup = inst.lane_from_supplier
    assert o.num_rows == int((plan.x[sup] > 0).sum())
    assert set(o.column("supplier").to_pylist()) <= set(inst.supplier_names.tolist())
    # transport of supplier lanes = transport_cost column
    lane_t = float(inst.lane_cost[sup] @ plan.x[sup].sum(axis=1))
    assert pc.sum(o.column("transport_cost")).as_py() == pytest.approx(lane_t, rel=1e-9)


def test_orders_written_and_read_back(tmp_path, tiny_plan):
    tiny_plan.write(tmp_path / "plan")
    from optimiser.outputs import read_output_table

    back = read_output_table(tmp_path / "plan", "orders", required=True)
    assert back.equals(tiny_plan.orders)


# per-commodity totals ---------------------------------------------------------------
def test_totals_per_supplier_and_commodity(tiny_plan):
    inst, t = tiny_plan.instance, tiny_plan.summary["totals"]
    o = tiny_plan.orders.to_pylist()
    for sup, per in t["ordered"].items():
        assert isinstance(per, dict)
        for com, q in per.items():
            want = sum(r["quantity"] for r in o if r["supplier"] == sup and r["commodity"] == com)
            assert q == pytest.approx(want, rel=1e-12, abs=1e-9)
    stock = tiny_plan.stock.to_pylist()
    assert set(t["by_commodity"]) == set(inst.commodities.tolist())
    for com, c in t["by_commodity"].items():
        assert set(c) == {"ordered", "demand", "unmet", "below_floor_unit_days",
                          "days_below_floor"}
        assert c["ordered"] == pytest.approx(sum(r["quantity"] for r in o if r["commodity"] == com))
        assert c["demand"] == pytest.approx(sum(r["demand"] for r in stock if r["commodity"] == com))
        assert c["unmet"] == pytest.approx(sum(r["unmet"] for r in stock if r["commodity"] == com))
        below = [r for r in stock if r["commodity"] == com
                 and r["floor"] - r["stock"] > 1e-6 * max(1.0, r["floor"])]
        assert c["days_below_floor"] == len({r["day"] for r in below})
    # v1 totals stay the sums over all pairs
    assert t["demand"] == pytest.approx(sum(c["demand"] for c in t["by_commodity"].values()))
    assert t["unmet"] == pytest.approx(sum(c["unmet"] for c in t["by_commodity"].values()))
    assert t["procurement_spend"] == pytest.approx(tiny_plan.breakdown["procurement"])


def test_plan_status_is_the_enum(tiny_plan):
    from optimiser.status import Status

    assert isinstance(tiny_plan.status, Status) and tiny_plan.status == "optimal"
    assert tiny_plan.summary["status"] == tiny_plan.status.value


# dates --------------------------------------------------------------------------------
def test_date_columns_when_start_date(tmp_path):
    inst = with_start(load_instance(INSTANCES / "tiny"))
    plan = solve(inst)
    assert plan.summary["start_date"] == "2026-12-01"
    plan.write(tmp_path / "plan")
    flows, stock, summary, _ = read_plan_tables(tmp_path / "plan")
    from optimiser.outputs import read_output_table

    orders = read_output_table(tmp_path / "plan", "orders")
    d0 = dt.date(2026, 12, 1)
    for t, pairs in ((flows, [("depart_day", "depart_date"), ("arrive_day", "arrive_date")]),
                     (stock, [("day", "date")]),
                     (orders, [("order_day", "order_date"), ("arrive_day", "arrive_date")])):
        for day, date in pairs:
            assert t.schema.field(date).type == pa.date32()
            assert t.column_names.index(date) == t.column_names.index(day) + 1
            assert [d0 + dt.timedelta(days=x) for x in t.column(day).to_pylist()] == \
                t.column(date).to_pylist()
    # the dated plan still reads, checks and replays
    back = read_plan(tmp_path / "plan", inst)
    np.testing.assert_array_equal(back.x, plan.x)


def test_no_date_columns_without_start_date(tiny_plan):
    for t in tiny_plan.tables().values():
        assert not {"date", "depart_date", "arrive_date", "order_date"} & set(t.column_names)
    assert tiny_plan.summary["start_date"] is None


# parquet ------------------------------------------------------------------------------
def test_parquet_plan_checked_read_and_queried_with_duckdb(tmp_path, seed_plan):
    duckdb = pytest.importorskip("duckdb")
    from optimiser.check import check_plan_dir

    out = tmp_path / "plan"
    seed_plan.write(out, fmt="parquet")
    names = sorted(p.name for p in out.iterdir())
    assert "orders.parquet" in names and "flows.parquet" in names
    assert not [n for n in names if n.endswith(".arrow")]
    rep = check_plan_dir(seed_plan.instance, out)
    assert rep.ok, rep.worst()
    back = read_plan(out, seed_plan.instance)
    np.testing.assert_array_equal(back.x, seed_plan.x)
    np.testing.assert_array_equal(back.u, seed_plan.u)
    con = duckdb.connect()
    total = con.execute(f"SELECT sum(cost) FROM read_parquet('{out / 'orders.parquet'}')").fetchone()[0]
    assert total == pytest.approx(seed_plan.breakdown["procurement"], rel=1e-9)
    n = con.execute(f"SELECT count(*) FROM read_parquet('{out / 'flows.parquet'}')").fetchone()[0]
    assert n == seed_plan.flows.num_rows
    # and evaluated, reproducing the objective without noise
    assert _zero_noise(seed_plan.instance, out)["cost"]["mean"] == pytest.approx(
        seed_plan.objective, rel=1e-9)


def test_plan_with_both_formats_of_a_table_is_refused(tmp_path, tiny_plan):
    from optimiser.errors import InvalidPlanError
    from optimiser.io import write_table

    tiny_plan.write(tmp_path / "plan")
    write_table(tiny_plan.flows, tmp_path / "plan" / "flows.parquet")
    with pytest.raises(InvalidPlanError, match="both"):
        read_plan(tmp_path / "plan", tiny_plan.instance)


def test_unknown_format_refused(tmp_path, tiny_plan):
    with pytest.raises(ValueError, match="format"):
        tiny_plan.write(tmp_path / "plan", fmt="csv")
    assert not (tmp_path / "plan").exists()


# lane keys ------------------------------------------------------------------------------
def _two_lane_instance(sup_a, node_a, sup_b, node_b, T=4):
    """Two suppliers, two nodes; only node_b consumes, and only sup_b -> node_b is cheap."""
    sups = [{"supplier": sup_a, "commodity": "A", "unit_price": 5.0, "daily_capacity": 10.0},
            {"supplier": sup_b, "commodity": "A", "unit_price": 1.0, "daily_capacity": 10.0}]
    nodes = [{"node": node_a, "commodity": "A"},
             {"node": node_b, "commodity": "A", "shortfall_penalty": 1e6}]
    lanes = [{"origin": sup_a, "destination": node_a, "commodity": "A", "lead_time_days": 1},
             {"origin": sup_b, "destination": node_b, "commodity": "A", "lead_time_days": 1}]
    return make_instance("keys", T, suppliers=sups, nodes=nodes, lanes=lanes,
                         demand=[{"node": node_b, "commodity": "A", "day": 2, "quantity": 10.0}])


def test_parallel_lanes_differing_by_a_trailing_nul_stay_apart(tmp_path):
    """Modes '' and '\x00' (fixed-width numpy strings would drop the NUL and merge them)."""
    lanes = [{"origin": "s", "destination": "d", "commodity": "A", "lead_time_days": 3,
              "mode": ""},
             {"origin": "s", "destination": "d\x00", "commodity": "A", "lead_time_days": 1,
              "mode": "\x00"},
             {"origin": "s", "destination": "d", "commodity": "A", "lead_time_days": 1,
              "mode": "\x00", "unit_cost": 1.0}]
    inst = make_instance("nul", 4, suppliers=[{"supplier": "s", "commodity": "A", "unit_price": 1.0,
                                               "daily_capacity": 10.0}],
                         nodes=[{"node": "d", "commodity": "A"}, {"node": "d\x00", "commodity": "A"}],
                         lanes=lanes,
                         demand=[{"node": "d", "commodity": "A", "day": 1, "quantity": 4.0},
                                 {"node": "d\x00", "commodity": "A", "day": 1, "quantity": 6.0}])
    plan = solve(inst)
    assert plan.status == "optimal" and plan.summary["totals"]["unmet"] == 0
    plan.write(tmp_path / "plan")
    back = read_plan(tmp_path / "plan", inst)
    np.testing.assert_array_equal(back.x, plan.x)
    s = _zero_noise(inst, tmp_path / "plan")
    assert s["unmet"]["mean"] == 0
    assert s["cost"]["mean"] == pytest.approx(plan.objective, rel=1e-9)


@pytest.mark.parametrize("names", [("s", "d", "t", "d\x00"), ("s\x1fx", "y", "s", "x\x1fy"),
                                   ("s", "x\x1fy", "s\x1fx", "y")])
def test_lanes_whose_joined_names_collide_stay_apart(tmp_path, names):
    from optimiser.check import check_plan_dir

    inst = _two_lane_instance(*names)
    plan = solve(inst)
    assert plan.status == "optimal" and plan.summary["totals"]["unmet"] == 0
    assert plan.objective == pytest.approx(10.0)
    plan.write(tmp_path / "plan")
    back = read_plan(tmp_path / "plan", inst)
    np.testing.assert_array_equal(back.x, plan.x)
    assert check_plan_dir(inst, tmp_path / "plan").ok
    s = _zero_noise(inst, tmp_path / "plan")
    assert s["unmet"]["mean"] == 0
    assert s["cost"]["mean"] == pytest.approx(plan.objective, rel=1e-9)


_hostile = st.lists(st.sampled_from(["a", "b", "\x00", "\x1f", "/", " ", "\n", "é", "->", "\t",
                                     "$x$", "\U0001f600", "n" * 300]),
                    min_size=1, max_size=6).map("".join)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(_hostile, min_size=4, max_size=4, unique=True))
def test_hostile_names_round_trip_check_and_replay(tmp_path_factory, names):
    from optimiser.check import check_plan_dir

    sup_a, node_a, sup_b, node_b = names
    inst = _two_lane_instance(sup_a, node_a, sup_b, node_b)
    plan = solve(inst)
    assert plan.status == "optimal"
    out = tmp_path_factory.mktemp("hostile") / "plan"
    plan.write(out)
    back = read_plan(out, inst)
    np.testing.assert_array_equal(back.x, plan.x)
    rep = check_plan_dir(inst, out)
    assert rep.ok, rep.worst()
    s = _zero_noise(inst, out)
    assert s["cost"]["mean"] == pytest.approx(plan.objective, rel=1e-9)
    assert s["unmet"]["mean"] == pytest.approx(plan.summary["totals"]["unmet"], abs=1e-9)


def test_plan_accepts_status_strings():
    inst = _two_lane_instance("s", "d", "t", "e")
    p = solve(inst)
    q = Plan(instance=inst, status="optimal", x=p.x, s=p.s, u=p.u, r=p.r, summary=p.summary)
    assert q.status is p.status


def test_match_rows_same_answer_with_and_without_the_int64_shortcut():
    from optimiser.plan import _match_rows

    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(0, 5, size=(40, 4)), axis=0)
    query = np.concatenate([keys[::3], rng.integers(-1, 6, size=(30, 4))])
    small = _match_rows(keys, query, [6, 6, 6, 6])
    huge = _match_rows(keys, query, [2 ** 20] * 4)  # past int64: rows compared directly
    np.testing.assert_array_equal(small, huge)
    want = [next((j for j, k in enumerate(keys.tolist()) if k == q), -1) for q in query.tolist()]
    np.testing.assert_array_equal(small, want)
