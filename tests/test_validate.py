"""Every validation rule of docs/FORMAT.md: a bad instance and the exact problem it gives.

Each case mutates the bundled tiny instance (tests/conftest.py: tiny_rows) and
asserts the table, the 0-based row, the column and a message substring.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.feather
import pyarrow.parquet as pq
import pytest

from optimiser import Instance, InvalidInstanceError, load_instance
from optimiser.schema import BUDGET_LIMIT, MAX_HORIZON_DAYS, TABLES, TABLES_BY_NAME, VALUE_LIMIT
from optimiser.tables import table_from_rows
from optimiser.validate import MAX_ROWS_PER_PROBLEM

META = {"format": "optimiser-instance", "version": 1, "name": "tiny", "horizon_days": 10}


def build(meta, rows, extra_tables=None):
    tables = {k: table_from_rows(k, v) for k, v in rows.items()}
    tables.update(extra_tables or {})
    return Instance.from_tables(meta, tables)


def problems(meta, rows, extra_tables=None):
    with pytest.raises(InvalidInstanceError) as e:
        build(meta, rows, extra_tables)
    return e.value.problems


def assert_problem(found, table, row, column, text):
    hits = [p for p in found if p.table == table and p.row == row and p.column == column
            and text in p.message]
    assert hits, f"no problem ({table}, {row}, {column}, ...{text}...) in:\n" + \
        "\n".join(map(str, found))


def test_tiny_is_valid(tiny_rows):
    meta, rows = tiny_rows
    inst = build({**META, **meta}, rows)
    assert inst.warnings == ()


# --- instance.json --------------------------------------------------------------------

@pytest.mark.parametrize("change, column, text", [
    ({"format": "something-else"}, "format", 'must be "optimiser-instance"'),
    ({"version": 2}, "version", "upgrade optimiser"),
    ({"version": 0}, "version", "must be 1"),
    ({"version": "1"}, "version", "must be the integer 1"),
    ({"version": 1.0}, "version", "must be the integer 1"),
    ({"name": ""}, "name", "non-empty string"),
    ({"name": 5}, "name", "non-empty string"),
    ({"horizon_days": 0}, "horizon_days", "integer >= 1"),
    ({"horizon_days": 2.5}, "horizon_days", "integer >= 1"),
    ({"horizon_days": True}, "horizon_days", "integer >= 1"),
    ({"budget": -1.0}, "budget", "finite number >= 0"),
    ({"budget": "lots"}, "budget", "finite number >= 0"),
    ({"budget": math.inf}, "budget", "finite number >= 0"),
    ({"description": 3}, "description", "must be a string"),
])
def test_instance_json_rules(tiny_rows, change, column, text):
    _, rows = tiny_rows
    assert_problem(problems({**META, **change}, rows), "instance.json", None, column, text)


def test_instance_json_missing_keys(tiny_rows):
    _, rows = tiny_rows
    found = problems({}, rows)
    for col in ("format", "version", "name", "horizon_days"):
        assert_problem(found, "instance.json", None, col, "")
    assert_problem(found, "instance.json", None, "horizon_days", "is missing")


def test_budget_null_and_zero_accepted(tiny_rows):
    _, rows = tiny_rows
    assert build({**META, "budget": None}, rows).budget is None
    assert build({**META, "budget": 0}, rows).budget == 0.0


def test_instance_json_file_missing_or_broken(tiny_rows, write_instance):
    meta, rows = tiny_rows
    path = write_instance(None, rows)
    with pytest.raises(InvalidInstanceError) as e:
        load_instance(path)
    assert_problem(e.value.problems, "instance.json", None, None, "missing")
    (path / "instance.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidInstanceError) as e:
        load_instance(path)
    assert_problem(e.value.problems, "instance.json", None, None, "not valid JSON")
    (path / "instance.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(InvalidInstanceError) as e:
        load_instance(path)
    assert_problem(e.value.problems, "instance.json", None, None, "JSON object")
    (path / "instance.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InvalidInstanceError) as e:
        load_instance(path)
    assert_problem(e.value.problems, "instance.json", None, "horizon_days", "is missing")


# --- files and columns ------------------------------------------------------------------

@pytest.mark.parametrize("table", ["suppliers", "nodes", "lanes"])
def test_required_table_missing(tiny_rows, write_instance, table):
    meta, rows = tiny_rows
    del rows[table]
    with pytest.raises(InvalidInstanceError) as e:
        load_instance(write_instance(meta, rows))
    assert_problem(e.value.problems, f"{table}.arrow", None, None, "required table is missing")


def test_required_column_missing(tiny_rows, write_instance):
    meta, rows = tiny_rows
    tables = {k: table_from_rows(k, v) for k, v in rows.items()}
    tables["suppliers"] = tables["suppliers"].drop_columns(["unit_price"])
    with pytest.raises(InvalidInstanceError) as e:
        load_instance(write_instance(meta, tables))
    assert_problem(e.value.problems, "suppliers.arrow", None, "unit_price", "required column is missing")


@pytest.mark.parametrize("table, column, array", [
    ("suppliers", "unit_price", pa.array(["1", "2", "3"])),
    ("suppliers", "supplier", pa.array([1, 2, 3])),
    ("demand", "day", pa.array(np.arange(15) * 1.0)),
    ("nodes", "readiness_hard", pa.array([0, 1, 0, 0, 0])),
])
def test_wrong_type(tiny_rows, table, column, array):
    meta, rows = tiny_rows
    t = table_from_rows(table, rows.pop(table))
    if column in t.column_names:
        t = t.set_column(t.column_names.index(column), column, array)
    else:
        t = t.append_column(column, array)
    assert_problem(problems({**META, **meta}, rows, {table: t}), f"table {table}", None, column,
                   "has type")


@pytest.mark.parametrize("table, row, column", [
    ("suppliers", 1, "unit_price"), ("suppliers", 0, "supplier"), ("nodes", 2, "commodity"),
    ("lanes", 4, "lead_time_days"), ("demand", 3, "quantity"), ("capacity", 0, "day"),
    ("nodes", 0, "floor"), ("lanes", 0, "mode"),
])
def test_null_not_allowed(tiny_rows, table, row, column):
    meta, rows = tiny_rows
    rows[table][row][column] = None
    assert_problem(problems({**META, **meta}, rows), f"table {table}", row, column, "is null")


@pytest.mark.parametrize("table, row, column", [
    ("suppliers", 0, "unit_price"), ("suppliers", 1, "daily_capacity"),
    ("suppliers", 2, "contract_min"), ("suppliers", 1, "contract_max"),
    ("nodes", 0, "initial_stock"), ("nodes", 1, "floor"), ("nodes", 2, "max_stock"),
    ("nodes", 0, "holding_cost"),
    ("lanes", 0, "lead_time_days"), ("lanes", 1, "unit_cost"), ("lanes", 1, "daily_capacity"),
    ("demand", 5, "quantity"), ("demand", 5, "day"), ("capacity", 1, "capacity"),
    ("floors", 0, "floor"), ("pipeline", 0, "quantity"),
])
def test_negative_refused(tiny_rows, table, row, column):
    meta, rows = tiny_rows
    rows[table][row][column] = -1 if column in ("day", "lead_time_days") else -1.5
    assert_problem(problems({**META, **meta}, rows), f"table {table}", row, column, "must be >= 0")


@pytest.mark.parametrize("table, row, column", [
    ("suppliers", 0, "unit_price"), ("nodes", 3, "initial_stock"), ("demand", 2, "quantity"),
    ("suppliers", 1, "contract_max"), ("lanes", 1, "daily_capacity"),
])
def test_nan_refused(tiny_rows, table, row, column):
    meta, rows = tiny_rows
    rows[table][row][column] = math.nan
    assert_problem(problems({**META, **meta}, rows), f"table {table}", row, column, "is NaN")


@pytest.mark.parametrize("table, row, column", [
    ("suppliers", 0, "unit_price"), ("suppliers", 0, "daily_capacity"), ("nodes", 0, "floor"),
    ("demand", 0, "quantity"),
])
def test_infinity_refused_where_not_a_limit(tiny_rows, table, row, column):
    meta, rows = tiny_rows
    rows[table][row][column] = math.inf
    assert_problem(problems({**META, **meta}, rows), f"table {table}", row, column, "is infinite")


def test_plus_infinity_is_no_limit_in_nullable_columns(tiny_rows):
    meta, rows = tiny_rows
    rows["suppliers"][1]["contract_max"] = math.inf
    rows["nodes"][2]["max_stock"] = math.inf
    rows["lanes"][1]["daily_capacity"] = math.inf
    inst = build({**META, **meta}, rows)
    assert np.isinf(inst.contract_max[1]) and np.isinf(inst.max_stock[2])
    rows["lanes"][1]["daily_capacity"] = -math.inf
    assert_problem(problems({**META, **meta}, rows), "table lanes", 1, "daily_capacity", "infinite")


@pytest.mark.parametrize("table, row, copy_of, column", [
    ("suppliers", 3, 0, "supplier"), ("nodes", 5, 1, "node"), ("lanes", 8, 2, "origin"),
    ("demand", 15, 4, "node"), ("capacity", 3, 1, "supplier"), ("floors", 3, 0, "node"),
    ("pipeline", 1, 0, "node"),
])
def test_duplicate_key(tiny_rows, table, row, copy_of, column):
    meta, rows = tiny_rows
    rows[table].append(dict(rows[table][copy_of]))
    assert len(rows[table]) == row + 1
    assert_problem(problems({**META, **meta}, rows), f"table {table}", row, column,
                   f"first seen at row {copy_of}")


def test_parallel_lanes_differ_by_mode(tiny_rows):
    meta, rows = tiny_rows  # lanes 0 and 1: alpha -> depot-north shells, sea and air
    build({**META, **meta}, rows)
    rows["lanes"][1]["mode"] = "sea"
    assert_problem(problems({**META, **meta}, rows), "table lanes", 1, "origin", "duplicate key")


# --- cross-table rules ---------------------------------------------------------------

def test_contract_min_above_max(tiny_rows):
    meta, rows = tiny_rows
    rows["suppliers"][1]["contract_min"] = 301.0
    assert_problem(problems({**META, **meta}, rows), "table suppliers", 1, "contract_min",
                   "above contract_max")


def test_floor_above_max_stock(tiny_rows):
    meta, rows = tiny_rows
    rows["nodes"][2]["floor"] = 201.0
    assert_problem(problems({**META, **meta}, rows), "table nodes", 2, "floor", "above max_stock")


def test_floors_row_above_max_stock(tiny_rows):
    meta, rows = tiny_rows
    rows["floors"].append({"node": "depot-south", "commodity": "shells", "day": 4, "floor": 250.0})
    assert_problem(problems({**META, **meta}, rows), "table floors", 3, "floor",
                   "above the node's max_stock")


def test_initial_stock_above_max_stock_accepted(tiny_rows):
    meta, rows = tiny_rows
    rows["nodes"][2]["initial_stock"] = 500.0
    assert build({**META, **meta}, rows).initial_stock[2] == 500.0


def test_name_both_supplier_and_node(tiny_rows):
    meta, rows = tiny_rows
    rows["nodes"].append({"node": "beta", "commodity": "fuses"})
    assert_problem(problems({**META, **meta}, rows), "table nodes", 5, "node",
                   "also a supplier's name")


@pytest.mark.parametrize("change, column, text", [
    ({"origin": "nowhere"}, "origin", "neither a supplier nor a node"),
    ({"origin": "beta", "commodity": "fuses", "destination": "depot-north"}, "origin",
     "does not sell commodity"),
    ({"origin": "depot-south", "commodity": "fuses", "destination": "front"}, "origin",
     "does not hold commodity"),
    ({"destination": "depot-south", "commodity": "fuses"}, "destination", "does not hold commodity"),
    ({"destination": "beta"}, "destination", "is a supplier"),
    ({"destination": "nowhere"}, "destination", "does not hold commodity"),
])
def test_lane_endpoints(tiny_rows, change, column, text):
    meta, rows = tiny_rows
    rows["lanes"][0].update(change)
    assert_problem(problems({**META, **meta}, rows), "table lanes", 0, column, text)


def test_lane_origin_equals_destination(tiny_rows):
    meta, rows = tiny_rows
    rows["lanes"][4]["destination"] = "depot-north"
    assert_problem(problems({**META, **meta}, rows), "table lanes", 4, "destination",
                   "must join two places")


def test_lane_out_of_node_needs_lead_time(tiny_rows):
    meta, rows = tiny_rows
    rows["lanes"][5]["lead_time_days"] = 0
    assert_problem(problems({**META, **meta}, rows), "table lanes", 5, "lead_time_days",
                   "lead time >= 1")
    rows["lanes"][5]["lead_time_days"] = 1
    rows["lanes"][0]["lead_time_days"] = 0  # out of a supplier: 0 is fine
    build({**META, **meta}, rows)


def test_lead_time_beyond_horizon_is_a_warning(tiny_rows):
    meta, rows = tiny_rows
    rows["lanes"][3]["lead_time_days"] = 10
    inst = build({**META, **meta}, rows)
    assert [(w.table, w.row, w.column) for w in inst.warnings] == [
        ("table lanes", 3, "lead_time_days")]
    assert "never deliver" in inst.warnings[0].message


@pytest.mark.parametrize("table, row, who, change", [
    ("demand", 0, "node", {"node": "depot-nowhere"}),
    ("demand", 10, "node", {"commodity": "rations"}),
    ("capacity", 1, "supplier", {"supplier": "gamma"}),
    ("capacity", 2, "supplier", {"commodity": "fuses"}),
    ("floors", 0, "node", {"node": "front", "commodity": "rations"}),
    ("pipeline", 0, "node", {"node": "alpha"}),
])
def test_day_table_pair_must_exist(tiny_rows, table, row, who, change):
    meta, rows = tiny_rows
    rows[table][row].update(change)
    parent = "suppliers" if table == "capacity" else "nodes"
    assert_problem(problems({**META, **meta}, rows), f"table {table}", row, who,
                   f"is not in {parent}")


@pytest.mark.parametrize("table", ["demand", "capacity", "floors", "pipeline"])
def test_day_out_of_horizon(tiny_rows, table):
    meta, rows = tiny_rows
    rows[table][0]["day"] = 10
    assert_problem(problems({**META, **meta}, rows), f"table {table}", 0, "day", "days run 0..9")


def test_huge_integer_day_is_out_of_range_not_wrapped(tiny_rows):
    meta, rows = tiny_rows
    t = table_from_rows("demand", rows.pop("demand"))
    days = np.array(t.column("day").to_pylist(), dtype=np.int64)
    days[0] = 2**32  # would wrap to 0 in int32
    t = t.set_column(2, "day", pa.array(days))
    assert_problem(problems({**META, **meta}, rows, {"demand": t}), "table demand", 0, "day",
                   "days run 0..9")


# --- all problems at once; limits -------------------------------------------------------

def test_every_problem_reported_at_once(tiny_rows):
    meta, rows = tiny_rows
    rows["suppliers"][0]["unit_price"] = -1.0
    rows["nodes"][2]["floor"] = 500.0
    rows["lanes"][0]["origin"] = "nowhere"
    rows["demand"][0]["day"] = 99
    found = problems({**META, **meta, "horizon_days": 10, "budget": -5}, rows)
    assert_problem(found, "instance.json", None, "budget", "")
    assert_problem(found, "table suppliers", 0, "unit_price", "must be >= 0")
    assert_problem(found, "table nodes", 2, "floor", "above max_stock")
    assert_problem(found, "table lanes", 0, "origin", "neither")
    assert_problem(found, "table demand", 0, "day", "days run")
    assert len(found) == 5


def test_rows_listed_per_problem_are_capped(tiny_rows):
    meta, rows = tiny_rows
    for r in rows["demand"]:
        r["quantity"] = -1.0
    found = problems({**META, **meta}, rows)
    listed = [p for p in found if p.column == "quantity" and p.row is not None]
    assert len(listed) == MAX_ROWS_PER_PROBLEM
    more = [p for p in found if p.column == "quantity" and p.row is None]
    assert len(more) == 1 and f"and {len(rows['demand']) - MAX_ROWS_PER_PROBLEM} more" in more[0].message


def test_error_message_lists_where(tiny_rows):
    meta, rows = tiny_rows
    rows["suppliers"][2]["daily_capacity"] = -3.0
    with pytest.raises(InvalidInstanceError) as e:
        build({**META, **meta}, rows)
    assert "table suppliers row 2, column 'daily_capacity': is -3 but must be >= 0" in str(e.value)


# --- file-level rules ---------------------------------------------------------------

def test_both_arrow_and_parquet_refused(tiny_rows, write_instance):
    meta, rows = tiny_rows
    path = write_instance(meta, rows)
    pq.write_table(table_from_rows("demand", rows["demand"]), path / "demand.parquet")
    with pytest.raises(InvalidInstanceError) as e:
        load_instance(path)
    assert_problem(e.value.problems, "demand.arrow", None, None, "keep only one")


def test_parquet_bytes_in_arrow_file_refused(tiny_rows, write_instance):
    meta, rows = tiny_rows
    path = write_instance(meta, rows)
    pq.write_table(table_from_rows("lanes", rows["lanes"]), path / "lanes.arrow")
    with pytest.raises(InvalidInstanceError) as e:
        load_instance(path)
    assert_problem(e.value.problems, "lanes.arrow", None, None, "not an Arrow IPC file")


def test_truncated_file_refused(tiny_rows, write_instance):
    meta, rows = tiny_rows
    path = write_instance(meta, rows, fmt="parquet")
    data = (path / "nodes.parquet").read_bytes()
    (path / "nodes.parquet").write_bytes(data[: len(data) // 2])
    with pytest.raises(InvalidInstanceError) as e:
        load_instance(path)
    assert_problem(e.value.problems, "nodes.parquet", None, None, "not a Parquet file")


def test_unknown_columns_and_files_ignored(tiny_rows, write_instance):
    meta, rows = tiny_rows
    t = table_from_rows("suppliers", rows.pop("suppliers")).append_column(
        "notes", pa.array(["a", "b", "c"]))
    path = write_instance(meta, {**rows, "suppliers": t})
    (path / "README.txt").write_text("hello", encoding="utf-8")
    meta_file = json.loads((path / "instance.json").read_text())
    meta_file["author"] = "someone"
    (path / "instance.json").write_text(json.dumps(meta_file))
    inst = load_instance(path)
    assert "notes" not in inst.tables["suppliers"].column_names


# --- v2: value limits, dates, names --------------------------------------------------------

_FLOAT_CELLS = [(t.name, c.name) for t in TABLES for c in t.columns if c.kind == "float"]


@pytest.mark.parametrize("table, column", _FLOAT_CELLS)
def test_values_above_1e12_refused_in_every_quantity_and_price(tiny_rows, table, column):
    meta, rows = tiny_rows
    rows[table][0][column] = 1e13
    found = problems({**META, **meta}, rows)
    assert_problem(found, f"table {table}", 0, column, "above the largest value accepted (1e+12")


@pytest.mark.parametrize("table, column", _FLOAT_CELLS)
def test_values_of_exactly_1e12_accepted(tiny_rows, table, column):
    meta, rows = tiny_rows
    rows[table][0][column] = 1e12
    try:
        build({**META, **meta}, rows)
    except InvalidInstanceError as e:  # other rules (floor <= max_stock ...) may object
        assert not [p for p in e.problems if "largest value" in p.message], e


def test_value_limit_is_declared_in_the_schema():
    for t in TABLES:
        for c in t.columns:
            if c.kind == "float":
                assert c.maximum == VALUE_LIMIT == 1e12
    assert TABLES_BY_NAME["lanes"].column("lead_time_days").maximum == MAX_HORIZON_DAYS


@pytest.mark.parametrize("change, column, text", [
    ({"horizon_days": MAX_HORIZON_DAYS + 1}, "horizon_days", "at most 100,000 days"),
    ({"budget": 1e19}, "budget", "largest budget accepted (1e+18)"),
    ({"start_date": "2026-02-30"}, "start_date", "ISO 8601 date"),
    ({"start_date": "30/11/2026"}, "start_date", "ISO 8601 date"),
    ({"start_date": 20261130}, "start_date", "ISO 8601 date"),
    ({"start_date": "9999-12-25"}, "start_date", "after 9999-12-31"),
])
def test_instance_json_v2_limits(tiny_rows, change, column, text):
    _, rows = tiny_rows
    assert_problem(problems({**META, **change}, rows), "instance.json", None, column, text)


def test_largest_horizon_and_budget_accepted(tiny_rows):
    _, rows = tiny_rows
    inst = build({**META, "budget": BUDGET_LIMIT, "start_date": "2026-11-30"}, rows)
    assert inst.budget == 1e18 and str(inst.start_date) == "2026-11-30"


def _dated(rows, table):
    t = table_from_rows(table, rows.pop(table))
    days = t.column("day").to_pylist()
    dates = [dt.date(2026, 12, 1) + dt.timedelta(days=d) for d in days]
    return t.drop_columns(["day"]).append_column("date", pa.array(dates, pa.date32())), days


@pytest.mark.parametrize("table", ["demand", "capacity", "floors", "pipeline"])
def test_date_column_instead_of_day(tiny_rows, table):
    meta, rows = tiny_rows
    expected = build({**META, **meta}, copy.deepcopy(rows))
    t, _ = _dated(rows, table)
    inst = build({**META, **meta, "start_date": "2026-12-01"}, rows, {table: t})
    for k in ("demand", "capacity", "floor", "pipeline"):
        np.testing.assert_array_equal(getattr(inst, k), getattr(expected, k))


def test_date_outside_horizon_is_an_error_in_dates(tiny_rows):
    meta, rows = tiny_rows
    t, _ = _dated(rows, "demand")
    found = problems({**META, **meta, "start_date": "2026-12-03"}, rows, {"demand": t})
    assert_problem(found, "table demand", 0, "date",
                   "but the horizon runs 2026-12-03..2026-12-12")


def test_date_without_start_date_refused(tiny_rows):
    meta, rows = tiny_rows
    t, _ = _dated(rows, "demand")
    assert_problem(problems({**META, **meta}, rows, {"demand": t}), "table demand", None, "date",
                   'set "start_date"')


def test_day_and_date_together_refused(tiny_rows):
    meta, rows = tiny_rows
    t, days = _dated(rows, "demand")
    t = t.append_column("day", pa.array(days, pa.int32()))
    assert_problem(problems({**META, **meta, "start_date": "2026-12-01"}, rows, {"demand": t}),
                   "table demand", None, "date", "both a day and a date column")


def test_unknown_names_get_the_nearest_known(tiny_rows):
    meta, rows = tiny_rows
    node = rows["nodes"][0]["node"]
    typo = node[1] + node[0] + node[2:]  # two letters swapped
    rows["demand"][0]["node"] = typo
    rows["lanes"][0]["origin"] = rows["suppliers"][0]["supplier"].upper() + "x"
    found = problems({**META, **meta}, rows)
    assert_problem(found, "table demand", 0, "node", f"did you mean {node!r}")
    assert_problem(found, "table lanes", 0, "origin", "did you mean")


def test_misspelt_column_refused_but_near_present_one_only_noted(tiny_rows):
    meta, rows = tiny_rows
    nodes = table_from_rows("nodes", rows.pop("nodes"))
    typo = nodes.drop_columns(["max_stock"]).append_column("max_stok", nodes.column("max_stock"))
    assert_problem(problems({**META, **meta}, rows, {"nodes": typo}), "table nodes", None,
                   "max_stok", "did you mean 'max_stock'?")
    noted = nodes.append_column("note", pa.array(["x"] * nodes.num_rows))
    inst = build({**META, **meta}, rows, {"nodes": noted})
    assert [(w.table, w.column) for w in inst.warnings] == [("table nodes", "note")]
    assert "not to be confused with 'node'" in inst.warnings[0].message


def test_misspelt_table_file_refused(tiny_rows, write_instance):
    meta, rows = tiny_rows
    floors = rows.pop("floors")
    path = write_instance(meta, rows)
    pa.feather.write_feather(table_from_rows("floors", floors), path / "floor.arrow")
    with pytest.raises(InvalidInstanceError) as e:
        load_instance(path)
    assert_problem(e.value.problems, "floor.arrow", None, None, "did you mean 'floors.arrow'?")
