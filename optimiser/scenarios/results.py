"""Evaluation results at the edge: Arrow tables, summary.json, a readable summary."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa

from .._atomic import atomic_dir
from ..io import write_table
from .kernels import COMMODITY_KPI_NAMES, KPI_NAMES, fan_percentiles

SCENARIOS_SCHEMA = pa.schema([("scenario", pa.int64())] + [(k, pa.float64()) for k in KPI_NAMES])
SCENARIOS_BY_COMMODITY_SCHEMA = pa.schema(
    [("scenario", pa.int64()), ("commodity", pa.string())]
    + [(k, pa.float64()) for k in COMMODITY_KPI_NAMES])
FORMATS = ("arrow", "parquet")
FAN_SCHEMA = pa.schema([
    ("node", pa.string()), ("commodity", pa.string()), ("day", pa.int32()),
    ("p5", pa.float64()), ("p50", pa.float64()), ("p95", pa.float64()),
])


def scenarios_table(result) -> pa.Table:
    cols = {"scenario": pa.array(result.scenario, pa.int64())}
    for j, k in enumerate(KPI_NAMES):
        cols[k] = pa.array(result.kpis[:, j], pa.float64())
    return pa.table(cols, schema=SCENARIOS_SCHEMA)


def scenarios_by_commodity_table(inst, result) -> pa.Table:
    """One row per (scenario, commodity), scenario-major, commodities in instance order."""
    kc = result.kpis_c
    n, C = kc.shape[0], kc.shape[1]
    cols = {"scenario": pa.array(np.repeat(result.scenario, C), pa.int64()),
            "commodity": pa.array(np.tile(np.asarray(inst.commodities).astype(str), n),
                                  pa.string())}
    for j, k in enumerate(COMMODITY_KPI_NAMES):
        cols[k] = pa.array(kc[:, :, j].ravel(), pa.float64())
    return pa.table(cols, schema=SCENARIOS_BY_COMMODITY_SCHEMA)


def fan_values(arrays, result) -> np.ndarray:
    """[I, T, 3] p5/p50/p95 of end-of-day stock per (pair, day)."""
    C = arrays.T * arrays.n_pairs
    out = np.empty((C, 3))
    fan_percentiles(result.fan_counts, arrays.fan_e_lo, result.fan_min, result.fan_max,
                    np.array([0.05, 0.5, 0.95]), out)
    return out.reshape(arrays.T, arrays.n_pairs, 3).transpose(1, 0, 2)


def fan_table(inst, arrays, result) -> pa.Table:
    v = fan_values(arrays, result)
    I, T = arrays.n_pairs, arrays.T
    i = np.repeat(np.arange(I), T)
    return pa.table({
        "node": pa.array(inst.node_names[inst.nc_node[i]].astype(str), pa.string()),
        "commodity": pa.array(inst.commodities[inst.nc_commodity[i]].astype(str), pa.string()),
        "day": pa.array(np.tile(np.arange(T, dtype=np.int32), I)),
        "p5": pa.array(v[:, :, 0].ravel()), "p50": pa.array(v[:, :, 1].ravel()),
        "p95": pa.array(v[:, :, 2].ravel()),
    }, schema=FAN_SCHEMA)


def _clean(o):
    """JSON-safe: NaN/inf -> null, numpy scalars -> Python (the project's one JSON policy)."""
    from .._json import clean

    return clean(o)


def summary_json(summary: dict) -> str:
    return json.dumps(_clean(summary), indent=2, allow_nan=False) + "\n"


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        from ..errors import UsageError
        raise UsageError("{fmt}: choose arrow or parquet", fmt=fmt)
    return fmt


def write_tables(tmp: Path, tables: dict, fmt: str) -> None:
    """Write each non-None table as NAME.arrow or NAME.parquet into tmp."""
    check_format(fmt)
    for name, t in tables.items():
        if t is not None:
            write_table(t, tmp / f"{name}.{fmt}")


def write_evaluation(ev, path: Path, force: bool = False, protect: tuple = (),
                     fmt: str = "arrow") -> Path:
    check_format(fmt)
    with atomic_dir(path, force=force, protect=protect) as tmp:
        write_tables(tmp, {"scenarios": ev.scenarios,
                           "scenarios_by_commodity": getattr(ev, "scenarios_by_commodity", None),
                           "fan": ev.fan}, fmt)
        (tmp / "summary.json").write_text(summary_json(ev.summary), encoding="utf-8")
    return path


def read_result_table(directory, name: str) -> pa.Table | None:
    """NAME.arrow or NAME.parquet of an evaluation or simulation directory (either format;
    None when absent). Both present is refused: which one is meant is not clear."""
    from ..errors import UsageError
    from ..io import read_raw, table_file

    path, problem = table_file(Path(directory), name)
    if problem is not None:
        raise UsageError(f"{directory}: {problem.message}")
    return None if path is None else read_raw(path)


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not math.isfinite(v):
        return "-"
    a = abs(v)
    if a != 0 and (a >= 1e7 or a < 1e-3):
        return f"{v:.4g}"
    return f"{v:,.4f}".rstrip("0").rstrip(".") if a < 100 else f"{v:,.1f}"


# quantities in the commodity's own unit: never shown summed over several commodities
QUANTITY_KPIS = ("demand", "unmet", "fill_rate", "below_floor")
STATS = ("mean", "sd", "p5", "p50", "p95")


def _kpi_lines(stats: dict, names, indent: str = "") -> list[str]:
    head = f"{indent}{'kpi':<16}" + "".join(f"{c:>16}" for c in STATS)
    lines = [head, "-" * len(head)]
    for k in names:
        st = stats[k]
        lines.append(f"{indent}{k:<16}" + "".join(f"{_fmt(st[c]):>16}" for c in STATS))
    return lines


def format_summary(summary: dict) -> str:
    """A fixed-width table of the KPIs across scenarios, for terminals and <pre>.

    With several commodities, quantities (demand, unmet, fill rate, unit-days below floor,
    unmet CVaR95) are shown per commodity only: a round and a litre are not added up."""
    lines = [f"{summary['scenarios']} scenarios, seed {summary['seed']}"]
    active = {k: v for k, v in summary["params"].items()}
    lines.append("parameters: " + ", ".join(f"{k}={v}" for k, v in active.items()))
    by_c = summary.get("by_commodity") or {}
    mixed = len(by_c) > 1
    names = [k for k in KPI_NAMES if not (mixed and k in QUANTITY_KPIS)]
    lines += _kpi_lines(summary, names)
    if mixed:
        lines.append(f"P(any shortfall): {_fmt(summary['p_any_shortfall'])}   "
                     f"P(any floor breach): {_fmt(summary['p_any_breach'])}   "
                     "(all commodities)")
        for c, st in by_c.items():
            lines.append("")
            lines.append(f"commodity {c}:")
            lines += _kpi_lines(st, COMMODITY_KPI_NAMES, "  ")
            lines.append(f"  unmet CVaR95: {_fmt(st['unmet_cvar95'])}   "
                         f"P(any shortfall): {_fmt(st['p_any_shortfall'])}   "
                         f"P(any floor breach): {_fmt(st['p_any_breach'])}")
    else:
        lines.append(f"unmet CVaR95: {_fmt(summary['unmet_cvar95'])}   "
                     f"P(any shortfall): {_fmt(summary['p_any_shortfall'])}   "
                     f"P(any floor breach): {_fmt(summary['p_any_breach'])}")
    return "\n".join(lines)
