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
CSV stay absent; columns the format does not know are dropped with a note,
unless their name is within two edits of a declared column that is absent (a
typo such as ``max_stok``): that is an error with "did you mean". A per-day
table may give ISO dates (``2026-12-04``) in a ``date`` column instead of
``day`` when instance.json has ``start_date``.

Problems in a row cite the line of the CSV file, as a spreadsheet or editor
shows it (the header is line 1), beside the 0-based data row.

The whole instance is then validated exactly as one read from Arrow files, every
problem is reported at once (InvalidInstanceError), and only a valid instance is
written, atomically.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from ._atomic import atomic_dir
from .errors import InvalidInstanceError, Problem, UsageError
from .instance import Instance
from .io import not_regular, parse_meta_text, write_instance_tables
from .memory import available_bytes, fmt_bytes
from .names import nearest, shown
from .schema import FORMAT_NAME, FORMAT_VERSION, META_MAX_BYTES, TABLES, Column, Table
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
_DATE = Column("date", "string", "calendar date (ISO 8601, YYYY-MM-DD)", required=False)


@dataclass(frozen=True)
class CsvProblem(Problem):
    """A problem in a CSV file: `line` is the file's line number (header = line 1)."""

    line: int | None = None

    def as_dict(self) -> dict:
        return {**super().as_dict(), "line": self.line}

    def __str__(self) -> str:
        if self.line is None:
            return super().__str__()
        where = f"{self.table} line {self.line} (row {self.row})"
        if self.column is not None:
            where += f", column {self.column!r}"
        return f"{where}: {self.message}"


def _line_numbers(path: Path, upto: int) -> list[int]:
    """1-based line number where each data row 0..upto starts, as an editor counts lines:
    the header is line 1, empty lines are skipped by the reader but counted here, and a
    quoted value may span lines. Python's csv module is used (only when a problem is
    reported, and only up to the last row cited)."""
    starts: list[int] = []
    limit = csv.field_size_limit(1 << 30)  # a name may be long; restored below
    try:
        _scan_lines(path, upto, starts)
    finally:
        csv.field_size_limit(limit)
    return starts


def _scan_lines(path: Path, upto: int, starts: list[int]) -> None:
    with open(path, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        before = 0  # lines consumed before the current record
        header = True
        for record in reader:
            first = before + 1
            before = reader.line_num
            if not record:  # an empty line
                continue
            if header:
                header = False
                continue
            starts.append(first)
            if len(starts) > upto:
                break


def _with_lines(problems: list[Problem], csv_dir: Path) -> list[Problem]:
    """Row problems of CSV files, given the file's line number as well."""
    lines: dict[str, list[int] | None] = {}
    last: dict[str, int] = {}
    for p in problems:
        if p.row is not None and p.table.endswith(".csv"):
            last[p.table] = max(last.get(p.table, 0), p.row)
    out = []
    for p in problems:
        if p.row is None or not p.table.endswith(".csv") or isinstance(p, CsvProblem):
            out.append(p)
            continue
        if p.table not in lines:
            try:
                lines[p.table] = _line_numbers(csv_dir / p.table, last[p.table])
            except (OSError, UnicodeDecodeError, ValueError, csv.Error):
                lines[p.table] = None
        ln = lines[p.table]
        line = int(ln[p.row]) if ln is not None and p.row < len(ln) else p.row + 2
        out.append(CsvProblem(p.table, p.row, p.column, p.message, line=line))
    return out


def _convert_date(text: pa.ChunkedArray, fname: str, problems: list[Problem]) -> pa.ChunkedArray:
    text = pc.utf8_trim_whitespace(text)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    ok = pc.match_substring_regex(text, r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    parsed = pc.strptime(pc.if_else(ok, text, pa.scalar(None, pa.string())), format="%Y-%m-%d",
                         unit="s", error_is_null=True)
    bad = np.asarray(pc.fill_null(pc.and_(pc.is_valid(text), pc.is_null(parsed)), False)
                     .to_numpy(zero_copy_only=False), dtype=bool)
    for r in np.flatnonzero(bad)[:MAX_ROWS_PER_PROBLEM]:
        problems.append(Problem(fname, int(r), "date", f"{shown(text[int(r)].as_py())} is not an "
                                "ISO 8601 date such as 2026-12-04"))
    if bad.sum() > MAX_ROWS_PER_PROBLEM:
        problems.append(Problem(fname, None, "date", f"... and {int(bad.sum()) - MAX_ROWS_PER_PROBLEM} "
                                "more cells that are not ISO dates"))
    return pc.cast(parsed, pa.date32())


def _convert(col: Column, text: pa.ChunkedArray, fname: str, problems: list[Problem]
             ) -> pa.ChunkedArray:
    """Text column -> declared type. Unconvertible cells are reported and become null."""
    if col is _DATE:
        return _convert_date(text, fname, problems)
    if col.kind == "string":
        return text
    text = pc.utf8_trim_whitespace(text)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    ok = pc.match_substring_regex(text, _PATTERN[col.kind])
    bad = np.asarray(pc.fill_null(pc.invert(ok), False).to_numpy(zero_copy_only=False), dtype=bool)
    rows = np.flatnonzero(bad)
    for r in rows[:MAX_ROWS_PER_PROBLEM]:
        problems.append(Problem(fname, int(r), col.name,
                                f"{shown(text[int(r)].as_py())} is not {_EXAMPLE[col.kind]}"))
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
    size, free = path.stat().st_size, available_bytes()
    if 4 * size > free:  # the text, its Arrow columns, the converted copy
        problems.append(Problem(fname, None, None, f"is {fmt_bytes(size)}; importing it needs about "
                                f"{fmt_bytes(4 * size)}, more than the {fmt_bytes(free)} of memory "
                                "available now; split the instance or use a machine with more"))
        return None
    try:
        raw = pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(use_threads=True),
            parse_options=pcsv.ParseOptions(newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                column_types={c.name: pa.string() for c in decl.columns} | {"date": pa.string()},
                null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True,
                auto_dict_encode=False))
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as e:
        msg = str(e)
        if "UTF8" in msg or "UTF-8" in msg or isinstance(e, UnicodeDecodeError):
            msg = "holds bytes that are not valid UTF-8; save the file as UTF-8 text"
        else:
            msg = f"cannot be read as CSV ({shown(msg, 300)[1:-1]}); fix the file"
        problems.append(Problem(fname, None, None, msg))
        return None
    names = raw.column_names
    for dup in sorted(n for n, c in Counter(names).items() if c > 1):
        problems.append(Problem(fname, None, dup, "column appears more than once; keep one"))
    declared = [c.name for c in decl.columns] + (["date"] if decl.dated else [])
    if len(names) == 1 and not set(names) & set(declared):
        for sep, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
            if sep in names[0]:
                problems.append(Problem(fname, None, None, f"the header {shown(names[0])} reads as "
                                        f"one column: the file seems to separate values with "
                                        f"{label}; save it as comma-separated CSV (spreadsheets: "
                                        "'CSV UTF-8 (comma delimited)')"))
                return None
    absent = [c for c in declared if c not in names
              and not (c == "day" and decl.dated and "date" in names)]
    unknown = []
    for n in names:
        if n in declared:
            continue
        close = nearest(n, absent)
        if close:
            problems.append(Problem(fname, None, n, f"is not a column of {decl.name}; did you mean "
                                    + " or ".join(shown(c) for c in close)
                                    + "? Rename the column (unknown columns are not read)"))
        else:
            unknown.append(n)
    if unknown:
        notes.append(f"{fname}: ignoring column(s) the format does not define: "
                     f"{', '.join(shown(n) for n in unknown[:10])}"
                     + (f" and {len(unknown) - 10:,} more" if len(unknown) > 10 else ""))
    fields, arrays = [], []
    index = {n: i for i, n in reversed(list(enumerate(names)))}
    columns = list(decl.columns) + ([_DATE] if decl.dated and "date" in names else [])
    for col in columns:
        if col.name not in index:
            if col.required and not (col.name == "day" and decl.dated and "date" in index):
                problems.append(Problem(fname, None, col.name,
                                        f"required column is missing: add a column {col.name!r} "
                                        f"({col.doc})"))
            continue
        text = raw.column(index[col.name])
        if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
            text = pc.cast(text, pa.string())  # an all-empty column is read as null-typed
        arr = _convert(col, text, fname, problems)
        if not col.required and col.default is not None and arr.null_count:
            arr = pc.fill_null(arr, pa.scalar(col.default, col.arrow_type))
        fields.append(pa.field(col.name, arr.type if col is _DATE else col.arrow_type,
                               nullable=True))
        arrays.append(arr)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _meta(csv_dir: Path, overrides: dict, problems: list[Problem]) -> dict:
    meta: dict = {}
    path = csv_dir / "instance.json"
    bad = not_regular(path)
    if bad:
        problems.append(Problem("instance.json", None, None, bad))
    elif path.is_file():
        data = path.read_bytes()[:META_MAX_BYTES + 1]
        try:
            parsed = parse_meta_text(data.decode("utf-8-sig")) if len(data) <= META_MAX_BYTES else \
                "is larger than 1 MiB; it holds a few keys"
        except UnicodeDecodeError:
            parsed = "is not UTF-8 text; save it as UTF-8"
        if isinstance(parsed, str):
            problems.append(Problem("instance.json", None, None, parsed))
        else:
            meta = parsed
    meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION, **meta}
    for k, v in overrides.items():
        if v is not None:
            meta[k] = v
    meta.setdefault("name", csv_dir.resolve().name)
    if "horizon_days" not in meta:
        problems.append(Problem("instance.json", None, "horizon_days",
                                "is not given: add instance.json to the CSV folder, or give "
                                "the horizon in days to the import (horizon_days)"))
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
    known = [t.name for t in TABLES]
    stems = {p.stem for p in csv_dir.glob("*.csv")}
    absent = [k for k in known if k not in stems]
    for p in sorted(csv_dir.glob("*.csv")):
        if p.stem not in known:
            close = nearest(p.stem, absent)
            if close:
                problems.append(Problem(shown(p.name)[1:-1], None, None, "is not a table of the format; did you "
                                        "mean " + " or ".join(shown(c + ".csv") for c in close)
                                        + "? Rename the file (unknown files are not read)"))
            else:
                notes.append(f"{shown(p.name)}: not a table of the format; ignored")
    tables: dict[str, pa.Table] = {}
    fnames = {t.name: f"{t.name}.csv" for t in TABLES}
    for decl in TABLES:
        path = csv_dir / f"{decl.name}.csv"
        bad = not_regular(path)
        if bad:
            problems.append(Problem(path.name, None, None, bad))
            continue
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
        raise InvalidInstanceError(_with_lines(problems, csv_dir), shown(str(csv_dir))[1:-1])
    return meta, tables


def import_csv(csv_dir: str | os.PathLike, out: str | os.PathLike, *, fmt: str = "arrow",
               force: bool = False, name: str | None = None, horizon_days: int | None = None,
               budget: float | None = None, notes: list[str] | None = None
               ) -> tuple[dict, dict[str, pa.Table]]:
    """Convert a CSV folder into an instance directory `out` (atomically). Returns (meta, tables)."""
    if fmt not in ("arrow", "parquet"):
        raise UsageError("{fmt}: choose arrow or parquet", fmt=fmt)
    meta, tables = read_csv_dir(csv_dir, name=name, horizon_days=horizon_days, budget=budget,
                                notes=notes)
    schemaed = {k: t.cast(pa.schema([pa.field(f.name, f.type, nullable=_nullable(k, f.name))
                                     for f in t.schema])) for k, t in tables.items()}
    with atomic_dir(out, force=force, protect=(csv_dir,)) as tmp:
        write_instance_tables(meta, schemaed, tmp, fmt)
    return meta, schemaed


def _nullable(table: str, column: str) -> bool:
    from .schema import TABLES_BY_NAME

    decl = TABLES_BY_NAME[table]
    return decl.column(column).nullable if column in {c.name for c in decl.columns} else True
