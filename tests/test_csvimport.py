"""import-csv: CSV folder -> instance, with declared types and per-cell problems."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from optimiser import InvalidInstanceError, load_instance
from optimiser.csvimport import import_csv, read_csv_dir
from optimiser.errors import OutputExistsError, UsageError
from optimiser.io import read_instance_tables


def export_csv(src, directory, with_meta=True):
    directory.mkdir(parents=True, exist_ok=True)
    meta, tables, _ = read_instance_tables(src)
    for k, t in tables.items():
        pcsv.write_csv(t, directory / f"{k}.csv")
    if with_meta:
        shutil.copy(src / "instance.json", directory / "instance.json")
    return meta, tables


@pytest.mark.parametrize("which", ["tiny", "seed-155mm"])
def test_round_trip_preserves_every_value(which, tmp_path, tiny_instance, seed_instance):
    src = tiny_instance if which == "tiny" else seed_instance
    export_csv(src, tmp_path / "csv")
    import_csv(tmp_path / "csv", tmp_path / "out")
    a, b = load_instance(src), load_instance(tmp_path / "out")
    for k in a.tables:
        assert a.tables[k].equals(b.tables[k]), k
    assert json.loads((tmp_path / "out" / "instance.json").read_text()) == \
        json.loads((src / "instance.json").read_text())


def test_round_trip_of_generated_instance_parquet(tmp_path):
    from optimiser.generate import write_generated

    write_generated(tmp_path / "g", 4, 9, 2, 30, seed=5)
    export_csv(tmp_path / "g", tmp_path / "csv")
    import_csv(tmp_path / "csv", tmp_path / "out", fmt="parquet")
    assert (tmp_path / "out" / "lanes.parquet").is_file()
    a, b = load_instance(tmp_path / "g"), load_instance(tmp_path / "out")
    for k in a.tables:
        assert a.tables[k].equals(b.tables[k]), k


def write(directory, name, text):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.csv").write_text(text, encoding="utf-8")


MINIMAL = {
    "suppliers": "supplier,commodity,unit_price,daily_capacity\n007,42,10,5\n",
    "nodes": "node,commodity\n1e3,42\n",
    "lanes": "origin,destination,commodity,lead_time_days\n007,1e3,42,1\n",
}


def minimal(directory, **override):
    for k, v in {**MINIMAL, **override}.items():
        write(directory, k, v)
    return directory


def test_strings_that_look_numeric_stay_strings(tmp_path):
    meta, tables = read_csv_dir(minimal(tmp_path / "csv"), horizon_days=3)
    assert tables["suppliers"].column("supplier").to_pylist() == ["007"]
    assert tables["nodes"].column("node").to_pylist() == ["1e3"]
    assert tables["suppliers"].column("commodity").type == pa.string()
    assert meta["name"] == "csv" and meta["horizon_days"] == 3


def test_optional_columns_absent_stay_absent(tmp_path):
    import_csv(minimal(tmp_path / "csv"), tmp_path / "out", horizon_days=3)
    meta, raw, _ = read_instance_tables(tmp_path / "out")
    import pyarrow.ipc as ipc

    with pa.memory_map(str(tmp_path / "out" / "nodes.arrow")) as f:
        assert ipc.open_file(f).schema.names == ["node", "commodity"]
    with pa.memory_map(str(tmp_path / "out" / "lanes.arrow")) as f:
        assert "mode" not in ipc.open_file(f).schema.names


def test_empty_cells_mean_default_or_null(tmp_path):
    d = minimal(tmp_path / "csv",
                suppliers="supplier,commodity,unit_price,daily_capacity,contract_min,contract_max\n"
                          "s,k,10,5,,\n",
                nodes="node,commodity,initial_stock,max_stock,readiness_hard,shortfall_penalty\n"
                      "n,k, 4 ,,TRUE,\n",
                lanes="origin,destination,commodity,mode,lead_time_days,daily_capacity\ns,n,k,,0,inf\n")
    _, t = read_csv_dir(d, horizon_days=2)
    assert t["suppliers"].column("contract_min").to_pylist() == [0.0]
    assert t["suppliers"].column("contract_max").to_pylist() == [None]
    assert t["nodes"].column("initial_stock").to_pylist() == [4.0]
    assert t["nodes"].column("max_stock").to_pylist() == [None]
    assert t["nodes"].column("readiness_hard").to_pylist() == [True]
    assert t["nodes"].column("shortfall_penalty").to_pylist() == [1e6]
    assert t["lanes"].column("mode").to_pylist() == [""]
    assert math.isinf(t["lanes"].column("daily_capacity")[0].as_py())


def test_bad_cells_reported_with_row_and_column(tmp_path):
    d = minimal(tmp_path / "csv",
                suppliers="supplier,commodity,unit_price,daily_capacity,notes\n"
                          "s,k,10,5,a\ns2,k,ten,5,b\ns3,k,,-1,c\n",
                nodes="node,commodity,readiness_hard\nn,k,yes\n",
                lanes="origin,destination,commodity,lead_time_days\ns,n,k,1.5\n",
                demand="node,commodity,day,quantity\nn,k,0,nan\nn,k,7,1\n")
    with pytest.raises(InvalidInstanceError) as e:
        read_csv_dir(d, horizon_days=5)
    found = {(p.table, p.row, p.column) for p in e.value.problems}
    assert ("suppliers.csv", 1, "unit_price") in found  # 'ten'
    assert ("suppliers.csv", 2, "unit_price") in found  # empty: required
    assert ("suppliers.csv", 2, "daily_capacity") in found  # negative
    assert ("nodes.csv", 0, "readiness_hard") in found
    assert ("lanes.csv", 0, "lead_time_days") in found
    assert ("demand.csv", 0, "quantity") in found  # NaN
    assert ("demand.csv", 1, "day") in found  # out of horizon
    msgs = {(p.table, p.row, p.column): p.message for p in e.value.problems}
    assert "'ten' is not a number" in msgs[("suppliers.csv", 1, "unit_price")]
    assert "is null" in msgs[("suppliers.csv", 2, "unit_price")]
    # a cell reported as unconvertible is not reported again as null
    assert sum(1 for p in e.value.problems if (p.table, p.row, p.column)
               == ("suppliers.csv", 1, "unit_price")) == 1


def test_missing_required_table_and_column(tmp_path):
    d = minimal(tmp_path / "csv", nodes="node\nn\n")
    (d / "lanes.csv").unlink()
    with pytest.raises(InvalidInstanceError) as e:
        read_csv_dir(d, horizon_days=5)
    found = {(p.table, p.row, p.column) for p in e.value.problems}
    assert ("lanes.csv", None, None) in found
    assert ("nodes.csv", None, "commodity") in found


def test_horizon_required_without_instance_json(tmp_path):
    with pytest.raises(InvalidInstanceError) as e:
        read_csv_dir(minimal(tmp_path / "csv"))
    assert any(p.column == "horizon_days" for p in e.value.problems)


def test_flags_override_instance_json(tmp_path, tiny_instance):
    export_csv(tiny_instance, tmp_path / "csv")
    meta, _ = read_csv_dir(tmp_path / "csv", name="renamed", budget=5.0)
    assert meta["name"] == "renamed" and meta["budget"] == 5.0 and meta["horizon_days"] == 10


def test_ragged_csv_is_a_problem_not_a_crash(tmp_path):
    d = minimal(tmp_path / "csv", suppliers="supplier,commodity,unit_price,daily_capacity\ns,k,1\n")
    with pytest.raises(InvalidInstanceError) as e:
        read_csv_dir(d, horizon_days=2)
    assert any(p.table == "suppliers.csv" and "cannot be read as CSV" in p.message
               for p in e.value.problems)


def test_output_rules(tmp_path, tiny_instance):
    export_csv(tiny_instance, tmp_path / "csv")
    import_csv(tmp_path / "csv", tmp_path / "out")
    with pytest.raises(OutputExistsError):
        import_csv(tmp_path / "csv", tmp_path / "out")
    import_csv(tmp_path / "csv", tmp_path / "out", force=True)
    with pytest.raises(UsageError):
        import_csv(tmp_path / "csv", tmp_path / "csv", force=True)  # never overwrite the input
    assert (tmp_path / "csv" / "suppliers.csv").is_file()
    with pytest.raises(UsageError):
        import_csv(tmp_path / "nope", tmp_path / "out2")


def test_invalid_import_writes_nothing(tmp_path):
    d = minimal(tmp_path / "csv", suppliers="supplier,commodity,unit_price,daily_capacity\ns,k,-1,1\n")
    with pytest.raises(InvalidInstanceError):
        import_csv(d, tmp_path / "out", horizon_days=3)
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["csv"]


def test_bom_and_quoted_values(tmp_path):
    d = minimal(tmp_path / "csv",
                suppliers='\ufeffsupplier,commodity,unit_price,daily_capacity\n"s, inc",k,"1e1",5\n',
                lanes='origin,destination,commodity,lead_time_days\n"s, inc",1e3,k,1\n',
                nodes="node,commodity\n1e3,k\n")
    _, t = read_csv_dir(d, horizon_days=2)
    assert t["suppliers"].column("supplier").to_pylist() == ["s, inc"]
    assert t["suppliers"].column("unit_price").to_pylist() == [10.0]
    assert np.isclose(t["suppliers"].column("daily_capacity")[0].as_py(), 5.0)


def test_whitespace_only_cells_are_missing_values_not_zero(tmp_path):
    """A cell holding only spaces or a tab is empty: an optional column's default (or
    null), never 0; in a required column it is reported, never read as 0."""
    d = minimal(tmp_path / "csv",
                suppliers="supplier,commodity,unit_price,daily_capacity,contract_max\n"
                          "s,k,10,5,   \n",
                nodes="node,commodity,initial_stock,max_stock,shortfall_penalty,readiness_hard\n"
                      "n,k,\t,  ,   , \n",
                lanes="origin,destination,commodity,lead_time_days,daily_capacity\n"
                      "s,n,k,1,  \n")
    _, t = read_csv_dir(d, horizon_days=2)
    assert t["suppliers"].column("contract_max").to_pylist() == [None]  # no maximum
    assert t["nodes"].column("initial_stock").to_pylist() == [0.0]  # its default
    assert t["nodes"].column("max_stock").to_pylist() == [None]  # no storage limit
    assert t["nodes"].column("shortfall_penalty").to_pylist() == [1e6]  # default, not 0
    assert t["nodes"].column("readiness_hard").to_pylist() == [False]
    assert t["lanes"].column("daily_capacity").to_pylist() == [None]  # unlimited, not 0
    bad = minimal(tmp_path / "bad",
                  suppliers="supplier,commodity,unit_price,daily_capacity\ns,k,  ,5\n",
                  lanes="origin,destination,commodity,lead_time_days\ns,n,k, \t \n")
    with pytest.raises(InvalidInstanceError) as e:
        read_csv_dir(bad, horizon_days=2)
    found = {(p.table, p.row, p.column): p.message for p in e.value.problems}
    assert "is null" in found[("suppliers.csv", 0, "unit_price")]
    assert ("lanes.csv", 0, "lead_time_days") in found

# --- v2: line numbers, separators, typos, dates ------------------------------------------------

def test_problems_cite_the_csv_line_number(tmp_path):
    # line 1 header, line 2 empty (skipped by the reader), data rows on lines 3 and 4
    d = minimal(tmp_path / "csv",
                suppliers="supplier,commodity,unit_price,daily_capacity\n\n007,42,10,5\n"
                          "s2,42,ten,5\n")
    with pytest.raises(InvalidInstanceError) as e:
        read_csv_dir(d, horizon_days=3)
    (p,) = [p for p in e.value.problems if p.column == "unit_price"]
    assert (p.table, p.row, p.line) == ("suppliers.csv", 1, 4)
    assert str(p).startswith("suppliers.csv line 4 (row 1), column 'unit_price': 'ten'")
    assert p.as_dict()["line"] == 4


def test_validation_problems_also_cite_lines(tmp_path):
    d = minimal(tmp_path / "csv", lanes="origin,destination,commodity,lead_time_days\n"
                                        "007,1e3,42,1\n007,1e4,42,1\n")
    with pytest.raises(InvalidInstanceError) as e:
        read_csv_dir(d, horizon_days=3)
    (p,) = e.value.problems
    assert (p.table, p.row, p.column, p.line) == ("lanes.csv", 1, "destination", 3)
    assert "did you mean '1e3'?" in p.message


def test_semicolon_separated_csv_gets_a_hint(tmp_path):
    d = minimal(tmp_path / "csv",
                suppliers="supplier;commodity;unit_price;daily_capacity\n007;42;10;5\n")
    with pytest.raises(InvalidInstanceError) as e:
        read_csv_dir(d, horizon_days=3)
    msgs = [p.message for p in e.value.problems if p.table == "suppliers.csv"]
    assert len(msgs) == 1 and "semicolons" in msgs[0] and "comma-separated" in msgs[0]


def test_misspelt_column_and_file_are_errors(tmp_path):
    d = minimal(tmp_path / "csv", nodes="node,commodity,max_stok\n1e3,42,5\n")
    write(d, "floor", "node,commodity,day,floor\n1e3,42,0,1\n")
    with pytest.raises(InvalidInstanceError) as e:
        read_csv_dir(d, horizon_days=3)
    found = {(p.table, p.column): p.message for p in e.value.problems}
    assert "did you mean 'max_stock'?" in found[("nodes.csv", "max_stok")]
    assert "did you mean 'floors.csv'?" in found[("floor.csv", None)]


def test_extra_column_near_a_present_one_is_only_noted(tmp_path):
    notes: list[str] = []
    d = minimal(tmp_path / "csv", nodes="node,commodity,note\n1e3,42,hello\n")
    read_csv_dir(d, horizon_days=3, notes=notes)
    assert any("'note'" in n and "ignoring" in n for n in notes)


def test_iso_dates_in_csv(tmp_path):
    d = minimal(tmp_path / "csv")
    write(d, "demand", "node,commodity,date,quantity\n1e3,42,2026-12-01,4\n1e3,42,2026-12-03,5\n")
    (d / "instance.json").write_text(json.dumps({"name": "d", "horizon_days": 3,
                                                 "start_date": "2026-12-01"}))
    import_csv(d, tmp_path / "out")
    inst = load_instance(tmp_path / "out")
    assert inst.demand.tolist() == [[4.0, 0.0, 5.0]]
    assert str(inst.start_date) == "2026-12-01"


def test_bad_and_out_of_horizon_dates(tmp_path):
    d = minimal(tmp_path / "csv")
    write(d, "demand", "node,commodity,date,quantity\n1e3,42,2026-13-01,4\n1e3,42,2026-12-04,5\n")
    (d / "instance.json").write_text(json.dumps({"name": "d", "horizon_days": 3,
                                                 "start_date": "2026-12-01"}))
    with pytest.raises(InvalidInstanceError) as e:
        read_csv_dir(d)
    found = {(p.row, p.column): p.message for p in e.value.problems}
    assert "'2026-13-01' is not an ISO 8601 date" in found[(0, "date")]
    assert "is 2026-12-04 but the horizon runs 2026-12-01..2026-12-03" in found[(1, "date")]


def test_dates_without_start_date_refused(tmp_path):
    d = minimal(tmp_path / "csv")
    write(d, "demand", "node,commodity,date,quantity\n1e3,42,2026-12-01,4\n")
    with pytest.raises(InvalidInstanceError) as e:
        read_csv_dir(d, horizon_days=3)
    assert any("set \"start_date\"" in p.message for p in e.value.problems)


def test_many_columns_are_linear(tmp_path):
    header = ",".join(["supplier", "commodity", "unit_price", "daily_capacity"]
                      + [f"x{i}" for i in range(100_000)])
    row = ",".join(["007", "42", "10", "5"] + ["1"] * 100_000)
    d = minimal(tmp_path / "csv", suppliers=f"{header}\n{row}\n")
    notes: list[str] = []
    read_csv_dir(d, horizon_days=3, notes=notes)
    assert any("and 99,990 more" in n for n in notes)


def test_invalid_utf8_csv(tmp_path):
    d = minimal(tmp_path / "csv")
    (d / "nodes.csv").write_bytes(b"node,commodity\n\xff\xfe,42\n")
    with pytest.raises(InvalidInstanceError) as e:
        read_csv_dir(d, horizon_days=3)
    assert any(p.table == "nodes.csv" and "UTF-8" in p.message for p in e.value.problems)


def test_line_numbers_with_a_quoted_name_spanning_lines(tmp_path):
    d = minimal(tmp_path / "csv",
                suppliers='supplier,commodity,unit_price,daily_capacity\n007,42,10,5\n'
                          '"two\nline name",42,1,5\n\nx,42,bad,5\n')
    with pytest.raises(InvalidInstanceError) as e:
        read_csv_dir(d, horizon_days=3)
    (p,) = [p for p in e.value.problems if p.column == "unit_price"]
    assert (p.row, p.line) == (2, 6)  # header 1, row 0 on 2, row 1 on 3-4, empty 5


def test_csv_larger_than_memory_refused_before_reading(tmp_path, monkeypatch):
    d = minimal(tmp_path / "csv")
    monkeypatch.setenv("OPTIMISER_MEMORY_BYTES", "100")
    with pytest.raises(InvalidInstanceError) as e:
        read_csv_dir(d, horizon_days=3)
    assert any("of memory available" in p.message for p in e.value.problems)
