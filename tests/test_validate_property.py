"""Property: a randomly broken instance is always refused cleanly.

Each example starts from the bundled tiny instance and applies one to three
breakages that each make it invalid (dropped required columns, wrong types,
nulls, negatives, NaN, unknown names, duplicate keys, days out of range,
truncated or non-Arrow files, Parquet bytes in a .arrow file, bad
instance.json). Loading must raise InvalidInstanceError — never another
exception, never acceptance — and `optimiser validate` must exit 2 with no
traceback.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from optimiser import InvalidInstanceError, load_instance
from optimiser.cli import main
from optimiser.io import read_instance_tables, write_table
from optimiser.schema import TABLES_BY_NAME

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"
META, TABLES, _ = read_instance_tables(TINY)
DAY_TABLES = ("demand", "capacity", "floors", "pipeline")
WRONG = {  # a column of the wrong kind for each declared kind
    "string": lambda n: pa.array(np.arange(n, dtype=np.int64)),
    "int": lambda n: pa.array(np.arange(n) + 0.5),
    "float": lambda n: pa.array([f"x{i}" for i in range(n)]),
    "bool": lambda n: pa.array(np.arange(n, dtype=np.int32)),
}


def _set(table: pa.Table, column: str, row: int, value, typ=None) -> pa.Table:
    i = table.column_names.index(column)
    values = table.column(i).to_pylist()
    values[row] = value
    return table.set_column(i, column, pa.array(values, type=typ or table.schema.field(i).type))


@st.composite
def breakage(draw):
    """One change that certainly makes the tiny instance invalid: (kind, args)."""
    kind = draw(st.sampled_from([
        "drop_column", "wrong_type", "null", "negative", "nan", "unknown_name", "duplicate",
        "day_out", "drop_table", "truncate", "parquet_in_arrow", "garbage", "meta"]))
    table = draw(st.sampled_from(sorted(TABLES)))
    decl = TABLES_BY_NAME[table]
    n = TABLES[table].num_rows
    row = draw(st.integers(0, n - 1))
    if kind == "drop_column":
        return kind, (table, draw(st.sampled_from([c.name for c in decl.columns if c.required])))
    if kind == "wrong_type":
        return kind, (table, draw(st.sampled_from([c.name for c in decl.columns])))
    if kind == "null":
        return kind, (table, row, draw(st.sampled_from([c.name for c in decl.columns
                                                          if not c.nullable])))
    if kind == "negative":
        cols = [c.name for c in decl.columns if c.minimum is not None]
        return kind, (table, row, draw(st.sampled_from(cols)),
                      draw(st.sampled_from([-1, -1e-9, -1e12, -math.inf])))
    if kind == "nan":
        cols = [c.name for c in decl.columns if c.kind == "float"]
        return kind, (table, row, draw(st.sampled_from(cols)))
    if kind == "unknown_name":
        t = draw(st.sampled_from(("lanes",) + DAY_TABLES))
        cols = ["origin", "destination"] if t == "lanes" else [TABLES_BY_NAME[t].key[0], "commodity"]
        return kind, (t, draw(st.integers(0, TABLES[t].num_rows - 1)), draw(st.sampled_from(cols)),
                      draw(st.sampled_from(["zz", "", "ALPHA", "front ", "depot-north/shells"])))
    if kind == "duplicate":
        return kind, (table, row)
    if kind == "day_out":
        t = draw(st.sampled_from(DAY_TABLES))
        return kind, (t, draw(st.integers(0, TABLES[t].num_rows - 1)),
                      draw(st.sampled_from([10, 11, 2**31 - 1, 2**40])))
    if kind == "drop_table":
        return kind, (draw(st.sampled_from(["suppliers", "nodes", "lanes"])),)
    if kind in ("truncate", "parquet_in_arrow", "garbage"):
        return kind, (table, draw(st.floats(0.0, 0.95)))
    return kind, (draw(st.sampled_from([
        ("version", 2), ("version", "1"), ("horizon_days", 0), ("horizon_days", -3),
        ("horizon_days", None), ("name", ""), ("format", "x"), ("budget", -1), ("budget", "x")])),)


def apply(meta: dict, tables: dict, files: dict, change) -> None:
    kind, args = change
    if kind == "drop_column":
        t, c = args
        tables[t] = tables[t].drop_columns([c])
    elif kind == "wrong_type":
        t, c = args
        col = TABLES_BY_NAME[t].column(c)
        i = tables[t].column_names.index(c)
        tables[t] = tables[t].set_column(i, c, WRONG[col.kind](tables[t].num_rows))
    elif kind == "null":
        t, r, c = args
        tables[t] = _set(tables[t], c, r, None)
    elif kind == "negative":
        t, r, c, v = args
        if TABLES_BY_NAME[t].column(c).kind == "int":
            v = -1 if not math.isfinite(v) or v > -1 else int(max(v, -2**31))
            tables[t] = _set(tables[t], c, r, v, pa.int64())
        else:
            tables[t] = _set(tables[t], c, r, float(v))
    elif kind == "nan":
        t, r, c = args
        tables[t] = _set(tables[t], c, r, math.nan)
    elif kind == "unknown_name":
        t, r, c, name = args
        if t == "lanes" and c == "origin" and name == "":
            name = "zz"
        tables[t] = _set(tables[t], c, r, name)
    elif kind == "duplicate":
        t, r = args
        tables[t] = pa.concat_tables([tables[t], tables[t].slice(r, 1)])
    elif kind == "day_out":
        t, r, d = args
        tables[t] = _set(tables[t], "day", r, d, pa.int64())
    elif kind == "drop_table":
        tables.pop(args[0], None)
    elif kind in ("truncate", "parquet_in_arrow", "garbage"):
        files[args[0]] = (kind, args[1])
    elif kind == "meta":
        key, value = args[0]
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value


COLUMN_KINDS = ("drop_column", "wrong_type", "null", "negative", "nan", "unknown_name")


def touched(change) -> tuple[str, str | None]:
    """(file, column or None) a change breaks: what the refusal must name."""
    kind, args = change
    if kind == "meta":
        return "instance.json", None
    if kind == "day_out":
        return f"{args[0]}.arrow", "day"
    if kind in COLUMN_KINDS:
        return f"{args[0]}.arrow", args[1] if kind in ("drop_column", "wrong_type") else args[2]
    return f"{args[0]}.arrow", None


def _file_of(table: str) -> str:
    """'suppliers.arrow' / 'suppliers' / a path ending in suppliers.arrow -> 'suppliers.arrow'."""
    name = Path(table).name
    return name if "." in name else f"{name}.arrow"


def write(directory: Path, meta: dict, tables: dict, files: dict) -> None:
    (directory / "instance.json").write_text(json.dumps(meta), encoding="utf-8")
    for name, t in tables.items():
        path = directory / f"{name}.arrow"
        write_table(t, path)
        if name in files:
            how, frac = files[name]
            data = path.read_bytes()
            if how == "truncate":
                path.write_bytes(data[: int(len(data) * frac)])
            elif how == "garbage":
                path.write_bytes(b"node,commodity\nx,y\n"[: max(1, int(19 * frac))])
            else:
                pq.write_table(t, path)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(breakage(), min_size=1, max_size=3))
def test_broken_instances_are_refused_cleanly(changes):
    meta, tables, files = dict(META), dict(TABLES), {}
    applied = []
    for change in changes:
        try:  # a change may not fit what an earlier one left (dropped table or column)
            apply(meta, tables, files, change)
            applied.append(change)
        except (KeyError, ValueError, TypeError, pa.ArrowException):
            pass
    assume(applied)
    directory = Path(tempfile.mkdtemp(prefix="broken-"))
    try:
        write(directory, meta, tables, files)
        try:
            load_instance(directory)
        except InvalidInstanceError as e:
            assert e.problems
            for p in e.problems:
                assert p.table and p.message
                assert p.row is None or 0 <= p.row
            # the user is sent to the file (and, for one change, the column) they broke
            named = {_file_of(p.table) for p in e.problems}
            assert named & {f for f, _ in map(touched, applied)}, (applied, e.problems)
            if len(applied) == 1:
                file, column = touched(applied[0])
                if column is not None:
                    kind, args = applied[0]
                    value = repr(args[3]) if kind == "unknown_name" else None  # a key pair
                    assert any(_file_of(p.table) == file and (p.column == column
                               or column in p.message or (value and value in p.message))
                               for p in e.problems), (applied, e.problems)
        else:
            raise AssertionError(f"accepted a broken instance: {changes}")
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            code = main(["validate", str(directory)])
        assert code == 2, err.getvalue()
        assert "Traceback" not in err.getvalue() and "internal error" not in err.getvalue()
        assert "invalid instance" in err.getvalue()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_unbroken_tiny_is_accepted():
    directory = Path(tempfile.mkdtemp(prefix="ok-"))
    try:
        write(directory, dict(META), dict(TABLES), {})
        load_instance(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
