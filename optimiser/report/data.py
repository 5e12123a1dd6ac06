"""Read instance, plan and evaluation directories into plain numpy columns.

The report reads only files (SPEC sections 2, 4 and 7), never the engine's
objects, so it works on a plan written by any tool. Every table becomes a
dict of numpy arrays with fixed kinds: strings as object arrays of ``str``
(dictionary-encoded and large strings decoded), integers as int64 and
quantities and money as float64 (nulls become NaN).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InvalidPlanError, OutputExistsError, UsageError

Columns = dict[str, np.ndarray]

# Column kinds and defaults for each table the report reads. A default of
# None means the column is required.
STOCK_SPEC = {
    "node": ("str", None),
    "commodity": ("str", None),
    "day": ("int", None),
    "stock": ("float", None),
    "floor": ("float", 0.0),
    "below_floor": ("float", math.nan),  # NaN: recomputed from stock and floor
    "demand": ("float", 0.0),
    "unmet": ("float", 0.0),
}
FLOWS_SPEC = {
    "origin": ("str", None),
    "destination": ("str", None),
    "commodity": ("str", None),
    "mode": ("str", ""),
    "depart_day": ("int", None),
    "arrive_day": ("int", -1),
    "quantity": ("float", None),
}
SUPPLIERS_SPEC = {
    "supplier": ("str", None),
    "commodity": ("str", None),
    "unit_price": ("float", 0.0),
    "daily_capacity": ("float", math.inf),
    "contract_min": ("float", 0.0),
    "contract_max": ("float", math.nan),  # NaN: no contract maximum
}
CAPACITY_SPEC = {
    "supplier": ("str", None),
    "commodity": ("str", None),
    "day": ("int", None),
    "capacity": ("float", None),
}
SHADOW_SPEC = {
    "constraint": ("str", ""),
    "name": ("str", ""),
    "supplier": ("str", ""),
    "node": ("str", ""),
    "origin": ("str", ""),
    "destination": ("str", ""),
    "commodity": ("str", ""),
    "mode": ("str", ""),
    "day": ("int", -1),
    "limit": ("float", math.nan),
    "used": ("float", math.nan),
    "value": ("float", 0.0),
}
SCENARIO_SPEC = {
    "scenario": ("int", -1),
    "demand": ("float", math.nan),
    "unmet": ("float", math.nan),
    "fill_rate": ("float", math.nan),
    "shortfall_days": ("float", math.nan),
    "below_floor": ("float", math.nan),
    "breach_days": ("float", math.nan),
    "min_floor_ratio": ("float", math.nan),
    "cost": ("float", math.nan),
}
FAN_SPEC = {
    "node": ("str", None),
    "commodity": ("str", None),
    "day": ("int", None),
    "p5": ("float", None),
    "p50": ("float", None),
    "p95": ("float", None),
}

# Order in which scenario KPIs are listed; unknown KPIs follow in file order.
KPI_ORDER = (
    "demand",
    "unmet",
    "fill_rate",
    "shortfall_days",
    "below_floor",
    "breach_days",
    "min_floor_ratio",
    "cost",
)


class ReportInputError(InvalidPlanError):
    """An input directory (instance, plan or evaluation) lacks a file or column (CLI exit 2)."""


class MissingDependency(UsageError, ImportError):
    """An optional dependency (matplotlib) is not installed (CLI exit 2)."""


# The report directory exists and --force was not given (CLI exit 2).
ReportOutputExists = OutputExistsError


@dataclass(frozen=True)
class InstanceData:
    name: str
    horizon: int
    budget: float | None
    suppliers: Columns
    capacity: Columns | None
    supplier_names: frozenset[str]


@dataclass(frozen=True)
class PlanData:
    summary: dict[str, Any]
    flows: Columns | None
    stock: Columns | None
    shadow_prices: Columns | None


@dataclass(frozen=True)
class EvaluationData:
    summary: dict[str, Any]
    scenarios: Columns | None
    fan: Columns | None


# ---------------------------------------------------------------- tables


def read_table(directory: Path, name: str, *, required: bool = True) -> pa.Table | None:
    """Read ``name.arrow`` (Arrow IPC) or ``name.parquet`` from a directory."""
    arrow, parquet = directory / f"{name}.arrow", directory / f"{name}.parquet"
    try:
        if arrow.is_file():
            with pa.memory_map(str(arrow)) as source:
                return pa.ipc.open_file(source).read_all()
        if parquet.is_file():
            import pyarrow.parquet as pq

            return pq.read_table(parquet)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ReportInputError(f"{directory / name}: cannot read table: {exc}") from exc
    if required:
        raise ReportInputError(
            f"{arrow} not found (nor {parquet.name}): is {directory} the right directory?"
        )
    return None


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
    DataFrame. A missing required column raises ReportInputError naming it.
    """
    if isinstance(source, pa.RecordBatch):
        source = pa.Table.from_batches([source])
    present = [name for name in spec if _get(source, name) is not None]
    n = len(np.asarray(_get(source, present[0]))) if present else 0
    out: Columns = {}
    for name, (kind, default) in spec.items():
        raw = _get(source, name)
        if raw is None:
            if default is None:
                raise ReportInputError(f"{table}: column {name!r} is missing")
            out[name] = np.full(n, default, dtype=_DTYPES[kind])
            continue
        out[name] = _convert(raw, kind, default, f"{table}.{name}")
    return out


_DTYPES = {"str": object, "int": np.int64, "float": np.float64}


def _convert(raw: Any, kind: str, default: Any, where: str) -> np.ndarray:
    if isinstance(raw, (pa.ChunkedArray, pa.Array)):
        arr = raw
        if pa.types.is_dictionary(arr.type):
            arr = pc.cast(arr, arr.type.value_type)
        try:
            if kind == "str":
                arr = pc.cast(arr, pa.string())
                fill = "" if default is None else default
                arr = pc.fill_null(arr, fill)
                return np.asarray(arr.to_pylist(), dtype=object)
            arr = pc.cast(arr, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ReportInputError(f"{where}: unexpected type {raw.type}") from exc
        values = arr.to_numpy(zero_copy_only=False)
    else:
        values = np.asarray(raw)
        if kind == "str":
            return np.asarray(["" if v is None else str(v) for v in values], dtype=object)
        try:
            values = values.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ReportInputError(f"{where}: expected numbers") from exc
    if kind == "int":
        fill = -1 if default is None else default
        return np.where(np.isnan(values), fill, values).astype(np.int64)
    return values.astype(np.float64, copy=False)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ReportInputError(f"{path} not found: is {path.parent} the right directory?")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportInputError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ReportInputError(f"{path}: expected a JSON object")
    return data


# ---------------------------------------------------------------- loaders


def load_instance(path: str | Path) -> InstanceData:
    """Read what the report needs from an instance directory (SPEC section 2)."""
    path = Path(path)
    if not path.is_dir():
        raise ReportInputError(f"instance {path} is not a directory")
    meta = _read_json(path / "instance.json")
    suppliers = columns(read_table(path, "suppliers"), SUPPLIERS_SPEC, table="suppliers")
    cap_table = read_table(path, "capacity", required=False)
    capacity = None if cap_table is None else columns(cap_table, CAPACITY_SPEC, table="capacity")
    budget = meta.get("budget")
    return InstanceData(
        name=str(meta.get("name", path.name)),
        horizon=int(meta.get("horizon_days", 0) or 0),
        budget=None if budget is None else float(budget),
        suppliers=suppliers,
        capacity=capacity,
        supplier_names=frozenset(suppliers["supplier"].tolist()),
    )


def load_plan(path: str | Path) -> PlanData:
    """Read a plan directory (SPEC section 4).

    ``flows`` and ``stock`` may be absent only when the status says there is
    no plan (infeasible, no_solution, error); the report then shows the
    summary alone.
    """
    path = Path(path)
    if not path.is_dir():
        raise ReportInputError(f"plan {path} is not a directory")
    summary = _read_json(path / "summary.json")
    required = summary.get("status") in (None, "optimal", "feasible")
    flows_t = read_table(path, "flows", required=required)
    stock_t = read_table(path, "stock", required=required)
    shadow_t = read_table(path, "shadow_prices", required=False)
    stock = None if stock_t is None else columns(stock_t, STOCK_SPEC, table="stock")
    if stock is not None:
        missing = np.isnan(stock["below_floor"])
        gap = np.maximum(stock["floor"] - stock["stock"], 0.0)
        stock["below_floor"] = np.where(missing, gap, stock["below_floor"])
    return PlanData(
        summary=summary,
        flows=None if flows_t is None else columns(flows_t, FLOWS_SPEC, table="flows"),
        stock=stock,
        shadow_prices=None if shadow_t is None else columns(shadow_t, SHADOW_SPEC, table="shadow_prices"),
    )


def load_evaluation(path: str | Path) -> EvaluationData:
    """Read an evaluation directory (SPEC section 7)."""
    path = Path(path)
    if not path.is_dir():
        raise ReportInputError(f"evaluation {path} is not a directory")
    summary = _read_json(path / "summary.json")
    scen_t = read_table(path, "scenarios")
    fan_t = read_table(path, "fan", required=False)
    return EvaluationData(
        summary=summary,
        scenarios=columns(scen_t, SCENARIO_SPEC, table="scenarios"),
        fan=None if fan_t is None else columns(fan_t, FAN_SPEC, table="fan"),
    )


# ---------------------------------------------------------------- derived


def kpi_stats(summary: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Per-KPI statistics from an evaluation summary, nested under "kpis" or top-level."""
    nested = summary.get("kpis")
    source = nested if isinstance(nested, Mapping) else summary
    found = {
        str(k): dict(v)
        for k, v in source.items()
        if isinstance(v, Mapping) and any(s in v for s in ("mean", "p50"))
    }
    ordered = {k: found[k] for k in KPI_ORDER if k in found}
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
        return f"{self.node[i]} · {self.commodity[i]}"

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
    """Group rows by (node, commodity), pairs sorted by name."""
    if len(node) == 0:
        empty = np.empty(0, dtype=object)
        return Pairs(empty, empty, np.empty(0, dtype=np.int64))
    keys = np.char.add(np.char.add(node.astype(str), "\x00"), commodity.astype(str))
    uniq, first, index = np.unique(keys, return_index=True, return_inverse=True)
    del uniq
    return Pairs(node[first], commodity[first], index.reshape(-1).astype(np.int64))


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


def horizon_of(stock: Columns | None, instance: InstanceData | None = None) -> int:
    """Days in the plan: the instance's horizon, else one past the last day in the stock table."""
    if instance is not None and instance.horizon > 0:
        return instance.horizon
    if stock is not None and len(stock["day"]):
        return int(stock["day"].max()) + 1
    return 0


@dataclass(frozen=True)
class Procurement:
    """Daily orders per (supplier, commodity) next to the limits that apply.

    Rows follow ``supplier``/``commodity``; ``ordered`` and ``capacity`` are
    (pairs, horizon) matrices in units/day; contract limits are totals over
    the horizon (NaN max: none).
    """

    supplier: np.ndarray
    commodity: np.ndarray
    ordered: np.ndarray
    capacity: np.ndarray
    contract_min: np.ndarray
    contract_max: np.ndarray

    def capacity_binds(self, rtol: float = 1e-6) -> np.ndarray:
        """(pairs, horizon) mask of days on which orders reach the daily capacity."""
        cap = self.capacity
        return (self.ordered > 0) & np.isfinite(cap) & (self.ordered >= cap - rtol * np.maximum(1.0, np.abs(cap)))


def procurement(flows: Columns, suppliers: Columns, capacity: Columns | None, horizon: int) -> Procurement:
    """Aggregate supplier dispatches by (supplier, commodity, day).

    A flow is procurement when its origin is a supplier named in the
    suppliers table. Capacity is the supplier's daily_capacity, replaced on
    the days listed in the capacity table.
    """
    names = set(suppliers["supplier"].tolist())
    is_buy = np.fromiter((o in names for o in flows["origin"]), dtype=bool, count=len(flows["origin"]))
    keys: dict[tuple[str, str], int] = {}
    for s, k in zip(suppliers["supplier"], suppliers["commodity"]):
        keys.setdefault((s, k), len(keys))
    rows = [keys.setdefault((s, k), len(keys)) for s, k in zip(flows["origin"][is_buy], flows["commodity"][is_buy])]
    n = len(keys)
    ordered = np.zeros((n, max(horizon, 1)), dtype=np.float64)
    days = flows["depart_day"][is_buy]
    ok = (days >= 0) & (days < ordered.shape[1])
    np.add.at(ordered, (np.asarray(rows, dtype=np.int64)[ok], days[ok]), flows["quantity"][is_buy][ok])

    cap = np.full_like(ordered, np.inf)
    cmin = np.zeros(n)
    cmax = np.full(n, np.nan)
    for j, (s, k) in enumerate(zip(suppliers["supplier"], suppliers["commodity"])):
        i = keys[(s, k)]
        cap[i, :] = suppliers["daily_capacity"][j]
        cmin[i] = suppliers["contract_min"][j]
        cmax[i] = suppliers["contract_max"][j]
    if capacity is not None:
        for s, k, d, c in zip(capacity["supplier"], capacity["commodity"], capacity["day"], capacity["capacity"]):
            i = keys.get((s, k))
            if i is not None and 0 <= d < cap.shape[1]:
                cap[i, d] = c
    pair_keys = list(keys)
    return Procurement(
        supplier=np.asarray([p[0] for p in pair_keys], dtype=object),
        commodity=np.asarray([p[1] for p in pair_keys], dtype=object),
        ordered=ordered,
        capacity=cap,
        contract_min=cmin,
        contract_max=cmax,
    )
