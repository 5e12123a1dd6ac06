"""Read the instance, plan and evaluation directories the report draws.

The instance is read and validated by ``optimiser.instance.load_instance``
(an invalid one is refused, as every command refuses it). Plan and
evaluation tables are read by the engine's one reader of output tables,
``optimiser.outputs.read_output_table`` (Arrow IPC or Parquet alike, declared
columns checked), and converted into numpy columns with fixed kinds:
strings as object arrays of ``str`` (dictionary and large strings decoded,
NULs kept), integers as int64, quantities and money as float64 (nulls
become NaN). Column kinds come from the declarations in
``optimiser.outputs``; the defaults here say how the report fills a
column that another tool (or a notebook's dict) left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import outputs
from ..errors import InvalidPlanError
from ..instance import Instance, load_instance
from ..plan import read_summary
from .vocabulary import KPI_LABELS, PLAN_STATUSES

Columns = dict[str, np.ndarray]
Spec = dict[str, tuple[str, Any]]  # column -> (kind, default); default None: required


def _kind(typ: pa.DataType) -> str:
    if pa.types.is_integer(typ):
        return "int"
    if pa.types.is_floating(typ):
        return "float"
    if pa.types.is_boolean(typ):
        return "bool"
    return "str"


def spec(schema: pa.Schema | outputs.OutputTable, required: tuple[str, ...], **defaults: Any) -> Spec:
    """Kinds from ``schema`` (or an output table's declaration, dates left out); ``required``
    columns have no default; others default to ``defaults[name]``, else "" (strings), -1
    (integers) or NaN (numbers)."""
    if isinstance(schema, outputs.OutputTable):
        schema = pa.schema([pa.field(c.name, c.type) for c in schema.columns
                            if c.name not in outputs.DATE_OF.values()])
    fallback = {"str": "", "int": -1, "float": math.nan, "bool": False}
    out: Spec = {}
    for f in schema:
        kind = _kind(f.type)
        out[f.name] = (kind, None if f.name in required else defaults.get(f.name, fallback[kind]))
    return out


STOCK_SPEC = spec(outputs.STOCK, ("node", "commodity", "day", "stock"),
                  floor=0.0, below_floor=math.nan, demand=0.0, unmet=0.0)  # below_floor NaN: recomputed
FLOWS_SPEC = spec(outputs.FLOWS, ("origin", "destination", "commodity", "depart_day", "quantity"), mode="")
ORDERS_SPEC = spec(outputs.ORDERS, ("supplier", "commodity", "destination", "order_day", "quantity"), mode="")
SHADOW_SPEC = spec(outputs.SHADOW_PRICES, (), value=0.0)
INFEASIBILITY_SPEC = spec(outputs.INFEASIBILITY.schema.append(pa.field("first_day", pa.int64()))
                          .append(pa.field("last_day", pa.int64())), ("requirement",), violation=0.0)
SCENARIO_SPEC = spec(outputs.SCENARIOS, ())
BY_COMMODITY_SPEC = spec(outputs.SCENARIOS_BY_COMMODITY, ("commodity",))
FAN_SPEC = spec(outputs.FAN, ("node", "commodity", "day", "p5", "p50", "p95"))
# The reliability files are declared in optimiser.reliability.results, whose package loads
# the Numba kernels; the report needs only their column kinds (docs/RELIABILITY.md).
RELIABILITY_SPEC = spec(pa.schema([
    ("node", pa.string()), ("commodity", pa.string()), ("target", pa.float64()), ("kind", pa.string()),
    ("train_breaches", pa.float64()), ("train_scenarios", pa.float64()), ("certify_breaches", pa.float64()),
    ("certify_scenarios", pa.float64()), ("upper_bound", pa.float64()), ("certified", pa.bool_()),
    ("max_buffer", pa.float64()),
]), ("kind", "upper_bound"))
FRONTIER_SPEC = spec(pa.schema([
    ("reliability", pa.float64()), ("certified", pa.bool_()), ("upper_bound", pa.float64()),
    ("objective", pa.float64()), ("procurement", pa.float64()), ("extra_cost", pa.float64()),
]), ("reliability", "objective"))


@dataclass(frozen=True)
class PlanData:
    summary: dict[str, Any]
    flows: Columns | None
    stock: Columns | None
    orders: Columns | None  # as written, or None (then derived from flows)
    shadow_prices: Columns | None
    infeasibility: Columns | None
    reliability: Columns | None
    frontier: Columns | None
    tables: dict[str, pa.Table]  # as read, for the checker

    @property
    def status(self) -> str:
        return str(self.summary.get("status", "unknown"))

    @property
    def is_plan(self) -> bool:
        """The tables are a real plan (status optimal or feasible)."""
        return self.status in PLAN_STATUSES


@dataclass(frozen=True)
class EvaluationData:
    summary: dict[str, Any]
    scenarios: Columns | None
    by_commodity: Columns | None
    fan: Columns | None


# ---------------------------------------------------------------- tables


def read_table(directory: Path, name: str, *, required: bool = True) -> pa.Table | None:
    """Table ``name`` of a plan or evaluation directory: ``name.arrow`` or ``name.parquet``
    (both is refused), through the engine's one reader of output tables."""
    table = outputs.read_output_table(directory, name)
    if table is None and required:
        raise InvalidPlanError(f"{directory / name}.arrow not found (nor {name}.parquet): "
                               f"is {directory} the right directory?")
    return table


def _get(source: Any, name: str) -> Any | None:
    if isinstance(source, pa.Table):
        return source.column(name) if name in source.column_names else None
    try:
        return source[name] if name in source else None
    except TypeError:
        return None


def columns(source: Any, spec: Mapping[str, tuple[str, Any]], *, table: str) -> Columns:
    """Convert a pyarrow Table or a mapping of columns into numpy columns per ``spec``.

    ``source`` may be a ``pyarrow.Table``, a dict of sequences or a pandas
    DataFrame. A missing required column raises InvalidPlanError naming it.
    """
    if isinstance(source, pa.RecordBatch):
        source = pa.Table.from_batches([source])
    present = [name for name in spec if _get(source, name) is not None]
    n = len(_get(source, present[0])) if present else 0
    out: Columns = {}
    for name, (kind, default) in spec.items():
        raw = _get(source, name)
        if raw is None:
            if default is None:
                raise InvalidPlanError(f"{table}: column {name!r} is missing")
            out[name] = np.full(n, default, dtype=_DTYPES[kind])
            continue
        out[name] = _convert(raw, kind, default, f"{table}.{name}")
    return out


_DTYPES = {"str": object, "int": np.int64, "float": np.float64, "bool": bool}


def _convert(raw: Any, kind: str, default: Any, where: str) -> np.ndarray:
    if isinstance(raw, (pa.ChunkedArray, pa.Array)):
        arr = raw
        if pa.types.is_dictionary(arr.type):
            arr = pc.cast(arr, arr.type.value_type)
        try:
            if kind == "str":
                arr = pc.fill_null(pc.cast(arr, pa.string()), "" if default is None else default)
                return np.asarray(arr.to_pylist(), dtype=object)
            if kind == "bool":
                arr = pc.fill_null(pc.cast(arr, pa.bool_()), bool(default))
                return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=bool)
            if pa.types.is_date(arr.type) or pa.types.is_timestamp(arr.type):
                raise InvalidPlanError(f"{where}: a date column where a number is expected")
            arr = pc.cast(arr, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise InvalidPlanError(f"{where}: unexpected type {raw.type}") from exc
        values = arr.to_numpy(zero_copy_only=False)
    else:
        if kind == "str":  # element by element: a numpy "U" array would drop trailing NULs of a name
            items = raw.tolist() if isinstance(raw, np.ndarray) and raw.dtype == object else raw
            out = np.empty(len(items), dtype=object)
            out[:] = ["" if v is None else str(v) for v in items]
            return out
        values = np.asarray(raw)
        if kind == "bool":
            return np.asarray([bool(v) for v in values], dtype=bool)
        try:
            values = values.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidPlanError(f"{where}: expected numbers") from exc
    if kind == "int":
        fill = -1 if default is None else default
        return np.where(np.isnan(values), fill, values).astype(np.int64)
    return values.astype(np.float64, copy=False)


def read_json(path: Path) -> dict[str, Any]:
    """A directory's summary.json (``path``), which must exist."""
    summary = read_summary(path.parent) if path.name == "summary.json" else None
    if summary is None:
        raise InvalidPlanError(f"{path} not found: is {path.parent} the right directory?")
    return summary


# ---------------------------------------------------------------- loaders


def instance(path: str | Path | Instance) -> Instance:
    """The validated instance (InvalidInstanceError when it is not valid)."""
    return path if isinstance(path, Instance) else load_instance(path)


def load_plan(path: str | Path) -> PlanData:
    """Read a plan directory.

    ``flows`` and ``stock`` may be absent only when the status says there is
    no plan (infeasible, no solution, error).
    """
    path = Path(path)
    if not path.is_dir():
        raise InvalidPlanError(f"plan {path} is not a directory")
    summary = read_json(path / "summary.json")
    required = summary.get("status") in (None, *PLAN_STATUSES)
    raw = {name: read_table(path, name, required=required and name in ("flows", "stock"))
           for name in ("flows", "stock", "orders", "shadow_prices", "infeasibility", "reliability", "frontier")}
    tables = {k: v for k, v in raw.items() if v is not None}

    def cols(name: str, spec: Spec) -> Columns | None:
        return None if raw[name] is None else columns(raw[name], spec, table=name)

    stock = cols("stock", STOCK_SPEC)
    if stock is not None:
        missing = np.isnan(stock["below_floor"])
        gap = np.maximum(stock["floor"] - stock["stock"], 0.0)
        stock["below_floor"] = np.where(missing, gap, stock["below_floor"])
    return PlanData(
        summary=summary, flows=cols("flows", FLOWS_SPEC), stock=stock, orders=cols("orders", ORDERS_SPEC),
        shadow_prices=cols("shadow_prices", SHADOW_SPEC), infeasibility=cols("infeasibility", INFEASIBILITY_SPEC),
        reliability=cols("reliability", RELIABILITY_SPEC), frontier=cols("frontier", FRONTIER_SPEC),
        tables=tables,
    )


def load_evaluation(path: str | Path) -> EvaluationData:
    """Read an evaluation directory."""
    path = Path(path)
    if not path.is_dir():
        raise InvalidPlanError(f"evaluation {path} is not a directory")
    summary = read_json(path / "summary.json")
    scen = read_table(path, "scenarios")
    byk = read_table(path, "scenarios_by_commodity", required=False)
    fan = read_table(path, "fan", required=False)
    return EvaluationData(
        summary=summary,
        scenarios=columns(scen, SCENARIO_SPEC, table="scenarios"),
        by_commodity=None if byk is None else columns(byk, BY_COMMODITY_SPEC, table="scenarios_by_commodity"),
        fan=None if fan is None else columns(fan, FAN_SPEC, table="fan"),
    )


# ---------------------------------------------------------------- grouping


def kpi_stats(summary: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Per-KPI statistics from an evaluation summary, nested under "kpis" or top-level."""
    nested = summary.get("kpis")
    source = nested if isinstance(nested, Mapping) else summary
    found = {
        str(k): dict(v)
        for k, v in source.items()
        if k != "by_commodity" and isinstance(v, Mapping) and any(s in v for s in ("mean", "p50"))
    }
    ordered = {k: found[k] for k in KPI_LABELS if k in found}
    ordered.update((k, v) for k, v in found.items() if k not in ordered)
    return ordered


@dataclass(frozen=True)
class Pairs:
    """Rows grouped by (node, commodity): ``index[i]`` is the pair of row i."""

    node: np.ndarray
    commodity: np.ndarray
    index: np.ndarray

    def __len__(self) -> int:
        return len(self.node)

    def label(self, i: int) -> str:
        from .text import pair

        return pair(self.node[i], self.commodity[i])

    def total(self, values: np.ndarray) -> np.ndarray:
        """Sum of ``values`` per pair."""
        return np.bincount(self.index, weights=values, minlength=len(self)).astype(np.float64)

    def series(self, days: np.ndarray, values: np.ndarray, horizon: int, fill: float = np.nan) -> np.ndarray:
        """A (pairs, horizon) matrix of ``values`` placed by day."""
        out = np.full((len(self), horizon), fill, dtype=np.float64)
        ok = (days >= 0) & (days < horizon)
        out[self.index[ok], days[ok]] = values[ok]
        return out


def group_pairs(node: np.ndarray, commodity: np.ndarray) -> Pairs:
    """Group rows by (node, commodity), pairs sorted by name (any strings, NULs included)."""
    if len(node) == 0:
        empty = np.empty(0, dtype=object)
        return Pairs(empty, empty, np.empty(0, dtype=np.int64))
    ids: dict[tuple[str, str], int] = {}
    index = np.fromiter((ids.setdefault((n, k), len(ids)) for n, k in zip(node.tolist(), commodity.tolist())),
                        dtype=np.int64, count=len(node))
    keys = list(ids)
    order = sorted(range(len(keys)), key=keys.__getitem__)
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = np.arange(len(keys))
    return Pairs(np.asarray([keys[j][0] for j in order], dtype=object),
                 np.asarray([keys[j][1] for j in order], dtype=object), rank[index])


def worst_first(*scores: np.ndarray, top: int) -> tuple[np.ndarray, int]:
    """Indices of the ``top`` worst items by the scores (first score decides, ties by the next).

    Returns the chosen indices (worst first) and how many were left out.
    Items tie last on their original (name) order, so the choice is stable.
    """
    n = len(scores[0]) if scores else 0
    # np.lexsort sorts by the last key first; negate so larger is worse.
    order = np.lexsort(tuple(-np.nan_to_num(s) for s in reversed(scores))) if n else np.empty(0, np.int64)
    chosen = order[: max(top, 0)]
    return chosen, n - len(chosen)


def horizon_of(stock: Columns | None, inst: Instance | None = None) -> int:
    """Days in the plan: the instance's horizon, else one past the last day in the stock table."""
    if inst is not None and inst.horizon > 0:
        return int(inst.horizon)
    if stock is not None and len(stock["day"]):
        return int(stock["day"].max()) + 1
    return 0
