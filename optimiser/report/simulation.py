"""The report's closed-loop section (`optimiser report ... --simulation SIM`): re-planning
every K days against following the day-0 plan blindly, on the same sampled futures.

Read from a simulation directory (docs/SIMULATE.md): summary.json (the paired differences
closed - open loop with their 95 % intervals), scenarios and open_loop_scenarios (one row
per scenario, for the histograms of the paired differences), fan and open_loop_fan (the
fan charts drawn side by side). The section says what re-planning is worth in money and in
readiness, with the interval, and what it cost in LP solves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidPlanError
from . import data as d
from . import figures as fg
from . import html as h
from .vocabulary import kpi_label

#: the KPIs of the comparison table, in reading order
KPIS = ("cost", "unmet", "fill_rate", "shortfall_days", "below_floor", "breach_days",
        "min_floor_ratio")
#: a higher value is better for these (the others: lower is better)
HIGHER_IS_BETTER = ("fill_rate", "min_floor_ratio")
#: the histograms of paired differences
DIFF_KPIS = ("cost", "unmet", "breach_days")


@dataclass(frozen=True)
class SimulationData:
    path: Path
    summary: dict
    scenarios: d.Columns | None
    open_scenarios: d.Columns | None
    fan: d.Columns | None
    open_fan: d.Columns | None


def load(path: str | Path) -> SimulationData:
    """Read a simulation directory; InvalidPlanError (exit 2) when it is not one."""
    path = Path(path)
    if not path.is_dir():
        raise InvalidPlanError(f"simulation {path} is not a directory")
    summary = d.read_json(path / "summary.json")
    if not isinstance(summary.get("open_loop"), dict) or "replan_every" not in summary:
        raise InvalidPlanError(f"{path / 'summary.json'} is not a simulation summary (no "
                               "replan_every or open_loop): pass a directory written by "
                               "`optimiser simulate`")

    def cols(name: str, spec: d.Spec) -> d.Columns | None:
        t = d.read_table(path, name, required=False)
        return None if t is None else d.columns(t, spec, table=name)

    return SimulationData(path, summary, cols("scenarios", d.SCENARIO_SPEC),
                          cols("open_loop_scenarios", d.SCENARIO_SPEC), cols("fan", d.FAN_SPEC),
                          cols("open_loop_fan", d.FAN_SPEC))


# ---------------------------------------------------------------- the section


def value_of_replanning(summary: dict) -> dict[str, dict | None]:
    """Money and readiness gained by re-planning (open - closed loop: positive is a gain),
    each {value, ci_low, ci_high} from the paired difference; None when not available."""
    ol = summary.get("open_loop") or {}

    def gain(k: str) -> dict | None:
        x = ol.get(k) or {}
        if x.get("diff_mean") is None:
            return None
        lo, hi = x.get("diff_ci_low"), x.get("diff_ci_high")
        return {"value": -x["diff_mean"], "ci_low": None if hi is None else -hi,
                "ci_high": None if lo is None else -lo}

    return {"money": gain("cost"), "breach_days": gain("breach_days"),
            "below_floor": gain("below_floor"), "unmet": gain("unmet")}


def _ci(lo: Any, hi: Any) -> str:
    if lo is None or hi is None:
        return "—"
    return f"[{h.number(lo)}, {h.number(hi)}]"


def _verdict(k: str, x: dict) -> str:
    lo, hi = x.get("diff_ci_low"), x.get("diff_ci_high")
    if lo is None or hi is None or (lo <= 0 <= hi):
        return "no clear change"
    better = (lo > 0) == (k in HIGHER_IS_BETTER)
    return "better with re-planning" if better else "worse with re-planning"


def comparison_table(summary: dict) -> str:
    """Per KPI: open loop mean, closed loop mean, the paired change and its 95 % interval."""
    ol = summary.get("open_loop") or {}
    stats = d.kpi_stats(summary)
    rows = []
    for k in KPIS:
        x = ol.get(k)
        if not isinstance(x, dict):
            continue
        label, unit = kpi_label(k)
        u = "%" if unit == "%" else ""
        closed = (stats.get(k) or {}).get("mean")
        ci = (_ci(x.get("diff_ci_low"), x.get("diff_ci_high")) if not u else
              "—" if x.get("diff_ci_low") is None else
              f"[{h.number(x['diff_ci_low'] * 100)}, {h.number(x['diff_ci_high'] * 100)}] points")
        change = (h.number(x.get("diff_mean")) if not u else
                  "—" if x.get("diff_mean") is None else f"{h.number(x['diff_mean'] * 100)} points")
        rows.append((label, "" if u else unit, h.Markup(h.number(x.get("mean"), u)),
                     h.Markup(h.number(closed, u)), h.Markup(change), h.Markup(ci), _verdict(k, x)))
    for c, per in (summary.get("open_loop_by_commodity") or {}).items():
        if len(summary.get("open_loop_by_commodity") or {}) < 2:
            break
        for k in ("unmet", "below_floor"):
            x = per.get(k) or {}
            label, unit = kpi_label(k)
            closed = (((summary.get("by_commodity") or {}).get(c) or {}).get(k) or {}).get("mean")
            rows.append((f"{c}: {label}", unit, x.get("mean"), closed, x.get("diff_mean"),
                         h.Markup(_ci(x.get("diff_ci_low"), x.get("diff_ci_high"))),
                         _verdict(k, x)))
    return h.table(["KPI (per scenario)", "unit", "open loop mean", "closed loop mean",
                    "change (closed − open)", "95% interval of the change", "reading"], rows,
                   caption="Closed loop (re-planning) against open loop (the day-0 plan followed "
                           "blindly), scenario by scenario on the same futures",
                   numeric=[False, False, True, True, True, True, False])


def section(sim: SimulationData, figures: dict[str, str]) -> tuple[str, str, str]:
    """(id, heading, body) of the closed-loop section."""
    s = sim.summary
    K, n = s.get("replan_every"), s.get("scenarios")
    window = "the rest of the horizon" if s.get("window_is_rest", True) else f"{s.get('window')} days"
    floors = ("the reliability plan's planning floors" if s.get("floors") == "planning"
              else "the instance's floors")
    facts = [h.fact("re-plan every", f"{h.escape(K)} days"),
             h.fact("each replan looks ahead", h.escape(window)),
             h.fact("replans hold", h.escape(floors)),
             h.fact("LP solves", h.number(s.get("solves"))),
             h.fact("mean seconds per replan", h.number(s.get("solve_seconds_mean"))),
             h.fact("relaxed replans", h.number(s.get("relaxed_replans")))]
    v = value_of_replanning(s)
    lines = []
    for key, what, unit in (("money", "cost saved", "currency units per scenario"),
                            ("breach_days", "days with a floor breach avoided", "per scenario"),
                            ("below_floor", "unit-days below floor avoided", "per scenario"),
                            ("unmet", "unmet consumption avoided", "units per scenario")):
        g = v[key]
        if g is None:
            continue
        lines.append(f"<li><b>{h.number(g['value'])}</b> {h.escape(what)} ({h.escape(unit)}; "
                     f"95% interval {_ci(g['ci_low'], g['ci_high'])})</li>")
    intro = ('<p class="note">Everything in this section is across sampled futures. <b>Open loop</b>: '
             "the day-0 plan replayed blindly (as in the scenario evaluation). <b>Closed loop</b>: on "
             f"days {h.escape(K)}, {h.escape(2 * K if isinstance(K, int) else '')}, … every future "
             "re-plans from what actually happened (realised stock, shipments in transit, outages and "
             f"surges under way) and follows the new plan. Both on the same {h.escape(n)} futures "
             f"(seed {h.escape(s.get('seed'))}), so each difference is paired: the change is "
             "closed − open loop, future by future, with its 95% interval (normal "
             "approximation).</p>")
    value = ("<h3>Value of re-planning (open − closed loop; positive is a gain)</h3><ul>"
             + "".join(lines) + "</ul>") if lines else ""
    body = (intro + f'<div class="facts">{"".join(facts)}</div>' + value
            + '<div class="tables">' + comparison_table(s) + "</div>"
            + figures.get("simulation", ""))
    return "simulation", f"Re-planning every {K} days against the day-0 plan", body


# ---------------------------------------------------------------- figures


def figure_specs(sim: SimulationData, stock: Any, top: int, horizon: int, spec_cls: Any) -> list:
    specs = []
    if sim.scenarios is not None and sim.open_scenarios is not None:
        specs.append(spec_cls(
            "simulation_differences.png", "simulation",
            "Histograms of the paired differences closed minus open loop",
            "Each bar counts scenarios by the difference closed loop − open loop on the same future "
            "(left of the black line at zero: re-planning did better). Dashed: the mean difference.",
            lambda: differences_figure(sim.scenarios, sim.open_scenarios)))
    if sim.fan is not None and sim.open_fan is not None:
        specs.append(spec_cls(
            "simulation_fan.png", "simulation",
            "Fan charts of end-of-day stock, open loop and closed loop side by side",
            "One row per node and commodity (worst first by how far the open loop's 5th percentile "
            "falls below the floor). Left: the day-0 plan followed blindly; right: re-planning. "
            "Band: 5th to 95th percentile across the same futures; solid: median; dashed red: the "
            "floor; grey verticals: replanning days.",
            lambda: side_by_side_fan(sim.open_fan, sim.fan, stock, top=min(top, 8), horizon=horizon,
                                     replan_every=sim.summary.get("replan_every"))))
    return specs


def differences_figure(closed: d.Columns, opened: d.Columns) -> Any:
    fig = fg._figure(4.2 * len(DIFF_KPIS) + 0.6, 3.4)
    axes = fig.subplots(1, len(DIFF_KPIS))
    order_c = np.argsort(closed["scenario"])
    order_o = np.argsort(opened["scenario"])
    for ax, k in zip(np.atleast_1d(axes), DIFF_KPIS):
        a, b = closed[k][order_c], opened[k][order_o]
        m = min(len(a), len(b))
        diff = (a[:m] - b[:m])[~(np.isnan(a[:m]) | np.isnan(b[:m]))]
        label, unit = kpi_label(k)
        if len(diff):
            ax.hist(diff, bins=min(30, max(5, int(math.sqrt(len(diff))))), color=fg.STOCK_COLOUR,
                    alpha=0.8)
            ax.axvline(0.0, color="black", linewidth=1.2)
            ax.axvline(float(diff.mean()), color=fg.FLOOR_COLOUR, linestyle="--", linewidth=1.2)
        ax.set_title(f"{label}: closed − open", fontsize=9.5)
        ax.set_xlabel(unit or "difference")
        ax.set_ylabel("scenarios")
        fg._human_axis(ax.xaxis)
    return fig


def side_by_side_fan(open_fan: d.Columns, fan: d.Columns, stock: Any, *, top: int, horizon: int,
                     replan_every: Any = None) -> Any:
    pairs = d.group_pairs(open_fan["node"], open_fan["commodity"])
    T = horizon or (int(open_fan["day"].max()) + 1 if len(open_fan["day"]) else 0)
    lookup = {(n, k): i for i, (n, k) in enumerate(zip(pairs.node, pairs.commodity))}

    def series(c: d.Columns) -> tuple[np.ndarray, ...]:
        out = tuple(np.full((len(pairs), T), np.nan) for _ in range(3))
        idx = np.fromiter((lookup.get((n, k), -1) for n, k in zip(c["node"], c["commodity"])),
                          np.int64, len(c["node"]))
        ok = (idx >= 0) & (c["day"] >= 0) & (c["day"] < T)
        for arr, q in zip(out, ("p5", "p50", "p95")):
            arr[idx[ok], c["day"][ok]] = c[q][ok]
        return out

    o5, o50, o95 = series(open_fan)
    c5, c50, c95 = series(fan)
    floor = np.zeros((len(pairs), T))
    if stock is not None:
        s = d.columns(stock, d.STOCK_SPEC, table="stock")
        idx = np.fromiter((lookup.get((n, k), -1) for n, k in zip(s["node"], s["commodity"])),
                          np.int64, len(s["node"]))
        ok = (idx >= 0) & (s["day"] >= 0) & (s["day"] < T)
        floor[idx[ok], s["day"][ok]] = s["floor"][ok]
    gap_o = np.nansum(np.maximum(floor - o5, 0), axis=1)
    gap_c = np.nansum(np.maximum(floor - c5, 0), axis=1)
    chosen, _ = d.worst_first(gap_o, gap_c, top=top)
    rows = max(1, len(chosen))
    fig = fg._figure(10.0, 1.0 + 2.3 * rows)
    if not len(chosen):
        return fg._message(fig, "The simulation has no fan rows.")
    axes = fig.subplots(rows, 2, squeeze=False, sharex=True)
    days = np.arange(T)
    marks = list(range(replan_every, T, replan_every)) if isinstance(replan_every, int) and \
        replan_every > 0 else []
    for r, i in enumerate(chosen):
        hi = np.nanmax([np.nanmax(o95[i], initial=0), np.nanmax(c95[i], initial=0),
                        floor[i].max(initial=0)])
        for col, (p5, p50, p95, gap, name) in enumerate(
                ((o5, o50, o95, gap_o, "open loop"), (c5, c50, c95, gap_c, "closed loop"))):
            ax = axes[r][col]
            ax.fill_between(days, p5[i], p95[i], color=fg.STOCK_COLOUR, alpha=0.25, linewidth=0)
            ax.plot(days, p50[i], color=fg.STOCK_COLOUR, linewidth=1.5)
            if floor[i].any():
                ax.plot(days, floor[i], color=fg.FLOOR_COLOUR, linestyle="--", linewidth=1.2,
                        drawstyle="steps-mid")
            for m in marks:
                ax.axvline(m, color="#bbbbbb", linewidth=0.6, zorder=0)
            ax.set_ylim(0, hi * 1.05 if hi > 0 else 1.0)
            sub = (f"p5 below floor: {fg.human(gap[i])} unit-days" if gap[i] > 0
                   else "p5 never below floor")
            ax.set_title(f"{name} — {pairs.label(i)}\n{sub}", fontsize=9.5)
            ax.set_ylabel("stock (units)")
            fg._human_axis(ax.yaxis)
    for ax in axes[-1]:
        ax.set_xlabel("day")
    return fig
