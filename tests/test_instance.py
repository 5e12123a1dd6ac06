"""The in-memory Instance: names carried exactly and in bounded memory, start_date and dates."""

from __future__ import annotations

import datetime as dt
import resource
import string

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimiser import Instance, load_instance
from optimiser.instance import _join
from optimiser.io import write_instance_tables
from optimiser.tables import make_instance, table_from_rows

META = {"format": "optimiser-instance", "version": 1, "name": "x", "horizon_days": 5}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_join_is_exact_and_not_fixed_width():
    a = np.array(["d", "d\x00", "s\x1fx", ""], dtype=object)
    b = np.array(["k", "k", "y", "\x00"], dtype=object)
    out = _join(a, "/", b)
    assert out.dtype == object
    assert out.tolist() == ["d/k", "d\x00/k", "s\x1fx/y", "/\x00"]  # trailing NUL kept


def test_one_megabyte_name_among_3000_suppliers_loads_in_bounded_memory(tmp_path):
    S = 3000
    names = [f"s{i}" for i in range(S)]
    names[7] = "X" * (1 << 20)
    tables = {
        "suppliers": pa.table({"supplier": names, "commodity": ["k"] * S,
                               "unit_price": [1.0] * S, "daily_capacity": [10.0] * S}),
        "nodes": pa.table({"node": ["N"], "commodity": ["k"]}),
        "lanes": pa.table({"origin": names, "destination": ["N"] * S, "commodity": ["k"] * S,
                           "lead_time_days": pa.array([0] * S, pa.int32())}),
    }
    write_instance_tables({"name": "mb", "horizon_days": 30}, tables, tmp_path)
    before = _peak_mb()
    inst = load_instance(tmp_path)
    labels = (inst.supplier_labels, inst.lane_labels, inst.pair_labels)
    grown = _peak_mb() - before
    # fixed-width strings would need 3,000 x 1 MiB x 4 bytes = 11.7 GiB per label array
    assert grown < 300, f"peak RSS grew {grown:.0f} MB"
    assert inst.supplier_names[inst.sp_supplier[7]] == names[7]
    assert labels[0][7] == names[7] + "/k"
    assert labels[1][7] == names[7] + "->N k"
    assert labels[1][0] == "s0->N k"


def test_lane_labels_with_mode():
    rows = {
        "suppliers": [{"supplier": "S", "commodity": "k", "unit_price": 1.0,
                       "daily_capacity": 5.0}],
        "nodes": [{"node": "N", "commodity": "k"}],
        "lanes": [{"origin": "S", "destination": "N", "commodity": "k", "lead_time_days": 1,
                   "mode": "sea"},
                  {"origin": "S", "destination": "N", "commodity": "k", "lead_time_days": 0}],
    }
    inst = make_instance("x", 5, **rows)
    assert inst.lane_labels.tolist() == ["S->N k (sea)", "S->N k"]


def test_start_date_field_and_dates():
    rows = {"suppliers": [{"supplier": "S", "commodity": "k", "unit_price": 1.0,
                           "daily_capacity": 5.0}],
            "nodes": [{"node": "N", "commodity": "k"}],
            "lanes": [{"origin": "S", "destination": "N", "commodity": "k",
                       "lead_time_days": 1}]}
    inst = make_instance("x", 5, **rows)
    assert inst.start_date is None and inst.date_of(3) is None
    tables = {k: table_from_rows(k, v) for k, v in rows.items()}
    inst = Instance.from_tables({**META, "start_date": "2026-12-30"}, tables)
    assert inst.start_date == dt.date(2026, 12, 30)
    assert inst.date_of(2) == dt.date(2027, 1, 1)
    assert inst.date_of(np.array([0, 4])).tolist() == [dt.date(2026, 12, 30), dt.date(2027, 1, 3)]


def test_date_column_becomes_days(tmp_path):
    rows = {"suppliers": [{"supplier": "S", "commodity": "k", "unit_price": 1.0,
                           "daily_capacity": 5.0}],
            "nodes": [{"node": "N", "commodity": "k"}],
            "lanes": [{"origin": "S", "destination": "N", "commodity": "k",
                       "lead_time_days": 1}]}
    tables = {k: table_from_rows(k, v) for k, v in rows.items()}
    tables["demand"] = pa.table({"node": ["N", "N"], "commodity": ["k", "k"],
                                 "date": pa.array([dt.date(2026, 12, 1), dt.date(2026, 12, 5)],
                                                  pa.date32()),
                                 "quantity": [3.0, 4.0]})
    write_instance_tables({"name": "d", "horizon_days": 5, "start_date": "2026-12-01"}, tables,
                          tmp_path)
    inst = load_instance(tmp_path)
    assert inst.demand.tolist() == [[3.0, 0.0, 0.0, 0.0, 4.0]]


def test_in_memory_problems_name_tables_not_files():
    from optimiser import InvalidInstanceError

    with pytest.raises(InvalidInstanceError) as e:
        make_instance("x", 5, suppliers=[{"supplier": "S", "commodity": "k", "unit_price": -1.0,
                                          "daily_capacity": 5.0}],
                      nodes=[{"node": "N", "commodity": "k"}],
                      lanes=[{"origin": "S", "destination": "N", "commodity": "k",
                              "lead_time_days": 0}])
    assert "table suppliers row 0, column 'unit_price'" in str(e.value)
    assert ".arrow" not in str(e.value)


# --- property: any names round-trip exactly ---------------------------------------------------

_HOSTILE = st.one_of(
    st.text(min_size=1, max_size=12),
    st.text(alphabet="\x00\x1f\x1e\n\r\t\x1b\u202e\u200b/->() ", min_size=1, max_size=6),
    st.builds(lambda s: s + "\x00", st.text(alphabet=string.ascii_letters, min_size=1,
                                            max_size=4)),
    st.builds(lambda n: "L" * n, st.integers(1000, 5000)),
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(names=st.lists(_HOSTILE, min_size=4, max_size=4, unique=True))
def test_hostile_names_round_trip_exactly(tmp_path_factory, names):
    sup, node, dest, com = names
    rows = {"suppliers": [{"supplier": sup, "commodity": com, "unit_price": 1.0,
                           "daily_capacity": 5.0}],
            "nodes": [{"node": node, "commodity": com}, {"node": dest, "commodity": com}],
            "lanes": [{"origin": sup, "destination": node, "commodity": com,
                       "lead_time_days": 0, "mode": dest},
                      {"origin": node, "destination": dest, "commodity": com,
                       "lead_time_days": 1}],
            "demand": [{"node": dest, "commodity": com, "day": 2, "quantity": 3.0}]}
    tables = {k: table_from_rows(k, v) for k, v in rows.items()}
    path = tmp_path_factory.mktemp("names")
    write_instance_tables({"name": sup, "horizon_days": 4}, tables, path)
    inst = load_instance(path)
    assert inst.name == sup
    assert inst.supplier_names.tolist() == [sup]
    assert sorted(inst.node_names.tolist()) == sorted([node, dest])
    assert inst.commodities.tolist() == [com]
    assert inst.lane_origin_name.tolist() == [sup, node]
    assert inst.lane_dest_name.tolist() == [node, dest]
    assert inst.lane_mode.tolist() == [dest, ""]
    assert inst.pair_labels.tolist() == [f"{node}/{com}", f"{dest}/{com}"]
    assert inst.lane_labels.tolist() == [f"{sup}->{node} {com} ({dest})", f"{node}->{dest} {com}"]
    i = inst.node_pair_ids(pa.array([dest]), pa.array([com]))[0]
    assert inst.demand[i].tolist() == [0.0, 0.0, 3.0, 0.0]


def test_make_instance_refuses_misspelt_keys_and_tables():
    from optimiser import InvalidInstanceError

    base = {"suppliers": [{"supplier": "S", "commodity": "k", "unit_price": 1.0,
                           "daily_capacity": 5.0}],
            "lanes": [{"origin": "S", "destination": "N", "commodity": "k",
                       "lead_time_days": 0}]}
    with pytest.raises(InvalidInstanceError) as e:
        make_instance("x", 5, nodes=[{"node": "N", "commodity": "k", "max_stok": 3.0}], **base)
    assert "table nodes, column 'max_stok'" in str(e.value) and "did you mean 'max_stock'" \
        in str(e.value)
    with pytest.raises(InvalidInstanceError) as e:
        make_instance("x", 5, nodes=[{"node": "N", "commodity": "k"}], floor=[], **base)
    assert "did you mean 'floors'?" in str(e.value)
    inst = make_instance("x", 5, start_date="2026-12-01",
                         nodes=[{"node": "N", "commodity": "k"}],
                         demand=[{"node": "N", "commodity": "k", "date": dt.date(2026, 12, 3),
                                  "quantity": 2.0}], **base)
    assert inst.demand.tolist() == [[0.0, 0.0, 2.0, 0.0, 0.0]]


def test_from_tables_refuses_what_is_not_a_table():
    from optimiser import InvalidInstanceError

    with pytest.raises(InvalidInstanceError) as e:
        Instance.from_tables(META, {"suppliers": [{"supplier": "S"}], "nodes": None,
                                    "lanes": None})
    assert "table suppliers: is a list, not a pyarrow.Table" in str(e.value)


# ---------------------------------------------------------------- restrict
def test_restrict_to_every_row_keeps_every_array(tiny_instance):
    import dataclasses

    from optimiser import instance as I

    inst = load_instance(tiny_instance)
    same = inst.restrict(np.arange(inst.n_supplier_pairs), np.arange(inst.n_pairs),
                         np.arange(inst.n_lanes))
    for f in I.SUPPLIER_PAIR_FIELDS + I.NODE_PAIR_FIELDS + I.LANE_FIELDS:
        np.testing.assert_array_equal(getattr(same, f), getattr(inst, f), err_msg=f)
    assert same.name == inst.name and same.tables == {} and same.warnings == ()
    assert {f.name for f in dataclasses.fields(Instance)} == set(
        I.SUPPLIER_PAIR_FIELDS + I.NODE_PAIR_FIELDS + I.LANE_FIELDS + I.INSTANCE_WHOLE_FIELDS)


def test_restrict_to_one_commodity_renumbers_lanes_into_the_kept_pairs(tiny_instance):
    inst = load_instance(tiny_instance)
    k = 1
    sps = np.flatnonzero(inst.sp_commodity == k)
    pairs = np.flatnonzero(inst.nc_commodity == k)
    lanes = np.flatnonzero(inst.lane_commodity == k)
    sub = inst.restrict(sps, pairs, lanes, name="cut")
    assert (sub.n_supplier_pairs, sub.n_pairs, sub.n_lanes, sub.name) == \
        (len(sps), len(pairs), len(lanes), "cut")
    np.testing.assert_array_equal(sub.demand, inst.demand[pairs])
    np.testing.assert_array_equal(sub.capacity, inst.capacity[sps])
    # every lane still joins the same named places, through the new pair numbers
    for j, lane in enumerate(lanes):
        assert sub.lane_label(j) == inst.lane_label(lane)
        full_o, o = inst.lane_origin[lane], sub.lane_origin[j]
        if inst.lane_from_supplier[lane]:
            assert sub.supplier_label(o) == inst.supplier_label(full_o)
        else:
            assert sub.pair_label(o) == inst.pair_label(full_o)
        assert sub.pair_label(sub.lane_dest[j]) == inst.pair_label(inst.lane_dest[lane])
    with pytest.raises(ValueError, match="not kept"):
        inst.restrict(sps, pairs[:0], lanes)  # lanes into pairs that are cut away


def test_a_field_without_an_axis_is_refused(monkeypatch):
    from optimiser import instance as I

    monkeypatch.setattr(I, "LANE_FIELDS", I.LANE_FIELDS[:-1])
    with pytest.raises(TypeError, match="lane_dest_name"):
        I._check_field_axes()
