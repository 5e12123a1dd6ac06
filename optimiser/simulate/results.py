"""Simulation results at the edge: tables, summary.json content, the paired comparison
with the open loop, and a readable summary."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from ..scenarios.evaluate import ChunkResult, summarise
from ..scenarios.kernels import KPI_NAMES
from ..scenarios.results import (
    _fmt,
    fan_table,
    format_summary,
    scenarios_by_commodity_table,
    scenarios_table,
)

Z95 = 1.959963984540054  # two-sided 95 % standard normal quantile


def paired(sim: np.ndarray, ol: np.ndarray) -> dict:
    """{mean (open loop), diff_mean, diff_ci_low, diff_ci_high} of sim - ol, scenario by
    scenario (95 % normal-approximation interval; pairs where either is NaN left out)."""
    ok = ~(np.isnan(sim) | np.isnan(ol))
    olm = float(np.mean(ol[ok])) if ok.any() else None
    d = sim[ok] - ol[ok]
    if len(d) == 0:
        return {"mean": olm, "diff_mean": None, "diff_ci_low": None, "diff_ci_high": None}
    m = float(np.mean(d))
    if len(d) < 2:
        return {"mean": olm, "diff_mean": m, "diff_ci_low": None, "diff_ci_high": None}
    half = Z95 * float(np.std(d, ddof=1)) / math.sqrt(len(d))
    return {"mean": olm, "diff_mean": m, "diff_ci_low": m - half, "diff_ci_high": m + half}


def build_simulation(inst, arrays, res, ol, ctx, plan, timings: dict, window_given: bool,
                     planning: bool):
    from . import Simulation

    cr = ChunkResult(res.scenario, res.kpis, res.fan_counts, res.fan_min, res.fan_max, 0.0,
                     res.kpis_c)
    summary = summarise(cr, ctx.seed, ctx.params, commodities=inst.commodities)
    solves = int(res.replans.sum())
    summary.update({
        "instance": inst.name,
        "replan_every": ctx.replan_every,
        "window": ctx.window,  # days; the horizon's length when not given (the rest)
        "window_is_rest": not window_given or ctx.window >= inst.horizon,
        "floors": "planning" if planning else "instance",
        "day0_objective": plan.objective,
        "day0_status": plan.status,
        "solves": solves,
        "solve_seconds_mean": float(res.solve_seconds.sum() / solves) if solves else None,
        "solve_seconds_max": float(res.solve_max) if solves else None,
        "relaxed_replans": int(res.relaxed.sum()),
        "replan_statuses": dict(sorted(res.statuses.items())),
    })
    okp = ol.result.kpis
    summary["open_loop"] = {k: paired(res.kpis[:, j], okp[:, j]) for j, k in enumerate(KPI_NAMES)}
    if res.kpis_c is not None and ol.result.kpis_c is not None:
        summary["open_loop_by_commodity"] = {
            str(c): {k: paired(res.kpis_c[:, ci, j], ol.result.kpis_c[:, ci, j])
                     for j, k in enumerate(("demand", "unmet", "fill_rate", "shortfall_days",
                                            "below_floor", "breach_days", "min_floor_ratio"))}
            for ci, c in enumerate(inst.commodities)}
    summary["timings"] = timings
    scen = scenarios_table(cr)
    scen = scen.append_column("replans", pa.array(res.replans, pa.int64()))
    scen = scen.append_column("relaxed_replans", pa.array(res.relaxed, pa.int64()))
    scen = scen.append_column("solve_seconds", pa.array(res.solve_seconds, pa.float64()))
    by_c = scenarios_by_commodity_table(inst, cr)
    fan = fan_table(inst, arrays, cr) if res.fan_counts is not None else None
    return Simulation(summary=summary, scenarios=scen, scenarios_by_commodity=by_c, fan=fan,
                      open_loop=ol)


def format_simulation(summary: dict) -> str:
    """The closed-loop KPIs, then what replanning is worth against the open loop."""
    w = summary["window"]
    lines = [f"closed loop: replan every {summary['replan_every']} days, window "
             f"{'the rest of the horizon' if summary.get('window_is_rest') else f'{w} days'}; "
             f"{summary['solves']} LP solves "
             f"(mean {_fmt(summary['solve_seconds_mean'])} s, max "
             f"{_fmt(summary['solve_seconds_max'])} s), relaxed replans "
             f"{summary['relaxed_replans']}", format_summary(summary), "",
             "value of replanning (closed - open loop, per scenario; 95% CI):"]
    ol = summary["open_loop"]
    by_c = summary.get("open_loop_by_commodity") or {}

    def row(label, d):
        if d["diff_mean"] is None:
            return f"  {label:<28} -"
        ci = "" if d["diff_ci_low"] is None else \
            f"  [{_fmt(d['diff_ci_low'])}, {_fmt(d['diff_ci_high'])}]"
        return (f"  {label:<28} open loop {_fmt(d['mean']):>14}   change "
                f"{_fmt(d['diff_mean']):>14}{ci}")

    lines.append(row("cost (money)", ol["cost"]))
    lines.append(row("days with a floor breach", ol["breach_days"]))
    lines.append(row("days with unmet consumption", ol["shortfall_days"]))
    if len(by_c) > 1:
        for c, d in by_c.items():
            lines.append(row(f"{c}: unmet", d["unmet"]))
            lines.append(row(f"{c}: unit-days below floor", d["below_floor"]))
    else:
        lines.append(row("unmet", ol["unmet"]))
        lines.append(row("unit-days below floor", ol["below_floor"]))
    return "\n".join(lines)
