"""The report of a reliability plan (docs/RELIABILITY.md): per protected pair, the planning
floor above the floor, the fan of stock under the certification scenarios, and the
certificate.

What the plan directory holds for it: ``stock`` (``planning_floor`` beside ``floor``),
``reliability`` (the certificate per target event), ``reliability_fan`` (stock percentiles
under the last certification scenarios) and summary.json ``reliability`` /
``reliability_run``. The verdict table and the frontier figure stay with the rest of the
page (html.reliability_section, figures.frontier_figure); this module adds the per-pair
view, the certification fan and the limits of unreachable pairs. build.py calls
``load``, ``figure_specs`` and ``section_html``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import outputs
from . import data as d
from . import html as h

FAN_SPEC = d.spec(outputs.RELIABILITY_FAN, ("node", "commodity", "day", "p5", "p50", "p95"))
MAX_ROWS = 40


def load(plan: Any) -> d.Columns | None:
    """The certification fan of a plan directory (None when it has none)."""
    if not isinstance(plan, (str, Path)) or not Path(plan).is_dir():
        return None
    t = outputs.read_output_table(plan, "reliability_fan")
    return None if t is None else d.columns(t, FAN_SPEC, table="reliability_fan")


def pair_rows(stock: d.Columns | None, rel: d.Columns | None, fan: d.Columns | None,
              horizon: int) -> list[dict[str, Any]]:
    """One dict per readiness row of the certificate: the planning floor above the floor
    (largest, days raised, first and last such day), the fan's lowest 5th percentile
    against the floor, and the certificate (breaches, M, upper bound, certified)."""
    if rel is None or not len(rel["kind"]):
        return []
    T = horizon
    ready = np.flatnonzero(rel["kind"] == "readiness")
    keys = [(rel["node"][i], rel["commodity"][i]) for i in ready]
    floor = planning = p5 = None
    pos = {k: j for j, k in enumerate(keys)}
    if stock is not None and T > 0:
        floor = np.full((len(keys), T), np.nan)
        planning = np.full((len(keys), T), np.nan)
        j = np.fromiter((pos.get((n, c), -1) for n, c in zip(stock["node"], stock["commodity"])),
                        np.int64, len(stock["node"]))
        ok = (j >= 0) & (stock["day"] >= 0) & (stock["day"] < T)
        floor[j[ok], stock["day"][ok]] = stock["floor"][ok]
        planning[j[ok], stock["day"][ok]] = stock["planning_floor"][ok]
    if fan is not None and T > 0:
        p5 = np.full((len(keys), T), np.nan)
        j = np.fromiter((pos.get((n, c), -1) for n, c in zip(fan["node"], fan["commodity"])),
                        np.int64, len(fan["node"]))
        ok = (j >= 0) & (fan["day"] >= 0) & (fan["day"] < T)
        p5[j[ok], fan["day"][ok]] = fan["p5"][ok]
    out = []
    for k, i in enumerate(ready):
        row: dict[str, Any] = {
            "node": rel["node"][i], "commodity": rel["commodity"][i],
            "certify_breaches": rel["certify_breaches"][i],
            "certify_scenarios": rel["certify_scenarios"][i],
            "upper_bound": rel["upper_bound"][i], "allowed": 1.0 - rel["target"][i],
            "certified": bool(rel["certified"][i]), "max_buffer": rel["max_buffer"][i],
            "buffer_days": None, "first_day": None, "last_day": None, "floor_at_max": None,
            "lowest_p5_gap": None, "lowest_p5_day": None}
        if floor is not None:
            buf = np.nan_to_num(planning[k] - floor[k])
            raised = np.flatnonzero(buf > 1e-9 * np.maximum(1.0, np.abs(np.nan_to_num(floor[k]))))
            row["buffer_days"] = len(raised)
            if len(raised):
                t = int(raised[np.argmax(buf[raised])])
                row.update(first_day=int(raised[0]), last_day=int(raised[-1]),
                           max_buffer=float(buf[t]), floor_at_max=float(floor[k, t]))
        if p5 is not None and floor is not None and np.isfinite(p5[k]).any():
            gap = p5[k] - np.nan_to_num(floor[k])
            has = np.isfinite(gap) & (np.nan_to_num(floor[k]) > 0)
            if has.any():
                t = int(np.flatnonzero(has)[np.argmin(gap[has])])
                row.update(lowest_p5_gap=float(gap[t]), lowest_p5_day=t)
        out.append(row)
    # the pairs the plan bought most for first, then the riskiest
    out.sort(key=lambda r: (-np.nan_to_num(r["max_buffer"]), -np.nan_to_num(r["upper_bound"]),
                            str(r["node"]), str(r["commodity"])))
    return out


def _days(r: dict[str, Any]) -> Any:
    if not r["buffer_days"]:
        return "—"
    return f"{r['buffer_days']} (days {r['first_day']}–{r['last_day']})"


def _share(r: dict[str, Any]) -> Any:
    f, b = r["floor_at_max"], r["max_buffer"]
    if f is None or not np.isfinite(f) or f <= 0 or not np.isfinite(b):
        return None
    return h.Markup(h.number(b / f, "%"))


def _fan_note(run: Any) -> str:
    fan = run.get("fan") if isinstance(run, dict) else None
    if not isinstance(fan, dict) or not isinstance(fan.get("first"), int):
        return ""
    a, n = fan["first"], fan.get("count") or 0
    return (f" The fan below is the plan's stock across scenarios {h.escape(a)}–"
            f"{h.escape(a + n - 1)} of those.")


def section_html(rep: Any) -> str:
    """What the reliability section adds to the verdict: where the scenarios came from, the
    per-pair table, and the pairs no plan could bring to the target."""
    pl = rep.plan
    rel = pl.summary.get("reliability")
    if not isinstance(rel, dict) and pl.reliability is None:
        return ""
    parts = []
    if isinstance(rel, dict):
        seeds = rel.get("seeds") if isinstance(rel.get("seeds"), dict) else {}
        cert = seeds.get("certify") or []
        tr = seeds.get("train") or {}
        if cert and isinstance(cert[-1], dict) and tr:
            last = cert[-1]
            a, n = last.get("first"), last.get("count")
            parts.append(
                f'<p class="note">Trained on scenarios {h.escape(tr.get("first"))}–'
                f'{h.escape((tr.get("first") or 0) + (tr.get("count") or 0) - 1)} and certified on '
                f"scenarios {h.escape(a)}–{h.escape((a or 0) + (n or 0) - 1)} of seed "
                f"{h.escape(last.get('seed'))} ({h.escape(len(cert))} certification attempt"
                f"{'s' if len(cert) != 1 else ''}, each on scenarios no earlier one used)."
                + _fan_note(pl.summary.get("reliability_run")) + "</p>")
    rows = pair_rows(pl.stock, pl.reliability, getattr(rep, "reliability_fan", None), rep.horizon)
    if rows:
        def badge(ok: bool) -> h.Markup:
            return h.Markup('<span class="status status-optimal">yes</span>' if ok
                            else '<span class="status status-error">no</span>')

        cells = [(f"{r['node']} · {r['commodity']}", r["max_buffer"], _share(r), _days(r),
                  r["lowest_p5_gap"], r["lowest_p5_day"],
                  f"{h.number(r['certify_breaches'])} of {h.number(r['certify_scenarios'])}",
                  r["upper_bound"], r["allowed"], badge(r["certified"]))
                 for r in rows[:MAX_ROWS]]
        more = len(rows) - len(cells)
        parts.append(h.table(
            ["protected pair", "planning floor above floor, most (units)", "as share of the floor",
             "days raised", "lowest 5th percentile − floor (units)", "on day",
             "breaches in certification", "upper bound U", "allowed (1 − R)", "certified"],
            cells, caption="Per protected pair: the buffer bought, the stock under the "
                           "certification scenarios, and the certificate",
            numeric=[False, True, True, False, True, True, False, True, True, False],
            note=(f"{more} more protected pairs (smaller buffers) are in reliability.arrow."
                  if more > 0 else None)))
    limits = (pl.summary.get("reliability_run") or {}).get("limits") or []
    if limits:
        parts.append(h.table(
            ["pair", "best reliability reached in training", "what limits it"],
            [(f"{x.get('node')} · {x.get('commodity')}", x.get("best_reliability"),
              str(x.get("limit", ""))) for x in limits[:MAX_ROWS]],
            caption="Pairs no plan brings to the target", numeric=[False, True, False],
            wrap=[False, False, True]))
    return "".join(parts)


def figure_specs(rep: Any) -> list[Any]:
    """The certification fan as a figure of the reliability section."""
    fan = getattr(rep, "reliability_fan", None)
    if fan is None or not len(fan["day"]) or rep.plan.stock is None:
        return []
    from . import figures as fg
    from .build import FigureSpec

    pl, T, top = rep.plan, rep.horizon, rep.top
    return [FigureSpec(
        "reliability_fan.png", "reliability",
        "Fan chart of end-of-day stock of the protected pairs across the certification scenarios",
        "The plan's stock across the scenarios its certificate was judged on (none of which it was "
        "built on). One panel per protected pair, worst first by how far the 5th percentile falls "
        "below the floor. Band: 5th to 95th percentile; solid: median; dotted: the plan's stock for "
        "expected demand; dash-dot orange: the planning floor the plan was made to hold; dashed red: "
        "the readiness floor.",
        lambda: fg.fan_figure(fan, pl.stock, top=top, horizon=T))]
