"""Import a folder of CSV files as an instance (``optimiser import-csv``).

``CSV_DIR`` holds ``suppliers.csv``, ``nodes.csv``, ``lanes.csv`` and any of
``demand.csv``, ``capacity.csv``, ``floors.csv``, ``pipeline.csv``, with a
header row naming the columns of docs/FORMAT.md, and optionally
``instance.json`` (copied; keys given as arguments override it).

Every declared column is read as text and converted to its declared type here,
so a string that looks like a number stays a string, and a cell that cannot be
converted is reported with its table, row and column. An empty cell is a
missing value: an optional column's default applies (null where the default is
"none"); in a required column it is an error. Optional columns absent from a
CSV stay absent; columns the format does not know are dropped with a note.
Row numbers are 0-based data rows (row 0 is the line after the header).

The whole instance is then validated exactly as one read from Arrow files, every
problem is reported at once (InvalidInstanceError), and only a valid instance is
written, atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from ._atomic import atomic_dir
from .errors import InvalidInstanceError, Problem, UsageError
from .instance import Instance
from .io import write_instance_tables
from .schema import FORMAT_NAME, FORMAT_VERSION, TABLES, Column, Table
from .validate import MAX_ROWS_PER_PROBLEM

__all__ = ["read_csv_dir", "import_csv"]

_PATTERN = {
    "int": r"^[+-]?[0-9]+$",
    "float": r"^[+-]?(([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[iI][nN][fF]([iI][nN][iI][tT][yY])?"
             r"|[nN][aA][nN])$",
    "bool": r"^([tT][rR][uU][eE]|[fF][aA][lL][sS][eE]|1|0)$",
}
_EXAMPLE = {"int": "an integer such as 3", "float": "a number such as 2.5 or 1e6",
            "bool": "true or false"}


def _convert(col: Column, text: pa.ChunkedArray, fname: str, problems: list[Problem]
             ) -> pa.ChunkedArray:
    """Text column -> declared type. Unconvertible cells are reported and become null."""
    if col.kind == "string":
        return text
    text = pc.utf8_trim_whitespace(text)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    ok = pc.match_substring_regex(text, _PATTERN[col.kind])
    bad = np.asarray(pc.fill_null(pc.invert(ok), False).to_numpy(zero_copy_only=False), dtype=bool)
    rows = np.flatnonzero(bad)
    for r in rows[:MAX_ROWS_PER_PROBLEM]:
        problems.append(Problem(fname, int(r), col.name,
                                f"{text[int(r)].as_py()!r} is not {_EXAMPLE[col.kind]}"))
    if len(rows) > MAX_ROWS_PER_PROBLEM:
        problems.append(Problem(fname, None, col.name, f"... and {len(rows) - MAX_ROWS_PER_PROBLEM} "
                                f"more cells that are not {_EXAMPLE[col.kind]}"))
    if len(rows):
        text = pc.if_else(pa.array(bad), pa.scalar(None, pa.string()), text)
    if col.kind == "bool":
        text = pc.utf8_lower(text)
        return pc.cast(text, pa.bool_())
    if col.kind == "int":
        try:
            return pc.cast(pc.cast(text, pa.int64()), col.arrow_type)
        except pa.ArrowInvalid:
            # out of range of int32: report where (vectorised, on the int64 values where possible)
            big = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
            out = np.abs(np.nan_to_num(big, nan=0.0)) > np.iinfo(np.int32).max
            for r in np.flatnonzero(out)[:MAX_ROWS_PER_PROBLEM]:
                problems.append(Problem(fname, int(r), col.name,
                                        f"{text[int(r)].as_py()} is too large; use a value below 2**31"))
            return pc.if_else(pa.array(out), pa.scalar(None, pa.int32()),
                              pc.cast(pc.cast(text, pa.float64()), pa.int32(), safe=False))
    return pc.cast(text, pa.float64())


def _read_csv(decl: Table, path: Path, problems: list[Problem], notes: list[str]) -> pa.Table | None:
    fname = path.name
    try:
        raw = pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(use_threads=True),
            parse_options=pcsv.ParseOptions(),
            convert_options=pcsv.ConvertOptions(
                column_types={c.name: pa.string() for c in decl.columns},
                null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True,
                auto_dict_encode=False))
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as e:
        problems.append(Problem(fname, None, None, f"cannot be read as CSV ({e}); fix the file"))
        return None
    names = raw.column_names
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(Problem(fname, None, dup, "column appears more than once; keep one"))
    unknown = [n for n in names if n not in {c.name for c in decl.columns}]
    if unknown:
        notes.append(f"{fname}: ignoring column(s) the format does not define: {', '.join(unknown)}")
    fields, arrays = [], []
    for col in decl.columns:
        if col.name not in names:
            if col.required:
                problems.append(Problem(fname, None, col.name,
                                        f"required column is missing: add a column {col.name!r} "
                                        f"({col.doc})"))
            continue
        text = raw.column(names.index(col.name))
        if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
            text = pc.cast(text, pa.string())  # an all-empty column is read as null-typed
        arr = _convert(col, text, fname, problems)
        if not col.required and col.default is not None and arr.null_count:
            arr = pc.fill_null(arr, pa.scalar(col.default, col.arrow_type))
        fields.append(pa.field(col.name, col.arrow_type, nullable=True))
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _meta(csv_dir: Path, overrides: dict, problems: list[Problem]) -> dict:
    meta: dict = {}
    path = csv_dir / "instance.json"
    if path.is_file():
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            problems.append(Problem("instance.json", None, None, f"is not valid JSON ({e}); fix it"))
            meta = {}
        if not isinstance(meta, dict):
            problems.append(Problem("instance.json", None, None, "must hold a JSON object"))
            meta = {}
    meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION, **meta}
    for k, v in overrides.items():
        if v is not None:
            meta[k] = v
    meta.setdefault("name", csv_dir.resolve().name)
    if "horizon_days" not in meta:
        problems.append(Problem("instance.json", None, "horizon_days",
                                "is not given: add instance.json to the CSV folder or pass "
                                "--horizon-days"))
    return meta


def read_csv_dir(csv_dir: str | os.PathLike, *, name: str | None = None,
                 horizon_days: int | None = None, budget: float | None = None,
                 notes: list[str] | None = None) -> tuple[dict, dict[str, pa.Table]]:
    """Read and validate a CSV folder. Returns (meta, tables) with declared types.

    Raises InvalidInstanceError listing every problem (conversion and validation).
    """
    csv_dir = Path(csv_dir)
    if not csv_dir.is_dir():
        raise UsageError(f"{csv_dir} is not a directory of CSV files")
    notes = notes if notes is not None else []
    problems: list[Problem] = []
    meta = _meta(csv_dir, {"name": name, "horizon_days": horizon_days, "budget": budget}, problems)
    known = {t.name for t in TABLES}
    for p in sorted(csv_dir.glob("*.csv")):
        if p.stem not in known:
            notes.append(f"{p.name}: not a table of the format; ignored")
    tables: dict[str, pa.Table] = {}
    fnames = {t.name: f"{t.name}.csv" for t in TABLES}
    for decl in TABLES:
        path = csv_dir / f"{decl.name}.csv"
        if not path.is_file():
            if decl.required:
                problems.append(Problem(path.name, None, None,
                                        f"required table is missing: add {path.name}"))
            continue
        t = _read_csv(decl, path, problems, notes)
        if t is not None:
            tables[decl.name] = t
    try:
        Instance.from_tables(meta, tables, fnames)
    except InvalidInstanceError as e:
        # cells reported as unconvertible are null now, and unreadable tables are absent:
        # leave out validation's echo of those
        seen = {(p.table, p.row, p.column) for p in problems}
        problems += [p for p in e.problems if (p.table, p.row, p.column) not in seen]
    if problems:
        raise InvalidInstanceError(problems, str(csv_dir))
    return meta, tables


def import_csv(csv_dir: str | os.PathLike, out: str | os.PathLike, *, fmt: str = "arrow",
               force: bool = False, name: str | None = None, horizon_days: int | None = None,
               budget: float | None = None, notes: list[str] | None = None
               ) -> tuple[dict, dict[str, pa.Table]]:
    """Convert a CSV folder into an instance directory `out` (atomically). Returns (meta, tables)."""
    if fmt not in ("arrow", "parquet"):
        raise UsageError(f"--format must be arrow or parquet (got {fmt!r})")
    meta, tables = read_csv_dir(csv_dir, name=name, horizon_days=horizon_days, budget=budget,
                                notes=notes)
    schemaed = {k: t.cast(pa.schema([pa.field(f.name, f.type, nullable=_nullable(k, f.name))
                                     for f in t.schema])) for k, t in tables.items()}
    with atomic_dir(out, force=force, protect=(csv_dir,)) as tmp:
        write_instance_tables(meta, schemaed, tmp, fmt)
    return meta, schemaed


def _nullable(table: str, column: str) -> bool:
    from .schema import TABLES_BY_NAME

    return TABLES_BY_NAME[table].column(column).nullable
