"""Reading and writing instance tables: Arrow IPC (memory-mapped) or Parquet.

Before any table data is read: each path must be a regular file (a FIFO, a
directory or a device is refused by name, never opened), its bytes must be what
its suffix says, its schema is checked (extension types are never registered or
unpickled), and its rows and decompressed size are taken from the file's own
metadata and checked against the horizon and the memory available
(optimiser/memory.py), so a small compressed file that expands to gigabytes is
refused before it is expanded. Strings are checked to be valid UTF-8.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import stat
import struct
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from .errors import InvalidInstanceError, Problem
from .memory import available_bytes, fmt_bytes
from .names import nearest, shown
from .schema import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_HORIZON_DAYS,
    META_MAX_BYTES,
    TABLES,
    TABLES_BY_NAME,
    Column,
    Table,
)

SUFFIXES = (".arrow", ".parquet")
_ARROW_MAGIC = b"ARROW1"
_PARQUET_MAGIC = b"PAR1"
_EXT_KEY = b"ARROW:extension:name"
#: file suffixes looked at for misspelt table files (other files are ignored)
_TABLE_LIKE = (".arrow", ".parquet", ".feather", ".ipc", ".csv")
_TABLE_LIKE_BARE = {s[1:] for s in _TABLE_LIKE}
_MAX_ENTRIES = 10_000  # table-like files examined for typos in one directory
_MAX_NOTES = 10  # ignored columns or files listed one by one, then a count
#: schema metadata set on a normalised table whose days came from a `date` column
DATE_SOURCE = b"optimiser.days_from_date"


def _kind_of(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO (named pipe)"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
                       (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "special file"


def not_regular(path: Path) -> str | None:
    """Why `path` cannot be read as a file (None: it is a regular file or absent).

    Uses stat only: a FIFO or a device is never opened (opening a FIFO blocks)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.lexists(path):
            return "is a symbolic link to nothing; point it at the file or remove it"
        return None
    except OSError as e:
        return f"cannot be read: {e.strerror}"
    if not stat.S_ISREG(st.st_mode):
        return (f"is not a regular file (it is a {_kind_of(st.st_mode)}); "
                "a table or instance.json must be a regular file")
    return None


def table_file(directory: Path, stem: str) -> tuple[Path | None, Problem | None]:
    """The file holding table `stem` in `directory` (None if absent), or the problem with it."""
    found = [directory / f"{stem}{s}" for s in SUFFIXES if os.path.lexists(directory / f"{stem}{s}")]
    if len(found) > 1:
        return None, Problem(found[0].name, None, None,
                             f"both {found[0].name} and {found[1].name} exist; keep only one")
    if not found:
        return None, None
    bad = not_regular(found[0])
    if bad:
        return None, Problem(found[0].name, None, None, bad)
    return found[0], None


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


# --- sizes from metadata, before the data is read -------------------------------------

def _fb_field(b: bytes, table: int, i: int) -> int:
    """Position of field i of the flatbuffer table at `table` (0: absent)."""
    vt = table - struct.unpack_from("<i", b, table)[0]
    vt_size = struct.unpack_from("<H", b, vt)[0]
    if 4 + 2 * i >= vt_size:
        return 0
    off = struct.unpack_from("<H", b, vt + 4 + 2 * i)[0]
    return table + off if off else 0


def _fb_ref(b: bytes, pos: int) -> int:
    return pos + struct.unpack_from("<I", b, pos)[0]


def _message_size(meta: bytes, body) -> tuple[int, int, int]:
    """(header type, rows, decompressed body bytes) of one IPC message, from its
    flatbuffer header (Message -> RecordBatch / DictionaryBatch) without decoding the body.
    A compressed buffer starts with its uncompressed length (int64, -1: stored as is)."""
    root = _fb_ref(meta, 0)
    p = _fb_field(meta, root, 1)
    htype = meta[p] if p else 0
    p = _fb_field(meta, root, 2)
    if htype not in (2, 3) or not p:
        return htype, 0, 0
    rb = _fb_ref(meta, p)
    if htype == 2:  # DictionaryBatch: field 1 is its RecordBatch
        p = _fb_field(meta, rb, 1)
        if not p:
            return htype, 0, 0
        rb = _fb_ref(meta, p)
    p = _fb_field(meta, rb, 0)
    rows = struct.unpack_from("<q", meta, p)[0] if p else 0
    compressed = bool(_fb_field(meta, rb, 3))
    p = _fb_field(meta, rb, 2)
    nbytes = 0
    if p:
        vec = _fb_ref(meta, p)
        for k in range(struct.unpack_from("<I", meta, vec)[0]):
            off, length = struct.unpack_from("<qq", meta, vec + 4 + 16 * k)
            if compressed and length >= 8:
                raw = struct.unpack_from("<q", body, off)[0]
                nbytes += (length - 8) if raw < 0 else raw
            else:
                nbytes += length
    return htype, rows, nbytes


def _pq():
    """pyarrow.parquet, imported on first use (it pulls in pyarrow.fs, ssl and more, which
    Arrow IPC files never need)."""
    import pyarrow.parquet as pq

    return pq


def table_size(path: Path) -> tuple[int, int]:
    """(rows, bytes once decompressed) of a table file, from its metadata only.

    Arrow IPC: the record batch and dictionary batch headers; Parquet: the footer's
    num_rows and the row groups' uncompressed sizes. Raises pa.ArrowException / ValueError
    on a malformed file."""
    if path.suffix == ".parquet":
        md = _pq().ParquetFile(path).metadata
        return md.num_rows, sum(md.row_group(i).total_byte_size for i in range(md.num_row_groups))
    src = pa.memory_map(str(path), "r")
    src.seek(8)
    rows = nbytes = 0
    try:
        for m in ipc.MessageReader.open_stream(src):
            body = memoryview(m.body) if m.body is not None else b""
            htype, r, nb = _message_size(m.metadata.to_pybytes(), body)
            rows += r if htype == 3 else 0
            nbytes += nb
    except (struct.error, IndexError) as e:
        raise ValueError(f"malformed record batch header ({e})") from None
    return rows, nbytes


def open_table(path: Path):
    """(schema, read) for one file, opened once: the schema is checked before `read()`
    touches the data. Arrow IPC is memory-mapped (numeric columns without nulls reach
    numpy without a copy)."""
    if path.suffix == ".arrow":
        reader = ipc.open_file(pa.memory_map(str(path), "r"))
        return reader.schema, reader.read_all
    f = _pq().ParquetFile(path)
    return f.schema_arrow, f.read


def read_raw(path: Path) -> pa.Table:
    if path.suffix == ".arrow":
        # memory-mapped: numeric columns without nulls convert to numpy without a copy
        return ipc.open_file(pa.memory_map(str(path), "r")).read_all()
    return _pq().read_table(path)


# --- schema -------------------------------------------------------------------------------

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


def _extension_name(f: pa.Field) -> str | None:
    if isinstance(f.type, pa.BaseExtensionType):
        return str(getattr(f.type, "extension_name", f.type))
    if f.metadata and _EXT_KEY in f.metadata:
        return f.metadata[_EXT_KEY].decode("utf-8", "backslashreplace")
    return None


def check_schema(decl: Table, fname: str, schema: pa.Schema, *, start_date: object = ...,
                 notes: list[Problem] | None = None) -> list[Problem]:
    """Problems with a table's columns (missing, duplicated, wrong type, misspelt).

    `start_date`: the instance's start date (None: not set; ...: not known here).
    Unknown columns go to `notes` (they are ignored), unless they are within two edits
    of a declared column that is absent: then they are a problem ("did you mean")."""
    problems = []
    names = schema.names
    counts = Counter(names)
    dups = {n for n, c in counts.items() if c > 1}
    for dup in sorted(dups):
        problems.append(Problem(fname, None, dup, "column appears more than once; keep one"))
    declared = [c.name for c in decl.columns]
    dated = decl.dated and "date" in counts
    if dated and "day" in counts:
        problems.append(Problem(fname, None, "date", "the table has both a day and a date column; "
                                "keep one (date needs start_date in instance.json)"))
    elif dated and "date" not in dups:
        typ = schema.field("date").type
        if not (pa.types.is_date32(typ) or pa.types.is_date64(typ)):
            problems.append(Problem(fname, None, "date", f"has type {typ} but must be an Arrow "
                                    "date32 column (calendar dates)"))
        elif start_date is None:
            problems.append(Problem(fname, None, "date", "gives dates, but instance.json has no "
                                    'start_date: set "start_date": "YYYY-MM-DD" (the date of '
                                    "day 0), or give a day column instead"))
    for col in decl.columns:
        if col.name in dups:
            continue
        if col.name not in counts:
            if col.required and not (dated and col.name == "day"):
                problems.append(Problem(fname, None, col.name,
                                        f"required column is missing: add {_KIND_HELP[col.kind]} "
                                        f"named {col.name!r} ({col.doc})"))
            continue
        f = schema.field(col.name)
        ext = _extension_name(f)
        if ext is not None:
            problems.append(Problem(fname, None, col.name,
                                    f"has the Arrow extension type {shown(ext)}, which is never "
                                    f"loaded; store it as {_KIND_HELP[col.kind]}"))
        elif not _type_ok(col, f.type):
            problems.append(Problem(fname, None, col.name,
                                    f"has type {f.type} but must be {_KIND_HELP[col.kind]}"))
    known = set(declared) | ({"date"} if decl.dated else set())
    absent = [n for n in declared if n not in counts
              and not (decl.dated and n == "day" and "date" in counts)]
    ignored = []
    for name in counts:
        if name in known:
            continue
        close = nearest(name, absent)
        if close:
            problems.append(Problem(fname, None, name,
                                    f"is not a column of {decl.name}; did you mean "
                                    + " or ".join(shown(c) for c in close)
                                    + "? Rename the column (unknown columns are not read)"))
        else:
            ignored.append(name)
    if notes is not None:
        present = [n for n in known if n in counts]
        for name in ignored[:_MAX_NOTES]:
            near = nearest(name, present)
            hint = f" (not to be confused with {shown(near[0])})" if near else ""
            notes.append(Problem(fname, None, name,
                                 f"is not a column of {decl.name} and is ignored{hint}"))
        if len(ignored) > _MAX_NOTES:
            notes.append(Problem(fname, None, None, f"... and {len(ignored) - _MAX_NOTES:,} more "
                                 "columns that are not part of the format, ignored"))
    return problems


def _normal_type(col: Column) -> pa.DataType:
    # integers are carried as int64 after reading, so a day of 2**40 keeps its true value
    return pa.int64() if col.kind == "int" else col.arrow_type


def normal_schema(decl: Table) -> pa.Schema:
    return pa.schema([pa.field(c.name, _normal_type(c), nullable=c.nullable) for c in decl.columns])


def _first_invalid_utf8(arr: pa.Array) -> int | None:
    """Row of the first string that is not valid UTF-8 in a chunk (None: all valid)."""
    try:
        arr.validate(full=True)
        return None
    except pa.ArrowInvalid:
        pass
    lo, hi = 0, len(arr)  # invariant: the bad row is in [lo, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        try:
            arr.slice(lo, mid - lo).validate(full=True)
            lo = mid
        except pa.ArrowInvalid:
            hi = mid
    return lo


def _check_utf8(arr: pa.ChunkedArray, fname: str, column: str, problems: list[Problem]) -> bool:
    offset = 0
    for chunk in arr.chunks:
        target = chunk.dictionary if isinstance(chunk, pa.DictionaryArray) else chunk
        bad = _first_invalid_utf8(target)
        if bad is not None:
            if isinstance(chunk, pa.DictionaryArray):
                rows = np.flatnonzero(as_numpy(chunk.indices, fill=-1) == bad)
                bad = int(rows[0]) if len(rows) else 0
            problems.append(Problem(fname, offset + bad, column,
                                    "holds bytes that are not valid UTF-8; names are text: "
                                    "re-encode the file as UTF-8"))
            return False
        offset += len(chunk)
    return True


def normalise(decl: Table, raw: pa.Table, *, fname: str | None = None,
              start_date: _dt.date | None = None,
              problems: list[Problem] | None = None) -> pa.Table | None:
    """Cast to the declared types (integers as int64) and fill absent optional columns
    with defaults; a `date` column becomes `day` (days since start_date).

    Only called after check_schema passed. Values are not range-checked here, except
    what cannot be carried at all (invalid UTF-8, integers beyond int64): those are
    added to `problems` and None is returned."""
    fname = fname or decl.name
    problems = problems if problems is not None else []
    n = raw.num_rows
    wanted = {c.name for c in decl.columns} | ({"date"} if decl.dated else set())
    if raw.num_columns > len(wanted):  # unknown columns are not carried
        raw = raw.select([i for i, c in enumerate(raw.column_names) if c in wanted])
    arrays = []
    ok = True
    from_date = False
    for col in decl.columns:
        name = col.name
        if name == "day" and decl.dated and "date" in raw.column_names and "day" not in raw.column_names:
            name, from_date = "date", True
        if name in raw.column_names:
            arr = raw.column(name)
            if isinstance(arr, pa.Array):
                arr = pa.chunked_array([arr])
            if col.kind == "string" and not pa.types.is_null(arr.type) and \
                    not _check_utf8(arr, fname, name, problems):
                ok = False
                continue
            if pa.types.is_dictionary(arr.type):
                arr = arr.cast(arr.type.value_type)
            if from_date and name == "date":
                if start_date is None:
                    ok = False
                    continue
                arr = pc.subtract(arr.cast(pa.date32()).cast(pa.int32()).cast(pa.int64()),
                                  pa.scalar((start_date - _dt.date(1970, 1, 1)).days, pa.int64()))
            elif col.kind == "int" and pa.types.is_uint64(arr.type):
                big = as_numpy(pc.greater(arr, pa.scalar(2**63 - 1, pa.uint64())), fill=False)
                for r in np.flatnonzero(big)[:10]:
                    problems.append(Problem(fname, int(r), name, f"is {arr[int(r)].as_py()}, "
                                            "beyond any accepted value"
                                            + (" (days run 0..horizon_days - 1)" if name == "day"
                                               else f" (at most {col.maximum:g})"
                                               if col.maximum is not None else "")))
                if big.any():
                    ok = False
                    continue
            typ = _normal_type(col)
            arrays.append(arr.cast(typ, safe=False) if arr.type != typ else arr)
        else:
            arrays.append(pa.nulls(n, _normal_type(col)) if col.default is None
                          else pa.array(np.full(n, col.default), type=_normal_type(col)))
    if not ok:
        return None
    schema = normal_schema(decl)
    if from_date:
        schema = schema.with_metadata({DATE_SOURCE: start_date.isoformat().encode()})
    return pa.Table.from_arrays([pa.chunked_array(a) if isinstance(a, pa.Array) else a
                                 for a in arrays], schema=schema)


# --- instance.json ----------------------------------------------------------------------------

def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def parse_meta_text(text: str) -> dict | str:
    """instance.json text -> dict, or the reason it is refused (strict JSON: no NaN or
    Infinity; a nesting too deep for the parser is refused, not a crash)."""
    try:
        meta = json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        return "nests too deeply to be an instance.json; it holds a few keys at one level"
    except ValueError as e:
        return f"is not valid JSON ({e}); fix the file"
    if not isinstance(meta, dict):
        return "must hold a JSON object"
    return meta


def read_meta(directory: Path) -> tuple[dict | None, list[Problem]]:
    """instance.json as a dict; None (with the problem) when it is missing or unreadable."""
    path = directory / "instance.json"
    fname = "instance.json"
    bad = not_regular(path)
    if bad:
        return None, [Problem(fname, None, None, bad)]
    if not path.is_file():
        return None, [Problem(fname, None, None, f"missing: {shown(str(directory))} must contain "
                              f'instance.json with at least {{"format": "{FORMAT_NAME}", '
                              f'"version": 1, "name": ..., "horizon_days": ...}}')]
    try:
        with open(path, "rb") as f:
            data = f.read(META_MAX_BYTES + 1)
    except OSError as e:
        return None, [Problem(fname, None, None, f"cannot be read: {e.strerror}")]
    if len(data) > META_MAX_BYTES:
        return None, [Problem(fname, None, None, f"is larger than {fmt_bytes(META_MAX_BYTES)}; it "
                              "holds a few keys (format, version, name, horizon_days, ...)")]
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark (some editors add one) is fine
    except UnicodeDecodeError as e:
        return None, [Problem(fname, None, None, f"is not UTF-8 text ({e.reason} at byte "
                              f"{e.start}); save it as UTF-8")]
    meta = parse_meta_text(text)
    if isinstance(meta, str):
        return None, [Problem(fname, None, None, meta)]
    return meta, []


def meta_start_date(meta: dict | None) -> _dt.date | None | str:
    """The start_date of instance.json as a date; None when absent; the raw value (str
    or other) when it is not a valid ISO date (validate_meta reports it)."""
    if not isinstance(meta, dict) or meta.get("start_date") is None:
        return None
    v = meta["start_date"]
    if isinstance(v, str) and len(v) == 10:
        try:
            return _dt.date.fromisoformat(v)
        except ValueError:
            pass
    return v if isinstance(v, str) else repr(v)


def _meta_horizon(meta: dict | None) -> int | None:
    t = meta.get("horizon_days") if isinstance(meta, dict) else None
    if isinstance(t, int) and not isinstance(t, bool) and 1 <= t <= MAX_HORIZON_DAYS:
        return t
    return None


# --- the directory ----------------------------------------------------------------------------

def _directory_problems(directory: Path, present: set[str], notes: list[Problem]) -> list[Problem]:
    """Misspelt table files (did you mean), and a CSV folder given for an instance."""
    problems: list[Problem] = []
    known = [t.name for t in TABLES]
    absent = [n for n in known if n not in present]
    csv_tables = []
    try:
        entries = []
        with os.scandir(directory) as it:
            for e in it:
                if e.name.rpartition(".")[2].lower() in _TABLE_LIKE_BARE:
                    entries.append(e.name)
                    if len(entries) >= _MAX_ENTRIES:  # a directory of a million files
                        break
        entries.sort()
    except OSError:
        return problems
    for name in entries:
        stem, dot, suffix = name.rpartition(".")
        if not dot or f".{suffix.lower()}" not in _TABLE_LIKE:
            continue
        suffix = f".{suffix.lower()}"
        if stem in known:
            if suffix == ".csv":
                csv_tables.append(name)
            elif suffix not in SUFFIXES:
                problems.append(Problem(shown(name)[1:-1], None, None, f"table files end in .arrow or .parquet: "
                                        f"rename it {stem}.arrow if it is an Arrow IPC (Feather "
                                        "v2) file"))
            continue
        close = nearest(stem, absent)
        if close and suffix != ".csv":
            problems.append(Problem(shown(name)[1:-1], None, None, "is not a table of the format; did you mean "
                                    + " or ".join(shown(c + ".arrow") for c in close)
                                    + "? Rename the file (unknown files are not read)"))
        elif suffix != ".csv" and len(notes) < 10 * _MAX_NOTES:
            near = nearest(stem, [n for n in known if n in present])
            hint = f" (not to be confused with {shown(near[0])})" if near else ""
            notes.append(Problem(shown(name)[1:-1], None, None, f"is not a table of the format and is "
                                 f"ignored{hint}"))
    if csv_tables and not any(t in present for t in ("suppliers", "nodes", "lanes")):
        # the one thing to say: everything else (no instance.json, no tables) follows from it
        return [Problem(shown(str(directory))[1:-1], None, None,
                                f"holds CSV files ({', '.join(csv_tables[:4])}"
                                f"{', ...' if len(csv_tables) > 4 else ''}) but no instance "
                                "tables: CSV is an import format; convert the folder with "
                                f"`optimiser import-csv {shown(str(directory))[1:-1]} OUT` and "
                                "use OUT")]
    return problems


def _size_problems(directory: Path, found: dict[str, tuple[Path, pa.Schema, int, int]],
                   horizon: int | None, available: int) -> list[Problem]:
    """Tables too large to read, decided from metadata only (no data read yet)."""
    from .validate import resource_problems

    problems: list[Problem] = []
    rows = {name: r for name, (_, _, r, _) in found.items()}
    if horizon is not None:
        for name, (path, _, r, _) in found.items():
            decl = TABLES_BY_NAME[name]
            if decl.parent and decl.parent in rows:
                keys = rows[decl.parent] * horizon
                if r > keys:
                    problems.append(Problem(
                        path.name, None, None,
                        f"holds {r:,} rows, but at most {keys:,} distinct keys exist "
                        f"({rows[decl.parent]:,} {decl.parent} rows x {horizon:,} days): at least "
                        f"{r - keys:,} rows repeat a key; keep one row per "
                        f"({decl.parent_who}, commodity, day)"))
    # reading keeps the decompressed data and about one normalised copy of it
    need = {name: 2 * max(nb, r * 8 * len(schema)) for name, (_, schema, r, nb) in found.items()}
    total = sum(need.values())
    if total > available:
        name = max(need, key=need.get)
        path, _, r, nb = found[name]
        problems.append(Problem(path.name, None, None,
                                f"holds {r:,} rows ({fmt_bytes(nb)} once decompressed); reading "
                                f"the instance's tables needs about {fmt_bytes(total)}, more than "
                                f"the {fmt_bytes(available)} of memory available now. Free "
                                "memory, use a machine with more, or reduce the table"))
    if horizon is not None and not problems and all(t in rows for t in ("suppliers", "nodes",
                                                                            "lanes")):
        problems += resource_problems(horizon, rows["suppliers"], rows["nodes"], rows["lanes"],
                                      available)
    return problems


def read_instance_tables(directory: str | os.PathLike, warnings: list[Problem] | None = None
                         ) -> tuple[dict, dict[str, pa.Table], list[Problem]]:
    """Read instance.json and every table; schema problems are collected, not raised.

    Returns (meta, normalised tables, problems). Tables whose schema is wrong are left
    out of the dict. Nothing is read when the sizes in the files' metadata already show
    the instance cannot be held (see _size_problems). Ignored columns and files are
    added to `warnings`.
    """
    directory = Path(directory)
    notes = warnings if warnings is not None else []
    if not directory.is_dir():
        where = shown(str(directory))[1:-1]
        if directory.is_file():
            hint = (f"; give the directory that holds it: {shown(str(directory.parent))[1:-1]}"
                    if directory.name == "instance.json" or directory.suffix in SUFFIXES else
                    "; a folder of CSV files is converted by `optimiser import-csv`"
                    if directory.suffix.lower() == ".csv" else "")
            msg = f"is a file, not a directory{hint}"
        elif os.path.lexists(directory):
            msg = f"{not_regular(directory) or 'cannot be read'}; an instance is a directory"
        else:
            msg = ("is not a directory (nothing exists there); an instance is a directory holding "
                   "instance.json and table files")
        raise InvalidInstanceError([Problem(where, None, None, msg)])
    meta, problems = read_meta(directory)
    horizon = _meta_horizon(meta)
    start = meta_start_date(meta)
    start = start if isinstance(start, _dt.date) or start is None else ...
    found: dict[str, tuple[Path, pa.Schema, int, int]] = {}
    readers = {}
    present: set[str] = set()
    for decl in TABLES:
        path, problem = table_file(directory, decl.name)
        if problem:
            present.add(decl.name)
            problems.append(problem)
            continue
        if path is None:
            continue
        present.add(decl.name)
        fname = path.name
        bad = _check_magic(path)
        if bad:
            problems.append(Problem(fname, None, None, bad))
            continue
        try:
            schema, read = open_table(path)
            rows, nbytes = table_size(path)
        except (pa.ArrowException, OSError, ValueError) as e:
            problems.append(Problem(fname, None, None, f"cannot be read ({e}); rewrite the file"))
            continue
        schema_problems = check_schema(decl, fname, schema, start_date=start, notes=notes)
        if schema_problems:
            problems += schema_problems
            continue
        found[decl.name] = (path, schema, rows, nbytes)
        readers[decl.name] = read
    dir_problems = _directory_problems(directory, present, notes)
    if dir_problems and dir_problems[0].table == shown(str(directory))[1:-1]:
        return None, {}, dir_problems  # a CSV folder
    for decl in TABLES:
        if decl.required and decl.name not in present:
            problems.append(Problem(f"{decl.name}.arrow", None, None,
                                    f"required table is missing: add {decl.name}.arrow "
                                    f"or {decl.name}.parquet"))
    problems += dir_problems
    size_problems = _size_problems(directory, found, horizon, available_bytes())
    if size_problems:
        return meta, {}, problems + size_problems
    tables: dict[str, pa.Table] = {}
    for name, (path, _, _, _) in found.items():
        try:
            t = normalise(TABLES_BY_NAME[name], readers[name](), fname=path.name,
                          start_date=start if isinstance(start, _dt.date) else None,
                          problems=problems)
        except (pa.ArrowException, OSError, ValueError) as e:
            problems.append(Problem(path.name, None, None, f"cannot be read ({e}); rewrite the file"))
            continue
        if t is not None:
            tables[name] = t
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
        _pq().write_table(table, path)
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
