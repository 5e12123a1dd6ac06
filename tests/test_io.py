"""Reading and writing instance tables: Arrow IPC and Parquet round trips, input types."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather
import pytest

from optimiser import InvalidInstanceError, load_instance
from optimiser.io import as_numpy, read_instance_tables, write_instance_tables
from optimiser.schema import TABLES_BY_NAME
from optimiser.tables import table_from_rows

TABLE_NAMES = ("suppliers", "nodes", "lanes", "demand", "capacity", "floors", "pipeline")


def same_values(a, b):
    """Two Instances hold exactly the same data."""
    assert a.name == b.name and a.horizon == b.horizon and a.budget == b.budget
    for k in ("commodities", "supplier_names", "node_names", "lane_mode", "lane_origin_name",
              "lane_dest_name"):
        assert getattr(a, k).tolist() == getattr(b, k).tolist(), k
    for k in ("unit_price", "contract_min", "contract_max", "capacity", "initial_stock",
              "max_stock", "holding_cost", "shortfall_penalty", "readiness_penalty",
              "readiness_hard", "floor", "demand", "pipeline", "lane_lead", "lane_cost",
              "lane_capacity", "lane_origin", "lane_dest", "lane_from_supplier"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k), err_msg=k)
    for name in a.tables:
        assert a.tables[name].equals(b.tables[name]), name


@pytest.mark.parametrize("which", ["tiny", "seed-155mm"])
def test_arrow_parquet_arrow_round_trip(which, tmp_path, tiny_instance, seed_instance):
    src = tiny_instance if which == "tiny" else seed_instance
    a = load_instance(src)
    meta, tables, problems = read_instance_tables(src)
    assert not problems
    (tmp_path / "pq").mkdir()
    write_instance_tables(meta, tables, tmp_path / "pq", "parquet")
    b = load_instance(tmp_path / "pq")
    meta2, tables2, _ = read_instance_tables(tmp_path / "pq")
    (tmp_path / "back").mkdir()
    write_instance_tables(meta2, tables2, tmp_path / "back", "arrow")
    c = load_instance(tmp_path / "back")
    same_values(a, b)
    same_values(a, c)
    # Arrow -> Parquet -> Arrow gives back every table, column types and metadata included
    meta3, tables3, problems3 = read_instance_tables(tmp_path / "back")
    assert not problems3 and meta3 == meta
    assert sorted(tables3) == sorted(tables)
    for name in tables:
        assert tables3[name].schema == tables[name].schema, name
        assert tables3[name].equals(tables[name], check_metadata=True), name
        assert tables2[name].equals(tables[name]), name


def _exotic(table: pa.Table) -> pa.Table:
    """Same values with dictionary-encoded / large_string strings and narrow numeric types."""
    cols = []
    for i, f in enumerate(table.schema):
        col = table.column(i)
        if pa.types.is_string(f.type):
            col = pc.dictionary_encode(col) if i % 2 == 0 else col.cast(pa.large_string())
        elif f.name in ("day", "lead_time_days"):
            col = col.cast(pa.uint16())
        elif pa.types.is_floating(f.type) and f.name in ("quantity", "floor"):
            col = col.cast(pa.float32())
        cols.append(col)
    return pa.table(cols, names=table.column_names)


@pytest.mark.parametrize("fmt", ["arrow", "parquet"])
def test_dictionary_and_large_string_inputs(fmt, tmp_path, tiny_instance, write_instance):
    a = load_instance(tiny_instance)
    meta, tables, _ = read_instance_tables(tiny_instance)
    exotic = {k: _exotic(t) for k, t in tables.items()}
    assert pa.types.is_dictionary(exotic["suppliers"].schema.field("supplier").type)
    assert pa.types.is_large_string(exotic["suppliers"].schema.field("commodity").type)
    path = write_instance(meta, exotic, fmt=fmt)
    same_values(a, load_instance(path))


def test_integer_columns_accept_any_integer_type(tiny_rows, write_instance):
    meta, rows = tiny_rows
    from optimiser.tables import table_from_rows

    t = table_from_rows("demand", rows.pop("demand"))
    for typ in (pa.int8(), pa.uint8(), pa.int64(), pa.uint64()):
        t2 = t.set_column(2, "day", t.column("day").cast(typ))
        inst = load_instance(write_instance(meta, {**rows, "demand": t2}))
        assert inst.demand.sum() == sum(t.column("quantity").to_pylist())


def test_feather_v2_written_by_pyarrow_feather(tiny_instance, tmp_path, write_instance):
    meta, tables, _ = read_instance_tables(tiny_instance)
    path = write_instance(meta, {})
    for k, t in tables.items():
        feather.write_feather(t, path / f"{k}.arrow")  # compressed Feather v2
    same_values(load_instance(tiny_instance), load_instance(path))


def test_absent_optional_columns_get_defaults(tiny_rows, write_instance):
    meta, rows = tiny_rows
    inst = load_instance(write_instance(meta, rows))
    t = inst.tables["nodes"]
    assert t.column_names == [c.name for c in TABLES_BY_NAME["nodes"].columns]
    assert set(inst.shortfall_penalty.tolist()) == {1e6}
    assert np.isinf(inst.max_stock[0]) and inst.max_stock[2] == 200.0


def test_extension_type_refused(tiny_rows, write_instance):
    meta, rows = tiny_rows
    from optimiser.tables import table_from_rows

    t = table_from_rows("suppliers", rows.pop("suppliers"))
    uuid = pa.uuid() if hasattr(pa, "uuid") else None
    if uuid is None:
        pytest.skip("pyarrow without canonical uuid extension type")
    ext = pa.ExtensionArray.from_storage(uuid, pa.array([b"0" * 16] * 3, pa.binary(16)))
    t = t.set_column(0, "supplier", ext)
    with pytest.raises(InvalidInstanceError) as e:
        load_instance(write_instance(meta, {**rows, "suppliers": t}))
    assert any(p.column == "supplier" and "extension type" in p.message for p in e.value.problems)


def test_duplicate_column_refused(tiny_rows, write_instance):
    meta, rows = tiny_rows
    from optimiser.tables import table_from_rows

    t = table_from_rows("pipeline", rows.pop("pipeline"))
    t = pa.Table.from_arrays(t.columns + [t.column("quantity")], names=t.column_names + ["quantity"])
    with pytest.raises(InvalidInstanceError) as e:
        load_instance(write_instance(meta, {**rows, "pipeline": t}))
    assert any(p.table == "pipeline.arrow" and p.column == "quantity" and "more than once" in p.message
               for p in e.value.problems)


def test_not_a_directory(tmp_path):
    with pytest.raises(InvalidInstanceError) as e:
        load_instance(tmp_path / "nope")
    assert "not a directory" in str(e.value)


def test_as_numpy_fills_nulls():
    arr = pa.chunked_array([pa.array([1.0, None]), pa.array([3.0])])
    assert as_numpy(arr, fill=np.inf).tolist() == [1.0, np.inf, 3.0]


@pytest.mark.parametrize("name", ["tiny", "seed-155mm"])
def test_bundled_instances_match_their_script(name, bundled, tmp_path):
    """instances/<name> is what instances/build_bundled.py writes, and it validates."""
    import json

    bundled.write(name, tmp_path)
    committed = bundled.HERE / name
    a, b = read_instance_tables(committed), read_instance_tables(tmp_path / name)
    assert json.loads((committed / "instance.json").read_text()) == \
        json.loads((tmp_path / name / "instance.json").read_text())
    assert a[1].keys() == b[1].keys()
    for k in a[1]:
        assert a[1][k].equals(b[1][k]), k
    assert load_instance(committed).warnings == ()


def test_seed_instance_encodes_the_report(seed_instance):
    inst = load_instance(seed_instance)
    kr = [p for p in range(inst.n_supplier_pairs) if inst.supplier_label(p).startswith("KR-")]
    assert inst.contract_min[kr].sum() == inst.contract_max[kr].sum() == 100_000
    front = int(np.flatnonzero(inst.node_names == "UA-front")[0])
    i = int(np.flatnonzero(inst.nc_node == front)[0])
    assert (inst.demand[i] == 7000).all()
    # the producer sells only to the buyer: no lane from a KR supplier reaches the consumer
    for lane in range(inst.n_lanes):
        if inst.lane_origin_name[lane].startswith("KR-"):
            assert inst.lane_dest_name[lane].startswith("US-")
        if inst.lane_dest_name[lane] == "UA-front":
            assert inst.lane_origin_name[lane].startswith("US-") and \
                not inst.lane_from_supplier[lane]
    assert "military" not in " ".join(inst.supplier_names).lower()


# --- v2: sizes from metadata, special files, many columns, typos -----------------------------

@pytest.mark.parametrize("compression", [None, "zstd", "lz4"])
def test_table_size_from_arrow_metadata(tmp_path, compression):
    import pyarrow.ipc as ipc

    from optimiser.io import table_size

    t = pa.table({"node": pa.array(["a", "bb"] * 500).dictionary_encode(),
                  "day": pa.array(np.arange(1000, dtype=np.int32)), "quantity": np.zeros(1000)})
    path = tmp_path / "t.arrow"
    with ipc.new_file(str(path), t.schema,
                      options=ipc.IpcWriteOptions(compression=compression)) as w:
        w.write_table(t, max_chunksize=300)
    rows, nbytes = table_size(path)
    assert rows == 1000
    assert t.nbytes <= nbytes <= t.nbytes + 1024  # buffers are padded to 8 bytes


def test_table_size_from_parquet_metadata(tmp_path):
    import pyarrow.parquet as pq

    from optimiser.io import table_size

    t = pa.table({"quantity": np.arange(5000, dtype=np.float64)})
    pq.write_table(t, tmp_path / "t.parquet", row_group_size=1000)
    rows, nbytes = table_size(tmp_path / "t.parquet")
    assert rows == 5000 and nbytes >= 5000 * 8


def test_not_regular(tmp_path):
    import os

    from optimiser.io import not_regular

    (tmp_path / "f").write_text("x")
    os.mkfifo(tmp_path / "p")
    os.symlink(tmp_path / "nothing", tmp_path / "dangling")
    assert not_regular(tmp_path / "f") is None
    assert not_regular(tmp_path / "absent") is None
    assert "FIFO" in not_regular(tmp_path / "p")
    assert "directory" in not_regular(tmp_path)
    assert "link to nothing" in not_regular(tmp_path / "dangling")


def test_100k_columns_checked_in_linear_time(tiny_rows, write_instance):
    meta, rows = tiny_rows
    t = table_from_rows("suppliers", rows.pop("suppliers"))
    extra = {f"c{i}": pa.array([0] * t.num_rows, pa.int8()) for i in range(100_000)}
    t = pa.table({**{n: t.column(n) for n in t.column_names}, **extra})
    notes = []
    meta_, tables, problems = read_instance_tables(write_instance(meta, {**rows, "suppliers": t}),
                                                   notes)
    assert problems == [] and tables["suppliers"].num_columns == 6
    assert len(notes) == 11 and "99,990 more columns" in notes[-1].message


def test_ignored_files_noted_and_misspelt_ones_refused(tiny_rows, write_instance):
    meta, rows = tiny_rows
    path = write_instance(meta, rows)
    feather.write_feather(table_from_rows("lanes", rows["lanes"]), path / "lane.arrow")
    (path / "notes.parquet").write_bytes(b"")
    notes = []
    _, _, problems = read_instance_tables(path, notes)
    # 'lane' is within two edits of 'lanes', but lanes.arrow is present: only noted
    assert problems == []
    assert {n.table for n in notes} == {"lane.arrow", "notes.parquet"}
    assert "not to be confused with 'lanes'" in [n for n in notes if n.table == "lane.arrow"][0].message


def test_feather_suffix_for_a_known_table_refused(tiny_rows, write_instance):
    meta, rows = tiny_rows
    demand = rows.pop("demand")
    path = write_instance(meta, rows)
    feather.write_feather(table_from_rows("demand", demand), path / "demand.feather")
    with pytest.raises(InvalidInstanceError) as e:
        load_instance(path)
    assert any(p.table == "demand.feather" and "rename it demand.arrow" in p.message
               for p in e.value.problems)
