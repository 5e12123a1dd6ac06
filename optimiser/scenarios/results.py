"""Evaluation results at the edge: Arrow tables, summary.json, a readable summary."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa

from .._atomic import atomic_dir
from ..io import write_table
from .kernels import KPI_NAMES, fan_percentiles

SCENARIOS_SCHEMA = pa.schema([("scenario", pa.int64())] + [(k, pa.float64()) for k in KPI_NAMES])
FAN_SCHEMA = pa.schema([
    ("node", pa.string()), ("commodity", pa.string()), ("day", pa.int32()),
    ("p5", pa.float64()), ("p50", pa.float64()), ("p95", pa.float64()),
])


def scenarios_table(result) -> pa.Table:
    cols = {"scenario": pa.array(result.scenario, pa.int64())}
    for j, k in enumerate(KPI_NAMES):
        cols[k] = pa.array(result.kpis[:, j], pa.float64())
    return pa.table(cols, schema=SCENARIOS_SCHEMA)


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


def write_evaluation(ev, path: Path, force: bool = False, protect: tuple = ()) -> Path:
    with atomic_dir(path, force=force, protect=protect) as tmp:
        write_table(ev.scenarios, tmp / "scenarios.arrow")
        if ev.fan is not None:
            write_table(ev.fan, tmp / "fan.arrow")
        (tmp / "summary.json").write_text(summary_json(ev.summary), encoding="utf-8")
    return path


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not math.isfinite(v):
        return "-"
    a = abs(v)
    if a != 0 and (a >= 1e7 or a < 1e-3):
        return f"{v:.4g}"
    return f"{v:,.4f}".rstrip("0").rstrip(".") if a < 100 else f"{v:,.1f}"


def format_summary(summary: dict) -> str:
    """A fixed-width table of the KPIs across scenarios, for terminals and <pre>."""
    lines = [f"{summary['scenarios']} scenarios, seed {summary['seed']}"]
    active = {k: v for k, v in summary["params"].items()}
    lines.append("parameters: " + ", ".join(f"{k}={v}" for k, v in active.items()))
    head = f"{'kpi':<16}{'mean':>16}{'sd':>16}{'p5':>16}{'p50':>16}{'p95':>16}"
    lines += [head, "-" * len(head)]
    for k in KPI_NAMES:
        s = summary[k]
        lines.append(f"{k:<16}" + "".join(f"{_fmt(s[c]):>16}" for c in ("mean", "sd", "p5", "p50", "p95")))
    lines.append(f"unmet CVaR95: {_fmt(summary['unmet_cvar95'])}   "
                 f"P(any shortfall): {_fmt(summary['p_any_shortfall'])}   "
                 f"P(any floor breach): {_fmt(summary['p_any_breach'])}")
    return "\n".join(lines)
