"""Hostile and extreme input: every probe is exit 2 with a message, at once, no big allocation.

Fixtures are generated in tmp_path: a one-supplier, one-node instance, then one hostile
change per test. The command line is run in-process (optimiser.cli.main).
"""

from __future__ import annotations

import json
import os
import resource

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

import optimiser
from optimiser import InvalidInstanceError, load_instance

from .cli_helpers import main_run as run

ONE = {
    "suppliers": pa.table({"supplier": ["S"], "commodity": ["k"], "unit_price": [1.0],
                           "daily_capacity": [100.0]}),
    "nodes": pa.table({"node": ["N"], "commodity": ["k"]}),
    "lanes": pa.table({"origin": ["S"], "destination": ["N"], "commodity": ["k"],
                       "lead_time_days": pa.array([0], pa.int32())}),
}


def write(path, table, compression=None):
    with ipc.new_file(str(path), table.schema,
                      options=ipc.IpcWriteOptions(compression=compression)) as w:
        w.write_table(table)


def make(tmp_path, meta_text=None, name="inst", horizon=3, **tables):
    d = tmp_path / name
    d.mkdir()
    meta = {"format": "optimiser-instance", "version": 1, "name": name, "horizon_days": horizon}
    (d / "instance.json").write_text(meta_text if meta_text is not None else json.dumps(meta))
    for k, t in {**ONE, **tables}.items():
        if isinstance(t, pa.Table):
            write(d / f"{k}.arrow", t)
    return d


def demand(q=10.0, day=1):
    return pa.table({"node": ["N"], "commodity": ["k"], "day": pa.array([day], pa.int32()),
                     "quantity": [q]})


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize("horizon", [10**8, 10**9, 10**12])
def test_huge_horizon_refused_without_allocating(capsys, tmp_path, horizon):
    before = peak_rss_mb()
    code, out, err = run(capsys, "validate", make(tmp_path, horizon=horizon))
    assert code == 2
    assert "horizon_days" in err and f"{horizon}" in err and "100,000 days" in err
    assert peak_rss_mb() - before < 200  # refused from the number, nothing allocated


@pytest.mark.parametrize("key", ["horizon_days", "budget"])
def test_400_digit_numbers_in_instance_json(capsys, tmp_path, key):
    meta = {"format": "optimiser-instance", "version": 1, "name": "x", "horizon_days": 3}
    text = json.dumps(meta)[:-1] + f', "{key}": 1' + "0" * 400 + "}"
    text = text.replace('"horizon_days": 3, "horizon_days"', '"horizon_days"')
    code, out, err = run(capsys, "validate", make(tmp_path, meta_text=text))
    assert code == 2 and key in err and "401-digit integer" in err


def test_json_nested_100000_levels(capsys, tmp_path):
    text = ('{"format": "optimiser-instance", "version": 1, "name": "x", "horizon_days": 3, '
            '"description": ' + "[" * 100_000 + "]" * 100_000 + "}")
    code, out, err = run(capsys, "validate", make(tmp_path, meta_text=text))
    assert code == 2 and "nests too deeply" in err


def test_nan_literal_in_instance_json_is_not_json(capsys, tmp_path):
    text = '{"format": "optimiser-instance", "version": 1, "name": "x", "horizon_days": 3, ' \
           '"budget": NaN}'
    code, out, err = run(capsys, "validate", make(tmp_path, meta_text=text))
    assert code == 2 and "NaN is not a JSON number" in err


def test_demand_1e25_refused_at_validation_and_1e12_solves(tmp_path):
    with pytest.raises(InvalidInstanceError) as e:
        load_instance(make(tmp_path, name="big", demand=demand(1e25)))
    (p,) = e.value.problems
    assert (p.table, p.row, p.column) == ("demand.arrow", 0, "quantity")
    assert "1e+25" in p.message and "1e+12" in p.message
    plan = optimiser.solve(load_instance(make(tmp_path, name="ok", demand=demand(1e12))))
    assert plan.status == "optimal"  # never "infeasible": unmet demand is always allowed


@pytest.mark.parametrize("typ, days", [(pa.int64(), [2**40, 2**41]),
                                       (pa.uint64(), [2**64 - 1, 2**64 - 2])])
def test_wide_integer_days_keep_their_true_value(tmp_path, typ, days):
    t = pa.table({"node": ["N", "N"], "commodity": ["k", "k"], "day": pa.array(days, typ),
                  "quantity": [1.0, 1.0]})
    with pytest.raises(InvalidInstanceError) as e:
        load_instance(make(tmp_path, demand=t))
    found = e.value.problems
    assert [(p.row, p.column) for p in found] == [(0, "day"), (1, "day")]
    assert str(days[0]) in found[0].message and str(days[1]) in found[1].message
    assert not any("duplicate" in p.message for p in found)


@pytest.mark.parametrize("kind", ["fifo", "directory", "dev-zero"])
def test_special_files_named_not_missing(capsys, tmp_path, kind):
    d = make(tmp_path)
    target = d / "demand.arrow"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "directory":
        target.mkdir()
    else:
        os.symlink("/dev/zero", target)
    code, out, err = run(capsys, "validate", d)
    assert code == 2 and "demand.arrow: is not a regular file" in err
    assert {"fifo": "FIFO", "directory": "directory", "dev-zero": "character device"}[kind] in err
    assert "missing" not in err


def test_instance_json_as_fifo(capsys, tmp_path):
    d = make(tmp_path)
    (d / "instance.json").unlink()
    os.mkfifo(d / "instance.json")
    code, out, err = run(capsys, "validate", d)
    assert code == 2 and "instance.json: is not a regular file" in err


def test_invalid_utf8_name(capsys, tmp_path):
    bad = pa.array([b"S\xff\xfe"], pa.binary()).view(pa.string())
    sup = ONE["suppliers"].set_column(0, "supplier", bad)
    code, out, err = run(capsys, "validate", make(tmp_path, suppliers=sup))
    assert code == 2
    assert "suppliers.arrow row 0, column 'supplier': holds bytes that are not valid UTF-8" in err


def test_control_characters_escaped_in_messages(capsys, tmp_path):
    lanes = ONE["lanes"].set_column(0, "origin", pa.array(["S\x1b[31mRED\x07\x00"]))
    code, out, err = run(capsys, "validate", make(tmp_path, lanes=lanes))
    assert code == 2
    assert "\x1b" not in err and "\x07" not in err and "\x00" not in err
    assert r"'S\x1b[31mRED\x07\x00'" in err


def test_unregistered_extension_type_refused(capsys, tmp_path):
    class Ext(pa.ExtensionType):
        def __init__(self):
            super().__init__(pa.float64(), "someone.money")

        def __arrow_ext_serialize__(self):
            return b""

        @classmethod
        def __arrow_ext_deserialize__(cls, storage_type, serialized):
            return cls()

    sup = ONE["suppliers"].set_column(2, "unit_price",
                                      pa.ExtensionArray.from_storage(Ext(), pa.array([1.0])))
    d = make(tmp_path, suppliers=sup)  # not registered: read back as storage + metadata
    code, out, err = run(capsys, "validate", d)
    assert code == 2 and "extension type 'someone.money'" in err


def test_200m_rows_in_a_small_compressed_file_refused_from_metadata(capsys, tmp_path):
    n = 20_000_000
    zeros = pa.array(np.zeros(n, np.int32))
    t = pa.table({"node": pa.DictionaryArray.from_arrays(zeros, pa.array(["N"])),
                  "commodity": pa.DictionaryArray.from_arrays(zeros, pa.array(["k"])),
                  "day": zeros, "quantity": pa.array(np.zeros(n))})
    d = make(tmp_path)
    with ipc.new_file(str(d / "demand.arrow"), t.schema,
                      options=ipc.IpcWriteOptions(compression="zstd")) as w:
        for _ in range(10):
            w.write_table(t)
    del t, zeros
    assert (d / "demand.arrow").stat().st_size < 2_000_000
    before = peak_rss_mb()
    code, out, err = run(capsys, "validate", d)
    assert code == 2 and "holds 200,000,000 rows" in err and "at most 3 distinct keys" in err
    assert "rewrite the file" not in err
    assert peak_rss_mb() - before < 500  # 200M rows are 4 GB decompressed: never read


def test_memory_bound_refuses_with_sizes(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("OPTIMISER_MEMORY_BYTES", str(1 << 20))  # pretend 1 MiB is free
    code, out, err = run(capsys, "validate", make(tmp_path, horizon=100_000))
    assert code == 2 and "1.0 MiB of memory available" in err and "100,000 days" in err


def test_csv_folder_given_to_validate_suggests_import(capsys, tmp_path):
    d = tmp_path / "csv"
    d.mkdir()
    (d / "suppliers.csv").write_text("supplier,commodity,unit_price,daily_capacity\nS,k,1,2\n")
    code, out, err = run(capsys, "validate", d)
    assert code == 2 and "optimiser import-csv" in err
    code, out, err = run(capsys, "info", d)
    assert code == 2 and "optimiser import-csv" in err


def test_instance_json_with_byte_order_mark_accepted(tmp_path):
    meta = {"format": "optimiser-instance", "version": 1, "name": "bom", "horizon_days": 3}
    d = make(tmp_path)
    (d / "instance.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(meta).encode())
    assert load_instance(d).name == "bom"


def test_instance_json_not_utf8_or_too_large(capsys, tmp_path):
    d = make(tmp_path)
    (d / "instance.json").write_bytes(b'{"name": "\xff"}')
    code, out, err = run(capsys, "validate", d)
    assert code == 2 and "not UTF-8" in err
    (d / "instance.json").write_text('{"description": "' + "x" * (2 << 20) + '"}')
    code, out, err = run(capsys, "validate", d)
    assert code == 2 and "larger than 1.0 MiB" in err


def test_hostile_file_and_directory_names_escaped(capsys, tmp_path):
    d = make(tmp_path, name="in\x1bst")
    write(d / "flo\x07ors.arrow", demand())
    code, out, err = run(capsys, "validate", d)
    assert "\x1b" not in err and "\x07" not in err
    assert code == 2 and r"flo\x07ors.arrow: is not a table" in err
    assert "did you mean 'floors.arrow'" in err
    (d / "suppliers.arrow").unlink()
    code, out, err = run(capsys, "validate", d)
    assert code == 2 and "\x1b" not in err and r"in\x1bst" in err
