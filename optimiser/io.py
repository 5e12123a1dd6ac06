"""Reading and writing instance tables: Arrow IPC (memory-mapped) or Parquet.

The schema of each file is checked before its data is read; extension types are
never registered or unpickled (a column with one is refused); a file that is not
what its suffix says is refused.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from .errors import InvalidInstanceError, Problem
from .schema import FORMAT_NAME, FORMAT_VERSION, TABLES, Column, Table

SUFFIXES = (".arrow", ".parquet")
_ARROW_MAGIC = b"ARROW1"
_PARQUET_MAGIC = b"PAR1"


def table_file(directory: Path, stem: str) -> tuple[Path | None, Problem | None]:
    """The file holding table `stem` in `directory` (None if absent)."""
    found = [directory / f"{stem}{s}" for s in SUFFIXES if (directory / f"{stem}{s}").is_file()]
    if len(found) > 1:
        return None, Problem(found[0].name, None, None,
                             f"both {found[0].name} and {found[1].name} exist; keep only one")
    return (found[0] if found else None), None


def _check_magic(path: Path) -> str | None:
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            f.seek(max(0, size - 6))
            tail = f.read(6)
    except OSError as e:
        return f"cannot read the file: {e.strerror}"
    if path.suffix == ".arrow":
        if head[:6] != _ARROW_MAGIC or tail != _ARROW_MAGIC:
            return ("is not an Arrow IPC file (Feather v2); write it with "
                    "pyarrow.feather.write_feather(table, path) or pyarrow.ipc.new_file")
    elif head[:4] != _PARQUET_MAGIC or tail[-4:] != _PARQUET_MAGIC:
        return "is not a Parquet file; write it with pyarrow.parquet.write_table"
    return None


def open_table(path: Path):
    """(schema, read) for one file, opened once: the schema is checked before `read()`
    touches the data. Arrow IPC is memory-mapped (numeric columns without nulls reach
    numpy without a copy)."""
    if path.suffix == ".arrow":
        reader = ipc.open_file(pa.memory_map(str(path), "r"))
        return reader.schema, reader.read_all
    f = pq.ParquetFile(path)
    return f.schema_arrow, f.read


def read_raw(path: Path) -> pa.Table:
    if path.suffix == ".arrow":
        # memory-mapped: numeric columns without nulls convert to numpy without a copy
        return ipc.open_file(pa.memory_map(str(path), "r")).read_all()
    return pq.read_table(path)


def _type_ok(col: Column, typ: pa.DataType) -> bool:
    if pa.types.is_null(typ):
        return True  # an all-null column: the null check reports it where nulls are not allowed
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    if col.kind == "string":
        return pa.types.is_string(typ) or pa.types.is_large_string(typ) or (
            hasattr(pa.types, "is_string_view") and pa.types.is_string_view(typ))
    if col.kind == "int":
        return pa.types.is_integer(typ)
    if col.kind == "float":
        return pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ)
    return pa.types.is_boolean(typ)


_KIND_HELP = {
    "string": "a string column (string, large_string or dictionary of strings)",
    "int": "an integer column (any integer type)",
    "float": "a numeric column (integer or floating point)",
    "bool": "a boolean column",
}


def check_schema(decl: Table, fname: str, schema: pa.Schema) -> list[Problem]:
    problems = []
    names = schema.names
    dups = {n for n in names if names.count(n) > 1}
    for dup in sorted(dups):
        problems.append(Problem(fname, None, dup, "column appears more than once; keep one"))
    for col in decl.columns:
        if col.name in dups:
            continue
        if col.name not in names:
            if col.required:
                problems.append(Problem(fname, None, col.name,
                                        f"required column is missing: add {_KIND_HELP[col.kind]} "
                                        f"named {col.name!r} ({col.doc})"))
            continue
        typ = schema.field(col.name).type
        if isinstance(typ, pa.ExtensionType) or isinstance(typ, pa.BaseExtensionType):
            problems.append(Problem(fname, None, col.name,
                                    f"has extension type {typ}; store it as {_KIND_HELP[col.kind]}"))
        elif not _type_ok(col, typ):
            problems.append(Problem(fname, None, col.name,
                                    f"has type {typ} but must be {_KIND_HELP[col.kind]}"))
    return problems


def normalise(decl: Table, raw: pa.Table) -> pa.Table:
    """Cast to the declared types and fill absent optional columns with defaults.

    Only called after check_schema passed. Values are not range-checked here.
    """
    n = raw.num_rows
    arrays = []
    for col in decl.columns:
        if col.name in raw.column_names:
            arr = raw.column(col.name)
            if pa.types.is_dictionary(arr.type):
                arr = arr.cast(arr.type.value_type)
            if col.kind == "int" and pa.types.is_integer(arr.type) and arr.type != col.arrow_type:
                # clip rather than wrap around: a day of 2**32 must stay out of range, not become 0
                lo, hi = np.iinfo(np.int32).min, np.iinfo(np.int32).max
                if arr.type == pa.uint64():
                    arr = pc.min_element_wise(arr, pa.scalar(hi, pa.uint64()), skip_nulls=False)
                arr = pc.max_element_wise(pc.min_element_wise(arr.cast(pa.int64()), hi, skip_nulls=False),
                                            lo, skip_nulls=False)
            arrays.append(arr.cast(col.arrow_type, safe=False) if arr.type != col.arrow_type else arr)
        else:
            arrays.append(pa.nulls(n, col.arrow_type) if col.default is None
                          else pa.array(np.full(n, col.default), type=col.arrow_type))
    return pa.Table.from_arrays([pa.chunked_array(a) if isinstance(a, pa.Array) else a
                                 for a in arrays], schema=decl.arrow_schema)


def read_meta(directory: Path) -> tuple[dict | None, list[Problem]]:
    """instance.json as a dict; None (with the problem) when it is missing or unreadable."""
    path = directory / "instance.json"
    fname = "instance.json"
    if not path.is_file():
        return None, [Problem(fname, None, None, f"missing: {directory} must contain instance.json "
                            f'with at least {{"format": "{FORMAT_NAME}", "version": 1, "name": ..., '
                            f'"horizon_days": ...}}')]
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        return None, [Problem(fname, None, None, f"is not valid JSON ({e}); fix the file")]
    if not isinstance(meta, dict):
        return None, [Problem(fname, None, None, "must hold a JSON object")]
    return meta, []


def read_instance_tables(directory: str | os.PathLike) -> tuple[dict, dict[str, pa.Table], list[Problem]]:
    """Read instance.json and every table; schema problems are collected, not raised.

    Returns (meta, normalised tables, problems). Tables whose schema is wrong are
    left out of the dict.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise InvalidInstanceError([Problem(str(directory), None, None,
                                            "is not a directory; an instance is a directory "
                                            "holding instance.json and table files")])
    meta, problems = read_meta(directory)
    tables: dict[str, pa.Table] = {}
    for decl in TABLES:
        path, problem = table_file(directory, decl.name)
        if problem:
            problems.append(problem)
            continue
        if path is None:
            if decl.required:
                problems.append(Problem(f"{decl.name}.arrow", None, None,
                                        f"required table is missing: add {decl.name}.arrow "
                                        f"or {decl.name}.parquet"))
            continue
        fname = path.name
        bad = _check_magic(path)
        if bad:
            problems.append(Problem(fname, None, None, bad))
            continue
        try:
            schema, read = open_table(path)
        except (pa.ArrowException, OSError) as e:
            problems.append(Problem(fname, None, None, f"cannot be read ({e}); rewrite the file"))
            continue
        schema_problems = check_schema(decl, fname, schema)
        if schema_problems:
            problems += schema_problems
            continue
        try:
            tables[decl.name] = normalise(decl, read())
        except (pa.ArrowException, OSError, ValueError) as e:
            problems.append(Problem(fname, None, None, f"cannot be read ({e}); rewrite the file"))
    return meta, tables, problems


def file_names(directory: str | os.PathLike) -> dict[str, str]:
    """Table name -> file name actually present (for messages)."""
    directory = Path(directory)
    out = {}
    for decl in TABLES:
        path, _ = table_file(directory, decl.name)
        out[decl.name] = path.name if path else f"{decl.name}.arrow"
    return out


def write_table(table: pa.Table, path: Path) -> None:
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    else:
        with ipc.new_file(str(path), table.schema) as w:
            w.write_table(table)


def write_instance_tables(meta: dict, tables: dict[str, pa.Table], out: str | os.PathLike,
                          fmt: str = "arrow") -> None:
    """Write instance.json and the tables into directory `out` (which must exist)."""
    out = Path(out)
    suffix = ".parquet" if fmt == "parquet" else ".arrow"
    meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION, **meta}
    (out / "instance.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    for name, table in tables.items():
        if table is not None:
            write_table(table, out / f"{name}{suffix}")


def as_numpy(col: pa.ChunkedArray | pa.Array, fill: float | None = None) -> np.ndarray:
    """A numeric column as numpy (zero-copy where possible); nulls become `fill`."""
    if fill is not None and col.null_count:
        col = pc.fill_null(col, fill)
    if isinstance(col, pa.ChunkedArray):
        if col.num_chunks == 1:
            col = col.chunk(0)
        else:
            col = col.combine_chunks()
    return col.to_numpy(zero_copy_only=False)
