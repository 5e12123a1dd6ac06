"""`optimiser show`: a plan's orders, shipments, stock and binding limits for a person."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pyarrow as pa
import pytest

from optimiser.instance import load_instance
from optimiser.outputs import read_output_table
from optimiser.planview import binding_ranges, printable
from optimiser.solve import solve

from .cli_helpers import run
from .conftest import INSTANCES

SEED = INSTANCES / "seed-155mm"


@pytest.fixture(scope="module")
def seed_plan(tmp_path_factory):
    d = tmp_path_factory.mktemp("show") / "plan"
    run("solve", SEED, "-o", d, check_rc=0)
    return d


def test_show_orders_default_text(seed_plan):
    p = run("show", seed_plan, check_rc=0)
    head = p.stdout.splitlines()[1]
    for col in ("supplier", "commodity", "destination", "order_day", "arrive_day", "quantity",
                "cost"):
        assert col in head
    assert "KR-industry-1" in p.stdout


def test_show_orders_csv_is_the_orders_table(seed_plan):
    p = run("show", seed_plan, "orders", "--csv", check_rc=0)
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    orders = read_output_table(seed_plan, "orders").to_pylist()
    assert len(rows) == len(orders) > 0
    assert sum(float(r["cost"]) for r in rows) == pytest.approx(
        sum(r["cost"] for r in orders), rel=1e-9)
    assert rows[0]["supplier"] == orders[0]["supplier"]


def test_show_json_is_one_document(seed_plan):
    p = run("show", seed_plan, "shipments", "--json", check_rc=0)
    doc = json.loads(p.stdout)
    assert doc["view"] == "shipments" and doc["status"] == "optimal"
    flows = read_output_table(seed_plan, "flows").to_pylist()
    nodes = {r["node"] for r in read_output_table(seed_plan, "stock").to_pylist()}
    assert len(doc["rows"]) == sum(r["origin"] in nodes for r in flows) > 0
    assert all(r["origin"] in nodes for r in doc["rows"])


def test_show_stock_filtered_by_commodity(tmp_path):
    d = tmp_path / "plan"
    run("solve", INSTANCES / "tiny", "-o", d, check_rc=0)
    stock = read_output_table(d, "stock")
    coms = sorted(set(stock.column("commodity").to_pylist()))
    assert len(coms) == 2
    doc = json.loads(run("show", d, "stock", "--commodity", coms[0], "--json", check_rc=0).stdout)
    assert {r["commodity"] for r in doc["rows"]} == {coms[0]}
    assert len(doc["rows"]) == sum(c == coms[0] for c in stock.column("commodity").to_pylist())
    assert {"stock", "floor", "below_floor"} <= set(doc["columns"])


def test_show_binding_groups_days_into_ranges(seed_plan):
    shadow = read_output_table(seed_plan, "shadow_prices")
    doc = json.loads(run("show", seed_plan, "binding", "--json", check_rc=0).stdout)
    rows = doc["rows"]
    assert 0 < len(rows) < shadow.num_rows
    assert sum(r["days"] for r in rows) == shadow.num_rows
    values = [r["value_max"] for r in rows]
    assert values == sorted(values, reverse=True)
    for r in rows:
        if r["first_day"] is not None:
            assert r["last_day"] - r["first_day"] + 1 == r["days"]
            assert r["value_min"] <= r["value_max"]


def test_binding_ranges_split_on_gaps():
    t = pa.table({"constraint": ["lane_capacity"] * 4, "origin": ["a"] * 4,
                  "destination": ["b"] * 4, "commodity": ["k"] * 4, "day": pa.array([1, 2, 5, 6], pa.int32()),
                  "value": [1.0, 3.0, 2.0, 2.0], "limit": [5.0] * 4})
    r = binding_ranges(t).to_pylist()
    assert [(x["first_day"], x["last_day"], x["value_min"], x["value_max"]) for x in r] == \
        [(1, 2, 1.0, 3.0), (5, 6, 2.0, 2.0)]


def test_show_dates_when_the_instance_has_a_start_date(tmp_path):
    inst = load_instance(INSTANCES / "tiny")
    object.__setattr__(inst, "start_date", dt.date(2026, 12, 1))
    solve(inst).write(tmp_path / "plan")
    doc = json.loads(run("show", tmp_path / "plan", "orders", "--json", check_rc=0).stdout)
    assert doc["start_date"] == "2026-12-01"
    r = doc["rows"][0]
    assert r["order_date"] == f"2026-12-{1 + r['order_day']:02d}"
    text = run("show", tmp_path / "plan", "binding", check_rc=0).stdout
    assert "2026-12" in text


def test_show_infeasible_plan_shows_what_must_give_way(tmp_path, write_instance):
    from .lp_cases import one_supplier

    inst = one_supplier(T=6, cap=5.0, lane_cost=0.0, lead=2,
                        node={"floor": 10.0, "readiness_hard": True})
    d = write_instance({"name": "inf", "horizon_days": inst.horizon}, dict(inst.tables))
    run("solve", d, "-o", tmp_path / "plan", check_rc=3)
    p = run("show", tmp_path / "plan", check_rc=0)
    assert "infeasibility" in p.stdout and "readiness_floor" in p.stdout
    p = run("show", tmp_path / "plan", "orders", check_rc=2)
    assert "no plan tables" in p.stderr and "Traceback" not in p.stderr


def test_show_refuses_a_non_plan(tmp_path):
    p = run("show", tmp_path / "nope", check_rc=2)
    assert "not a plan directory" in p.stderr
    run("show", tmp_path, "bogus", check_rc=2)


def test_names_are_escaped_for_the_terminal():
    assert printable("a\x1b[31mb\x00") == "a\\x1b[31mb\\x00"
    assert printable("Bob's $10") == "Bob's $10"


def test_show_unknown_commodity_names_the_nearest(seed_plan):
    p = run("show", seed_plan, "orders", "--commodity", "155m", check_rc=2)
    assert "did you mean '155mm'" in p.stderr and "Traceback" not in p.stderr
